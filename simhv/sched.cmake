# The simulated cpus (sched.h): a pure-computation static library that xend-simhv links and
# the unit tests in tests/unit/simhv_sched drive directly. Included by simhv/CMakeLists.txt
# (and by the tests when simhv is not part of the build); safe to include twice.
if(NOT TARGET simhv_sched)
  add_library(simhv_sched STATIC
    ${CMAKE_CURRENT_LIST_DIR}/sched.c
    ${CMAKE_CURRENT_LIST_DIR}/sched_rrobin.c
    ${CMAKE_CURRENT_LIST_DIR}/sched_bvt.c
    ${CMAKE_CURRENT_LIST_DIR}/sched_fbvt.c
    ${CMAKE_CURRENT_LIST_DIR}/sched_atropos.c)
  target_include_directories(simhv_sched PUBLIC ${CMAKE_CURRENT_LIST_DIR})
endif()
