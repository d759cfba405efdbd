#pragma once

#include "core/engine/EngineTypes.h"
#include "core/gpu/VramTypes.h"

#include <QJsonObject>
#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;

namespace tp::ui {

class VramGraph;

// The VRAM graph with its time window, the memory state in words, the VRAM budget and placement
// plan of the last generation (a line in words, the budget as a line on the graph), and the two
// buttons that free memory now. The panel only asks (signals); the main window wires them to the
// engine.
class VramPanel final : public QWidget {
    Q_OBJECT
public:
    // Where the model's weights are (memory events and Engine::residencyChanged tell).
    enum class Residence { None, Gpu, Ram, Cpu };
    // Why there is no plan to show: none came yet; the last generation ran on the CPU; its budget
    // was "all"; or none was made for it (no reading of the free memory, a model without a
    // profile: the log says).
    enum class NoPlan { Yet, Cpu, BudgetAll, NotMade };

    explicit VramPanel(QWidget* parent = nullptr);

    VramGraph* graph() const { return m_graph; }
    QString stateText() const;
    QString detailText() const;
    Residence residence() const { return m_residence; }
    bool freeEnabled() const;
    bool unloadEnabled() const;
    // "Budget 12.0 GiB — T5: on demand · transformer: 24 of 38 blocks on the GPU, 14 streamed · VAE: GPU",
    // with the plan's problem on a second line when it does not fit; a "No plan …" sentence
    // without one; empty without a GPU.
    QString planText() const;
    QString planToolTip() const;
    bool hasPlan() const { return !m_planJson.isEmpty(); }
    NoPlan noPlanReason() const { return m_noPlan; } // without a plan
    bool planWarning() const; // a plan that does not fit: the line is in the warning colour
    static QColor warningColor();

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
    // Engine::planned: gpu::Plan::toJson() ("description", "budgetBytes", "predictedPeakBytes",
    // "headroomBytes", "fits", "problem", "level", "streamedBytesPerStep", …) plus
    // "budgetExplanation". The graph draws the budget.
    void setPlan(const QJsonObject& plan);
    // A generation started without a plan: the line says why and the budget line goes.
    void clearPlan(tp::ui::VramPanel::NoPlan why);

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
    QLabel* m_planLine = nullptr;
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
    bool m_partly = false; // Residency::Mixed: a plan keeps part of the weights in RAM
    QString m_model;
    int m_deviceIndex = 0;
    QJsonObject m_planJson; // empty: none (m_noPlan says why)
    NoPlan m_noPlan = NoPlan::Yet;
};

} // namespace tp::ui
