# LibTorch for sdk/runtime, sdk/models and the nodes that run models. Only these targets pay for
# its headers. ATen's headers are precompiled once and every LibTorch target reuses that header:
# one precompiled header of ATen with debug information is about 360 MB, so one per target (28 of
# them) filled a CI disk with 10 GB and cost a 2-core machine a minute of compiling each.
find_package(Torch REQUIRED)
message(STATUS "LibTorch ${Torch_VERSION} (${TORCH_INSTALL_PREFIX})")

if(PRESENCE_BUILD_CUDA)
  # sdk/runtime calls c10_cuda directly (the caching allocator's statistics); LibTorch's own
  # link line does not always name it.
  find_library(PRESENCE_C10_CUDA_LIBRARY c10_cuda PATHS "${TORCH_INSTALL_PREFIX}/lib" NO_DEFAULT_PATH)
  if(NOT PRESENCE_C10_CUDA_LIBRARY)
    message(FATAL_ERROR "PRESENCE_BUILD_CUDA=ON needs a CUDA build of LibTorch; ${TORCH_INSTALL_PREFIX} is CPU-only")
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)  # CUDA::cudart for the DiT's kernels
endif()

# GCC rejects a precompiled header made with other -fpic/-fpie settings than the file using it
# (-Winvalid-pch says so and it falls back to parsing the headers), so there are two holders:
# position-independent code for the libraries (-fPIC) and for the executables (-fPIE).
function(presence_add_torch_pch_holder name)
  add_library(${name} OBJECT ${PROJECT_SOURCE_DIR}/cmake/torch_pch_anchor.cpp)
  target_link_libraries(${name} PRIVATE torch)
  target_include_directories(${name} SYSTEM PRIVATE ${TORCH_INCLUDE_DIRS})
  target_compile_definitions(${name} PRIVATE $<$<BOOL:${PRESENCE_BUILD_CUDA}>:PRESENCE_WITH_CUDA=1>)
  target_precompile_headers(${name} PRIVATE <ATen/ATen.h> <c10/util/Optional.h>)
endfunction()
presence_add_torch_pch_holder(presence_torch_pch_library)
set_target_properties(presence_torch_pch_library PROPERTIES POSITION_INDEPENDENT_CODE ON)
presence_add_torch_pch_holder(presence_torch_pch_executable)
set_target_properties(presence_torch_pch_executable PROPERTIES POSITION_INDEPENDENT_CODE OFF)
target_compile_options(presence_torch_pch_executable PRIVATE -fPIE)

# presence_use_torch(<target> [PUBLIC|PRIVATE]): link LibTorch and reuse the precompiled ATen.
function(presence_use_torch target)
  set(scope PRIVATE)
  if(ARGC GREATER 1)
    set(scope ${ARGV1})
  endif()
  target_link_libraries(${target} ${scope} torch)
  # LibTorch's own headers are not warning-clean under -Wpedantic.
  target_include_directories(${target} SYSTEM ${scope} ${TORCH_INCLUDE_DIRS})
  target_compile_definitions(${target} PRIVATE $<$<BOOL:${PRESENCE_BUILD_CUDA}>:PRESENCE_WITH_CUDA=1>)
  get_target_property(type ${target} TYPE)
  get_target_property(pic ${target} POSITION_INDEPENDENT_CODE)
  if(pic AND type STREQUAL "EXECUTABLE")
    target_precompile_headers(${target} REUSE_FROM presence_torch_pch_executable)
  elseif(pic)
    target_precompile_headers(${target} REUSE_FROM presence_torch_pch_library)
  else()
    target_precompile_headers(${target} PRIVATE <ATen/ATen.h> <c10/util/Optional.h>)
  endif()
endfunction()
