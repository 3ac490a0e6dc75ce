# cmake -DSRC=plugins/console/xterm -DWORK=DIR -DDEST=DIR -P fetch.cmake
# `npm ci` of the pinned @xterm/xterm in WORK, then its browser bundle, stylesheet and
# licence into DEST. A failure (no npm, no network) is a warning, never a failed build:
# the console page then says what is missing. The stamp is written either way, so an
# offline build does not retry on every make (touch package-lock.json to retry).
file(MAKE_DIRECTORY ${WORK} ${DEST})
file(COPY ${SRC}/package.json ${SRC}/package-lock.json DESTINATION ${WORK})
find_program(NPM npm)
set(ok FALSE)
if(NPM)
  execute_process(COMMAND ${NPM} ci --no-audit --no-fund --ignore-scripts
    WORKING_DIRECTORY ${WORK} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err TIMEOUT 300)
  set(pkg ${WORK}/node_modules/@xterm/xterm)
  if(rc EQUAL 0 AND EXISTS ${pkg}/lib/xterm.js)
    file(COPY ${pkg}/lib/xterm.js ${pkg}/css/xterm.css ${pkg}/LICENSE DESTINATION ${DEST})
    set(ok TRUE)
  endif()
endif()
if(NOT ok)
  message(WARNING "xterm.js not fetched (npm: ${NPM} ${rc} ${err}); the console page will "
    "say that it is missing (docs/console-web.md)")
endif()
file(WRITE ${WORK}/fetched.stamp "")
