#pragma once

#include <QObject>

#include <functional>
#include <vector>

// tst_gpu runs several test classes, one a file; each registers itself here.
namespace tp::test {

std::vector<std::function<QObject*()>>& gpuTestClasses();

struct GpuTestRegistrar {
    explicit GpuTestRegistrar(std::function<QObject*()> make) { gpuTestClasses().push_back(std::move(make)); }
};

} // namespace tp::test

#define TP_GPU_TEST_CLASS(Class)                                                                             \
    static const ::tp::test::GpuTestRegistrar tp_gpu_test_registrar_##Class(                                 \
        [] { return static_cast<QObject*>(new Class); })
