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
# header so that each TU does not pay ~20 s for them. Use it through tp_torch_pch().
set(TWISTEDPIC_TORCH_PCH
    <ATen/ATen.h>
    <torch/nn/module.h>
    <torch/nn/modules/conv.h>
    <torch/nn/modules/linear.h>
    <torch/nn/modules/normalization.h>
    <torch/nn/modules/embedding.h>
    <torch/nn/modules/container/modulelist.h>
    <c10/core/InferenceMode.h>)

# Whether FILE includes libtorch, directly or through our own headers (cached per file).
function(_tp_includes_torch file out)
    get_property(known GLOBAL PROPERTY "tp_torch_inc:${file}" SET)
    if(known)
        get_property(result GLOBAL PROPERTY "tp_torch_inc:${file}")
        set(${out} ${result} PARENT_SCOPE)
        return()
    endif()
    set_property(GLOBAL PROPERTY "tp_torch_inc:${file}" FALSE) # cuts include cycles
    set(result FALSE)
    file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include")
    get_filename_component(dir "${file}" DIRECTORY)
    foreach(line IN LISTS lines)
        if(line MATCHES "<(ATen|torch|c10)/")
            set(result TRUE)
            break()
        endif()
        if(line MATCHES "\"([^\"]+)\"")
            set(header "${CMAKE_MATCH_1}")
            set(path "")
            if(EXISTS "${PROJECT_SOURCE_DIR}/${header}")
                set(path "${PROJECT_SOURCE_DIR}/${header}")
            elseif(EXISTS "${dir}/${header}")
                set(path "${dir}/${header}")
            endif()
            if(path)
                _tp_includes_torch("${path}" sub)
                if(sub)
                    set(result TRUE)
                    break()
                endif()
            endif()
        endif()
    endforeach()
    set_property(GLOBAL PROPERTY "tp_torch_inc:${file}" ${result})
    set(${out} ${result} PARENT_SCOPE)
endfunction()

# Gives TARGET libtorch's precompiled header (twistedpic_core builds it, the others reuse it),
# but only to the sources that include libtorch: measured on 2 cores, a TU without torch takes
# 2.5 s alone and 25 s with the 600 MB header forced into it. Call after all sources are added.
function(tp_torch_pch target)
    if(target STREQUAL "twistedpic_core")
        target_precompile_headers(${target} PRIVATE ${TWISTEDPIC_TORCH_PCH})
    else()
        target_precompile_headers(${target} REUSE_FROM twistedpic_core)
    endif()
    get_target_property(sources ${target} SOURCES)
    get_target_property(source_dir ${target} SOURCE_DIR)
    foreach(src IN LISTS sources)
        if(NOT src MATCHES "\\.(cpp|cc|cxx)$")
            continue()
        endif()
        if(IS_ABSOLUTE "${src}")
            set(path "${src}")
        else()
            set(path "${source_dir}/${src}")
        endif()
        if(NOT EXISTS "${path}")
            continue()
        endif()
        _tp_includes_torch("${path}" uses_torch)
        if(NOT uses_torch)
            set_source_files_properties("${path}" TARGET_DIRECTORY ${target}
                PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
        endif()
    endforeach()
endfunction()
