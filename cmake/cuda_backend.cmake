# Decides whether the CUDA backend plugin is built (TENBIN_CUDA: AUTO, ON, OFF) and adds it.
# AUTO builds it when a CUDA compiler is found. Architectures: CMAKE_CUDA_ARCHITECTURES
# (default 80;86;89;90; CI compiles one to keep time down).
set(TENBIN_CUDA_ENABLED OFF)
if(NOT TENBIN_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER)
    # nvcc is often installed outside PATH.
    find_program(TENBIN_NVCC nvcc HINTS /usr/local/cuda/bin)
    if(TENBIN_NVCC)
      set(CMAKE_CUDA_COMPILER ${TENBIN_NVCC})
    endif()
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(TENBIN_CUDA_ENABLED ON)
  elseif(TENBIN_CUDA STREQUAL "ON")
    message(FATAL_ERROR "TENBIN_CUDA=ON but no CUDA compiler (nvcc) was found")
  else()
    message(STATUS "CUDA backend not built: no CUDA compiler (nvcc) found")
  endif()
endif()

if(TENBIN_CUDA_ENABLED)
  if(NOT CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 80 86 89 90)
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  # The plugin links these static layers into a shared object.
  set_target_properties(tenbin_util tenbin_tensor PROPERTIES POSITION_INDEPENDENT_CODE ON)
  add_subdirectory(${CMAKE_SOURCE_DIR}/src/cuda ${CMAKE_BINARY_DIR}/cuda)
  message(STATUS "CUDA backend: building libtenbin_cuda.so for sm ${CMAKE_CUDA_ARCHITECTURES}")
endif()
