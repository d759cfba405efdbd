#pragma once

#include "core/engine/EngineTypes.h"
#include "core/gpu/VramTypes.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;

namespace tp::ui {

class VramGraph;

// The VRAM graph with its time window, the memory state in words, and the two buttons that
// free memory now. The panel only asks (signals); the main window wires them to the engine.
class VramPanel final : public QWidget {
    Q_OBJECT
public:
    // Where the model's weights are (memory events and Engine::residencyChanged tell).
    enum class Residence { None, Gpu, Ram, Cpu };

    explicit VramPanel(QWidget* parent = nullptr);

    VramGraph* graph() const { return m_graph; }
    QString stateText() const;
    QString detailText() const;
    Residence residence() const { return m_residence; }
    bool freeEnabled() const;
    bool unloadEnabled() const;

public Q_SLOTS:
    void addSample(const tp::gpu::VramSample& sample);
    void setHistory(const QVector<tp::gpu::VramSample>& samples);
    void addEvent(const tp::engine::MemoryEvent& event);
    void setEngineState(tp::engine::State state, const QString& detail = {});
    void setResidence(tp::ui::VramPanel::Residence residence, qint64 weightBytes = -1);
    // Engine::residencyChanged: an empty model is none loaded.
    void setResidency(const QString& model, tp::gpu::Residency where, qint64 weightBytes);
    void setWindowSeconds(int seconds);
    // The device the engine uses (DeviceSample::index); the first one when absent.
    void setDeviceIndex(int index);

Q_SIGNALS:
    void freeMemoryRequested();
    void unloadRequested();
    void windowSecondsChanged(int seconds);

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();
    void refresh();
    void takeFigures(const tp::gpu::VramSample& sample);

    VramGraph* m_graph = nullptr;
    QLabel* m_state = nullptr;
    QLabel* m_detail = nullptr;
    QLabel* m_windowLabel = nullptr;
    QComboBox* m_window = nullptr;
    QPushButton* m_free = nullptr;
    QPushButton* m_unload = nullptr;

    bool m_haveSample = false;
    bool m_gpu = false;
    QString m_deviceName;
    qint64 m_used = -1;
    qint64 m_total = -1;
    qint64 m_allocated = -1;
    qint64 m_reserved = -1;
    engine::State m_engineState = engine::State::Idle;
    QString m_engineDetail;
    Residence m_residence = Residence::None;
    qint64 m_weightBytes = -1;
    QString m_model;
    int m_deviceIndex = 0;
};

} // namespace tp::ui
