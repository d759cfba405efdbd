# Finds libtorch (Debian's CPU build 1.13, or an official CUDA build 2.x named by
# CMAKE_PREFIX_PATH) and exposes it as the interface target `twistedpic_torch`.
#
# libtorch's headers are marked SYSTEM so that our -Wall -Wextra stays about our code.

find_package(Torch REQUIRED)

add_library(twistedpic_torch INTERFACE)
target_include_directories(twistedpic_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
target_link_libraries(twistedpic_torch INTERFACE ${TORCH_LIBRARIES})
# TORCH_CXX_FLAGS carries the _GLIBCXX_USE_CXX11_ABI choice that must match the library.
separate_arguments(tp_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
target_compile_options(twistedpic_torch INTERFACE ${tp_torch_flags})

set(TWISTEDPIC_WITH_CUDA OFF)
if(TORCH_CUDA_LIBRARIES OR TARGET torch_cuda OR TARGET c10_cuda)
    set(TWISTEDPIC_WITH_CUDA ON)
endif()
if(TWISTEDPIC_WITH_CUDA)
    target_compile_definitions(twistedpic_torch INTERFACE TWISTEDPIC_WITH_CUDA=1)
    # cudaMemGetInfo and friends for the memory manager and the monitor.
    find_package(CUDAToolkit QUIET)
    if(CUDAToolkit_FOUND)
        target_link_libraries(twistedpic_torch INTERFACE CUDA::cudart)
    endif()
else()
    target_compile_definitions(twistedpic_torch INTERFACE TWISTEDPIC_WITH_CUDA=0)
endif()
message(STATUS "TwistedPic: libtorch ${Torch_VERSION} (CUDA: ${TWISTEDPIC_WITH_CUDA})")

# The narrow set of torch headers that most engine sources use; shared as a precompiled
# header so that each TU does not pay ~20 s for them.
set(TWISTEDPIC_TORCH_PCH
    <ATen/ATen.h>
    <torch/nn/module.h>
    <torch/nn/modules/conv.h>
    <torch/nn/modules/linear.h>
    <torch/nn/modules/normalization.h>
    <torch/nn/modules/embedding.h>
    <torch/nn/modules/container/modulelist.h>
    <c10/core/InferenceMode.h>)
