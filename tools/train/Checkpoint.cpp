#include "tools/train/Checkpoint.h"

#include <QFile>

namespace tp::train {

void CheckpointWriter::tensor(const std::string& key, const at::Tensor& value) {
    m_archive.write(key, value.detach());
}

void CheckpointWriter::integer(const std::string& key, int64_t value) {
    m_archive.write(key, at::tensor({value}, at::TensorOptions().dtype(at::kLong)));
}

void CheckpointWriter::number(const std::string& key, double value) {
    m_archive.write(key, at::tensor({value}, at::TensorOptions().dtype(at::kDouble)));
}

void CheckpointWriter::text(const std::string& key, const std::string& value) {
    at::Tensor bytes = at::empty({int64_t(value.size())}, at::TensorOptions().dtype(at::kByte));
    std::copy(value.begin(), value.end(), reinterpret_cast<char*>(bytes.data_ptr<uint8_t>()));
    m_archive.write(key, bytes);
}

void CheckpointWriter::optimizer(const std::string& key, const torch::optim::Optimizer& optimizer) {
    torch::serialize::OutputArchive sub;
    optimizer.save(sub);
    m_archive.write(key, sub);
}

Status CheckpointWriter::save(const QString& path) {
    const QString tmp = path + QStringLiteral(".tmp");
    try {
        m_archive.save_to(tmp.toStdString());
    } catch (const std::exception& e) {
        return Status::fail(
            QStringLiteral("Could not write the checkpoint %1: %2").arg(tmp, QString::fromUtf8(e.what())));
    }
    QFile::remove(path);
    if (!QFile::rename(tmp, path))
        return Status::fail(QStringLiteral("Could not move %1 to %2.").arg(tmp, path));
    return Status::ok();
}

Result<CheckpointReader> CheckpointReader::open(const QString& path, at::Device device) {
    CheckpointReader r;
    r.m_archive = std::make_shared<torch::serialize::InputArchive>();
    try {
        r.m_archive->load_from(path.toStdString(), device);
    } catch (const std::exception& e) {
        return Result<CheckpointReader>::fail(
            QStringLiteral("Could not read the checkpoint %1: %2. Delete it to start "
                           "that stage afresh.")
                .arg(path, QString::fromUtf8(e.what())));
    }
    return Result<CheckpointReader>::ok(std::move(r));
}

at::Tensor CheckpointReader::tensor(const std::string& key) {
    at::Tensor t;
    try {
        m_archive->read(key, t);
    } catch (const c10::Error&) {
        return at::Tensor();
    }
    return t;
}

std::optional<int64_t> CheckpointReader::integer(const std::string& key) {
    const at::Tensor t = tensor(key);
    if (!t.defined() || t.numel() != 1)
        return std::nullopt;
    return t.to(at::kCPU).item<int64_t>();
}

std::optional<double> CheckpointReader::number(const std::string& key) {
    const at::Tensor t = tensor(key);
    if (!t.defined() || t.numel() != 1)
        return std::nullopt;
    return t.to(at::kCPU).item<double>();
}

std::optional<std::string> CheckpointReader::text(const std::string& key) {
    const at::Tensor t = tensor(key);
    if (!t.defined())
        return std::nullopt;
    const at::Tensor bytes = t.to(at::kCPU).contiguous();
    const char* p = reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>());
    return std::string(p, p + bytes.numel());
}

bool CheckpointReader::optimizer(const std::string& key, torch::optim::Optimizer& optimizer) {
    try {
        torch::serialize::InputArchive sub;
        if (!m_archive->try_read(key, sub))
            return false;
        optimizer.load(sub);
    } catch (const c10::Error&) {
        return false;
    }
    return true;
}

bool CheckpointReader::copyInto(const std::string& key, at::Tensor target) {
    const at::Tensor t = tensor(key);
    if (!t.defined() || t.sizes() != target.sizes())
        return false;
    at::NoGradGuard noGrad;
    target.detach().copy_(t);
    return true;
}

} // namespace tp::train
