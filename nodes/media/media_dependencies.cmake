# The media libraries: OpenImageIO, OpenEXR and FFmpeg (Debian 12 packages). Included by
# nodes/media and tests/media (imported targets are visible only in the folder that finds them).
find_package(OpenImageIO CONFIG REQUIRED)
# Debian's OpenImageIO 2.4 config lists /usr/include/opencv4 even when OpenCV's headers are not
# installed, which CMake refuses; keep only the include folders that exist.
foreach(_oiio_target OpenImageIO::OpenImageIO OpenImageIO::OpenImageIO_Util)
  if(TARGET ${_oiio_target})
    get_target_property(_oiio_includes ${_oiio_target} INTERFACE_INCLUDE_DIRECTORIES)
    set(_oiio_kept "")
    foreach(_dir IN LISTS _oiio_includes)
      if(EXISTS "${_dir}")
        list(APPEND _oiio_kept "${_dir}")
      endif()
    endforeach()
    set_target_properties(${_oiio_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_oiio_kept}")
  endif()
endforeach()
find_package(OpenEXR CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PRESENCE_FFMPEG REQUIRED IMPORTED_TARGET
  libavformat libavcodec libswresample libswscale libavutil)

