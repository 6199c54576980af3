# presence_add_sdk_library(<target> EXPORT_NAME <name> SOURCES <files>...)
#
# One SDK library as every sdk/ folder builds it: shared, aliased Presence::<name>, public headers
# under sdk/include, exported and installed with the SDK (find_package(Presence)). Link its
# dependencies (and presence_use_torch) afterwards.
function(presence_add_sdk_library target)
  cmake_parse_arguments(ARG "" "EXPORT_NAME" "SOURCES" ${ARGN})
  add_library(${target} SHARED ${ARG_SOURCES})
  add_library(Presence::${ARG_EXPORT_NAME} ALIAS ${target})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/sdk/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} PUBLIC cxx_std_20)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${ARG_EXPORT_NAME})
  install(TARGETS ${target} EXPORT PresenceTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endfunction()
