# presence_add_plugin(<target> SOURCES ...): a node plugin, a MODULE library that exports the
# single entry point `presence_plugin_entry` and nothing else (hidden visibility).
function(presence_add_plugin target)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${target} MODULE ${ARG_SOURCES})
  if(TARGET Presence::core)
    target_link_libraries(${target} PRIVATE Presence::core ${ARG_LIBRARIES})
  else()
    target_link_libraries(${target} PRIVATE presence_core ${ARG_LIBRARIES})
  endif()
  set_target_properties(${target} PROPERTIES PREFIX "" CXX_VISIBILITY_PRESET hidden
                                             VISIBILITY_INLINES_HIDDEN ON)
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  elseif(DEFINED PRESENCE_PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PRESENCE_PLUGIN_OUTPUT_DIRECTORY})
  endif()
endfunction()
