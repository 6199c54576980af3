# LibTorch for sdk/runtime, sdk/models and the nodes that run models. Only these targets pay for
# its headers; each gets a precompiled header of ATen so a 2-core machine compiles it once per
# target instead of once per file.
find_package(Torch REQUIRED)
message(STATUS "LibTorch ${Torch_VERSION} (${TORCH_INSTALL_PREFIX})")

if(PRESENCE_BUILD_CUDA)
  if(NOT TORCH_CUDA_LIBRARIES)
    message(FATAL_ERROR "PRESENCE_BUILD_CUDA=ON needs a CUDA build of LibTorch; ${TORCH_INSTALL_PREFIX} is CPU-only")
  endif()
  enable_language(CUDA)
endif()

# presence_use_torch(<target> [PUBLIC|PRIVATE]): link LibTorch and precompile ATen's headers.
function(presence_use_torch target)
  set(scope PRIVATE)
  if(ARGC GREATER 1)
    set(scope ${ARGV1})
  endif()
  target_link_libraries(${target} ${scope} torch)
  # LibTorch's own headers are not warning-clean under -Wpedantic.
  target_include_directories(${target} SYSTEM ${scope} ${TORCH_INCLUDE_DIRS})
  target_compile_definitions(${target} PRIVATE $<$<BOOL:${PRESENCE_BUILD_CUDA}>:PRESENCE_WITH_CUDA=1>)
  target_precompile_headers(${target} PRIVATE <ATen/ATen.h> <c10/util/Optional.h>)
endfunction()
