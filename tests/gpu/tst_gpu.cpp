// Runs every test class of the gpu area that needs no GPU (see GpuTests.h).
#include "tests/gpu/GpuTests.h"

#include <QCoreApplication>
#include <QtTest>

#include <memory>

namespace tp::test {
std::vector<std::function<QObject*()>>& gpuTestClasses() {
    static std::vector<std::function<QObject*()>> classes;
    return classes;
}
} // namespace tp::test

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    int failures = 0;
    for (const auto& make : tp::test::gpuTestClasses()) {
        std::unique_ptr<QObject> test(make());
        failures += QTest::qExec(test.get(), argc, argv);
    }
    return failures == 0 ? 0 : 1;
}
