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
class QCPColorScale;
class QCheckBox;
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
    QCheckBox* perBlockBox() const { return m_perBlock; }
    QCPColorScale* colorScale() const { return m_scale; }
    QCPTextElement* readTitle() const { return m_readTitle; }
    QCPTextElement* spectrumTitle() const { return m_specTitle; }
    /// The block labels drawn over the heatmap ("sentence", "subject key", ...).
    QStringList blockLabels() const;
    /// What hovering slot k shows: the facts that weigh most in it (and its read weight).
    QString slotToolTip(int slot) const;
    /// Hovering the heatmap cell (slot, dimension): its value, dimension and block, then the slot.
    QString cellToolTip(int slot, int dimension) const;
    /// Hovering bar `slot` of the write key.
    QString keyToolTip(int slot) const;
    /// Hovering singular value i (0-based).
    QString spectrumToolTip(int index) const;

public slots:
    void setState(const larimar::ui::EngineStatePtr& state);
    /// inScope false: the query that read them was out of scope (the answer did not use the memory).
    void setReadWeights(const QString& prompt, const QVector<double>& weights, bool inScope = true);
    void setWriteKey(qint64 factId, const QVector<double>& key);
    void clearWriteKey();

private:
    void hoverSlot(QCustomPlot* plot, QMouseEvent* event, bool slotsOnValueAxis);
    void drawHeatmap();
    /// The blocks of the current width (one "latent" block when the model names none).
    QVector<LatentBlockInfo> blocks() const;

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
    QCPColorScale* m_scale;
    QCheckBox* m_perBlock; ///< each block on its own colour scale
    QVector<double> m_readWeights;
    QVector<double> m_key;
    QVector<double> m_blockScale; ///< per block: 3 x the RMS of its values in M
    EngineStatePtr m_state;
    QHash<qint64, QString> m_factText;
    qint64 m_keyFact = 0;
};

} // namespace larimar::ui
