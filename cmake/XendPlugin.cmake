# xend_add_plugin(NAME SOURCES src... [LIBS lib...] [OPTIONS opt...])
#
# Builds a plugin the way the ABI requires: a module named NAME.so in lib/xend/plugins of
# the build tree, compiled with hidden visibility so that xend_plugin_desc is its only
# exported symbol, and linked with --no-undefined against its own libraries only, which
# proves it uses no core symbol.
function(xend_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS;OPTIONS" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY ${XEND_PLUGIN_OUTPUT_DIR})
  target_link_libraries(${name} PRIVATE xend_abi ${P_LIBS})
  if(P_OPTIONS)
    target_compile_options(${name} PRIVATE ${P_OPTIONS})
  endif()
  if(NOT XEND_SANITIZE)
    target_link_options(${name} PRIVATE -Wl,--no-undefined)
  endif()
  install(TARGETS ${name} LIBRARY DESTINATION ${XEND_PLUGIN_INSTALL_DIR})
endfunction()

# xend_add_test_plugin(NAME SOURCES src...): a plugin built only for the tests, into
# tests/plugins of the build tree, never installed.
function(xend_add_test_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/plugins)
  target_link_libraries(${name} PRIVATE xend_abi ${P_LIBS})
endfunction()
