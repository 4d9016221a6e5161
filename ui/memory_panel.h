#pragma once
/// The Memory tab: the memory matrix M (K x C) as a heatmap with a colour scale, the current
/// query's read weights over the K slots, the selected fact's write key and the singular-value
/// spectrum of M. Hovering a slot (heatmap row or bar) lists the facts that weigh most in it.
/// Everything redraws when the engine publishes a new state.
#include "ui/engine_types.h"

#include <QHash>
#include <QWidget>

class QCustomPlot;
class QCPBars;
class QCPColorMap;
class QCPGraph;
class QCPTextElement;
class QLabel;
class QMouseEvent;

namespace larimar::ui {

class MemoryPanel : public QWidget {
    Q_OBJECT
public:
    explicit MemoryPanel(QWidget* parent = nullptr);

    QCustomPlot* heatmapPlot() const { return m_heatPlot; }
    QCPColorMap* heatmap() const { return m_heat; }
    QCPBars* readBars() const { return m_readBars; }
    QCPBars* keyBars() const { return m_keyBars; }
    QCPGraph* spectrum() const { return m_spectrum; }
    /// What hovering slot k shows: the facts that weigh most in it.
    QString slotToolTip(int slot) const;

public slots:
    void setState(const larimar::ui::EngineStatePtr& state);
    void setReadWeights(const QString& prompt, const QVector<double>& weights);
    void setWriteKey(qint64 factId, const QVector<double>& key);
    void clearWriteKey();

private:
    void hoverSlot(QCustomPlot* plot, QMouseEvent* event, bool slotsOnValueAxis);

    QCustomPlot* m_heatPlot;
    QCPColorMap* m_heat;
    QCPTextElement* m_heatTitle;
    QCustomPlot* m_readPlot;
    QCPBars* m_readBars;
    QCPTextElement* m_readTitle;
    QCustomPlot* m_keyPlot;
    QCPBars* m_keyBars;
    QCPTextElement* m_keyTitle;
    QCustomPlot* m_specPlot;
    QCPGraph* m_spectrum;
    QCPTextElement* m_specTitle;
    EngineStatePtr m_state;
    QHash<qint64, QString> m_factText;
    qint64 m_keyFact = 0;
};

} // namespace larimar::ui
