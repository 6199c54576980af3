# Installs the SDK into a fresh prefix, builds samples/plugin against it with find_package, and
# runs the installed `presence` with that plugin. Arguments: BUILD_DIR SOURCE_DIR WORK_DIR.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run_checked)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(LAST_OUTPUT "${out}" PARENT_SCOPE)
endfunction()

run_checked(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
foreach(f lib/cmake/Presence/PresenceConfig.cmake include/presence/core/plugin.hpp
          include/presence/core/version.hpp bin/presence)
  if(NOT EXISTS ${WORK_DIR}/prefix/${f})
    message(FATAL_ERROR "the install lacks ${f}")
  endif()
endforeach()

set(launcher "")
find_program(CCACHE ccache)
if(CCACHE)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${CCACHE})
endif()
run_checked(${CMAKE_COMMAND} -S ${SOURCE_DIR}/samples/plugin -B ${WORK_DIR}/plugin-build -G Ninja
            -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix ${launcher})
run_checked(${CMAKE_COMMAND} --build ${WORK_DIR}/plugin-build)

# The installed command finds its built-in plugins next to the installed SDK...
run_checked(${CMAKE_COMMAND} -E env PRESENCE_PLUGIN_PATH= ${WORK_DIR}/prefix/bin/presence nodes)
if(NOT LAST_OUTPUT MATCHES "presence.float_math")
  message(FATAL_ERROR "the installed presence does not find its built-in plugins:\n${LAST_OUTPUT}")
endif()
# ...and the third-party plugin on PRESENCE_PLUGIN_PATH, and runs it in a graph.
file(WRITE ${WORK_DIR}/graph.json [=[
{"format": "presence-graph", "version": 1, "nodes": {
  "words": {"type": "presence.string_value", "params": {"value": "hello studio"}},
  "title": {"type": "example.text_case", "inputs": {"text": "words.value"}, "params": {"mode": "title"}}}}
]=])
run_checked(${CMAKE_COMMAND} -E env PRESENCE_PLUGIN_PATH=${WORK_DIR}/plugin-build
            ${WORK_DIR}/prefix/bin/presence run ${WORK_DIR}/graph.json --events json)
if(NOT LAST_OUTPUT MATCHES "\"event\":\"finished\",\"node\":\"title\"")
  message(FATAL_ERROR "the plugin's node did not run:\n${LAST_OUTPUT}")
endif()
run_checked(${CMAKE_COMMAND} -E env PRESENCE_PLUGIN_PATH=${WORK_DIR}/plugin-build
            ${WORK_DIR}/prefix/bin/presence describe example.text_case)
file(REMOVE_RECURSE ${WORK_DIR})
message(STATUS "installed SDK, built the sample plugin against it and ran it")
