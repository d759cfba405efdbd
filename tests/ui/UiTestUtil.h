#pragma once

// Helpers shared by the widget tests: scripted VRAM samples, pixel probes, screenshots.

#include "core/gpu/VramTypes.h"

#include <QDir>
#include <QImage>
#include <QWidget>

#include <cstdlib>

namespace tp::test {

constexpr qint64 MiB = 1024LL * 1024;
constexpr qint64 GiB = 1024LL * MiB;

inline gpu::VramSample gpuSample(qint64 t, qint64 total, qint64 used, qint64 reserved = -1,
                                 qint64 allocated = -1) {
    gpu::VramSample s;
    s.msecsSinceEpoch = t;
    s.gpuAvailable = true;
    gpu::DeviceSample d;
    d.index = 0;
    d.name = QStringLiteral("NVIDIA GeForce RTX 4090");
    d.totalBytes = total;
    d.usedBytes = used;
    d.freeBytes = total - used;
    d.source = QStringLiteral("nvml");
    s.devices = {d};
    if (reserved >= 0) {
        s.self.valid = true;
        s.self.reservedBytes = reserved;
        s.self.allocatedBytes = allocated;
        s.self.peakAllocatedBytes = allocated;
    }
    return s;
}

inline void addProcess(gpu::VramSample& s, qint64 pid, const QString& name, qint64 bytes, bool ollama,
                       bool self = false) {
    gpu::DeviceSample& d = s.devices.first();
    d.processesValid = true;
    gpu::GpuProcess p;
    p.pid = pid;
    p.name = name;
    p.usedBytes = bytes;
    p.isOllama = ollama;
    p.isSelf = self;
    d.processes.push_back(p);
}

inline bool near(QRgb a, const QColor& b, int tolerance = 40) {
    return std::abs(qRed(a) - b.red()) + std::abs(qGreen(a) - b.green()) + std::abs(qBlue(a) - b.blue()) <=
           tolerance;
}

// Rows of column x (within [top, bottom]) whose pixel is close to `color`.
inline QVector<int> rowsWithColor(const QImage& img, int x, int top, int bottom, const QColor& color,
                                  int tol = 40) {
    QVector<int> rows;
    for (int y = std::max(0, top); y <= std::min(img.height() - 1, bottom); ++y)
        if (near(img.pixel(x, y), color, tol))
            rows << y;
    return rows;
}

inline int countColor(const QImage& img, const QRect& area, const QColor& color, int tol = 40) {
    int n = 0;
    const QRect r = area.intersected(img.rect());
    for (int y = r.top(); y <= r.bottom(); ++y)
        for (int x = r.left(); x <= r.right(); ++x)
            n += near(img.pixel(x, y), color, tol) ? 1 : 0;
    return n;
}

inline QImage render(QWidget& w) {
    return w.grab().toImage().convertToFormat(QImage::Format_RGB32);
}

// Saves a widget's picture under <build>/screenshots/ for people to look at.
inline QString saveScreenshot(QWidget& w, const QString& name) {
    const QDir dir(QDir(QStringLiteral(TP_BINARY_DIR)).filePath(QStringLiteral("screenshots")));
    QDir().mkpath(dir.path());
    const QString path = dir.filePath(name + QStringLiteral(".png"));
    w.grab().save(path);
    return path;
}

} // namespace tp::test
