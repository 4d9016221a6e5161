#include "ui/memory_panel.h"

#include <QCheckBox>
#include <QGridLayout>
#include <QVBoxLayout>
#include <QToolTip>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace larimar::ui {

namespace {

QCPTextElement* addTitle(QCustomPlot* plot, const QString& text) {
    plot->plotLayout()->insertRow(0);
    QFont f = plot->font();
    f.setBold(true);
    auto* title = new QCPTextElement(plot, text, f);
    plot->plotLayout()->addElement(0, 0, title);
    return title;
}

QCustomPlot* makePlot(QWidget* parent, const QString& name) {
    auto* plot = new QCustomPlot(parent);
    plot->setObjectName(name);
    plot->setMinimumSize(260, 180);
    plot->setMouseTracking(true);
    plot->setNoAntialiasingOnDrag(true);
    return plot;
}

QCPBars* makeBars(QCustomPlot* plot, const QColor& colour, const QString& xLabel, const QString& yLabel) {
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setPen(Qt::NoPen);
    bars->setBrush(colour);
    bars->setWidth(0.8);
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    return bars;
}

void setBars(QCPBars* bars, const QVector<double>& values) {
    QVector<double> keys(values.size());
    for (int i = 0; i < keys.size(); ++i)
        keys[i] = i;
    bars->setData(keys, values, true);
    auto* plot = bars->parentPlot();
    plot->xAxis->setRange(-0.5, std::max(1.0, values.size() - 0.5));
    double lo = 0, hi = 0;
    for (double v : values) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    if (hi - lo < 1e-12) hi = lo + 1;
    const double pad = 0.05 * (hi - lo);
    plot->yAxis->setRange(lo < 0 ? lo - pad : 0, hi + pad);
    plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace

MemoryPanel::MemoryPanel(QWidget* parent) : QWidget(parent) {
    // Heatmap of M with its colour scale.
    m_heatPlot = makePlot(this, QStringLiteral("memoryHeatmap"));
    m_heat = new QCPColorMap(m_heatPlot->xAxis, m_heatPlot->yAxis);
    auto* scale = new QCPColorScale(m_heatPlot);
    m_scale = scale;
    m_heatPlot->plotLayout()->addElement(0, 1, scale);
    scale->setType(QCPAxis::atRight);
    m_heat->setColorScale(scale);
    // Diverging colours centred on zero: the sign matters in a memory matrix.
    m_heat->setGradient(QCPColorGradient::gpPolar);
    m_heat->setInterpolate(false);
    auto* margins = new QCPMarginGroup(m_heatPlot);
    m_heatPlot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_heatPlot->xAxis->setLabel(tr("dimension"));
    m_heatPlot->yAxis->setLabel(tr("slot"));
    m_heatPlot->yAxis->setRangeReversed(true);
    m_heatTitle = addTitle(m_heatPlot, tr("Memory M"));
    connect(m_heatPlot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        if (!m_heatPlot->axisRect()->rect().contains(e->pos())) {
            QToolTip::hideText();
            return;
        }
        const int slot = static_cast<int>(std::lround(m_heatPlot->yAxis->pixelToCoord(e->pos().y())));
        const int dim = static_cast<int>(std::lround(m_heatPlot->xAxis->pixelToCoord(e->pos().x())));
        const QString tip = cellToolTip(slot, dim);
        if (tip.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(e->globalPosition().toPoint(), tip, m_heatPlot);
    });
    m_perBlock = new QCheckBox(tr("Scale each &block on its own"), this);
    m_perBlock->setObjectName(QStringLiteral("perBlockScale"));
    m_perBlock->setChecked(true);
    m_perBlock->setToolTip(tr("The latent's blocks differ in size by orders of magnitude: scaled together, the "
                              "largest hides the others. Checked, each block's colours run to 3 x its own RMS "
                              "(written over the block; larger values take the end colours)."));
    connect(m_perBlock, &QCheckBox::toggled, this, [this] {
        if (m_state) drawHeatmap();
    });

    m_readPlot = makePlot(this, QStringLiteral("readWeights"));
    m_readBars = makeBars(m_readPlot, QColor(0x2a, 0x7a, 0xb8), tr("slot"), tr("weight"));
    m_readTitle = addTitle(m_readPlot, tr("Read weights (ask a prompt in Query & compare)"));
    connect(m_readPlot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { hoverSlot(m_readPlot, e, false); });

    m_keyPlot = makePlot(this, QStringLiteral("writeKey"));
    m_keyBars = makeBars(m_keyPlot, QColor(0xc0, 0x70, 0x20), tr("slot"), tr("key"));
    m_keyTitle = addTitle(m_keyPlot, tr("Write key (select a fact in Facts)"));
    connect(m_keyPlot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        const QString tip = m_keyPlot->axisRect()->rect().contains(e->pos())
                                ? keyToolTip(static_cast<int>(std::lround(m_keyPlot->xAxis->pixelToCoord(e->pos().x()))))
                                : QString();
        if (tip.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(e->globalPosition().toPoint(), tip, m_keyPlot);
    });

    m_specPlot = makePlot(this, QStringLiteral("spectrum"));
    m_spectrum = m_specPlot->addGraph();
    m_spectrum->setPen(QPen(QColor(0x55, 0x33, 0x99), 1.5));
    m_spectrum->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
    m_specPlot->xAxis->setLabel(tr("index"));
    m_specPlot->yAxis->setLabel(tr("singular value (log)"));
    // Log scale: a rank-r memory shows r values and then a cliff of round-off, r facts apart.
    m_specPlot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_specPlot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    m_specPlot->yAxis->setNumberFormat(QStringLiteral("eb"));
    m_specPlot->yAxis->setNumberPrecision(0);
    m_specTitle = addTitle(m_specPlot, tr("Singular values of M"));
    connect(m_specPlot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        const QString tip =
            m_specPlot->axisRect()->rect().contains(e->pos())
                ? spectrumToolTip(static_cast<int>(std::lround(m_specPlot->xAxis->pixelToCoord(e->pos().x()))) - 1)
                : QString();
        if (tip.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(e->globalPosition().toPoint(), tip, m_specPlot);
    });

    auto* heatBox = new QWidget(this);
    auto* heatLayout = new QVBoxLayout(heatBox);
    heatLayout->setContentsMargins(0, 0, 0, 0);
    heatLayout->addWidget(m_heatPlot, 1);
    heatLayout->addWidget(m_perBlock);
    auto* grid = new QGridLayout(this);
    grid->addWidget(heatBox, 0, 0);
    grid->addWidget(m_readPlot, 0, 1);
    grid->addWidget(m_keyPlot, 1, 0);
    grid->addWidget(m_specPlot, 1, 1);
    grid->setRowStretch(0, 3);
    grid->setRowStretch(1, 2);
    grid->setColumnStretch(0, 3);
    grid->setColumnStretch(1, 2);
}

void MemoryPanel::setState(const EngineStatePtr& state) {
    m_state = state;
    m_factText.clear();
    for (const auto& f : state->facts)
        m_factText.insert(f.id, f.text);
    drawHeatmap();

    const auto& sv = state->singularValues;
    const double top = sv.isEmpty() ? 1.0 : std::max(1e-9, *std::max_element(sv.begin(), sv.end()));
    const double floor = top * 1e-12; // zeros drawn at the floor of the log axis
    QVector<double> idx(sv.size()), shown(sv.size());
    for (int i = 0; i < idx.size(); ++i) {
        idx[i] = i + 1;
        shown[i] = std::max(sv[i], floor);
    }
    m_spectrum->setData(idx, shown, true);
    int rank = 0;
    for (double s : sv)
        if (s > top * 1e-6) ++rank;
    // A few facts: show the values that are there and a few of the zeros after them, not a
    // single point in front of a cliff hundreds of indices wide.
    const int shownCount = std::min(static_cast<int>(sv.size()), std::max(8, 2 * rank + 4));
    m_specPlot->xAxis->setRange(0.5, std::max(2.0, shownCount + 0.5));
    m_specPlot->yAxis->setRange(floor * 0.5, top * 2);
    m_specTitle->setText(sv.isEmpty() || top <= 1e-9
                             ? tr("Singular values of M (empty memory)")
                             : tr("Singular values of M: numerical rank %1, the other %2 are 0")
                                   .arg(rank)
                                   .arg(sv.size() - rank));
    m_specPlot->replot(QCustomPlot::rpQueuedReplot);

    setReadWeights(state->readPrompt, state->readWeights, state->readInScope);
    if (m_keyFact != 0 && !m_factText.contains(m_keyFact)) clearWriteKey();
}

QVector<LatentBlockInfo> MemoryPanel::blocks() const {
    const int c = m_state ? m_state->width : 0;
    QVector<LatentBlockInfo> out;
    int end = 0;
    for (const auto& b : m_state ? m_state->info.blocks : QVector<LatentBlockInfo>()) {
        if (b.begin != end || b.size <= 0 || b.begin + b.size > c) return {{tr("latent"), 0, c}};
        out.append(b);
        end = b.begin + b.size;
    }
    if (out.isEmpty() || end != c) return {{tr("latent"), 0, c}};
    return out;
}

QStringList MemoryPanel::blockLabels() const {
    QStringList out;
    for (auto* item : m_heatPlot->findChildren<QCPItemText*>())
        out << item->text();
    // findChildren order is not the plot's: sort by position.
    std::sort(out.begin(), out.end());
    return out;
}

void MemoryPanel::drawHeatmap() {
    const EngineState& state = *m_state;
    const int k = state.slotCount, c = state.width;
    const QVector<LatentBlockInfo> bl = blocks();
    // Each block's colours run to 3 x its RMS (larger values saturate): a block's maximum is an
    // outlier that would leave the rest of it as dark as one scale for all does.
    m_blockScale = QVector<double>(bl.size(), 0.0);
    double extent = 0;
    for (int b = 0; b < bl.size(); ++b) {
        double sum = 0;
        for (int r = 0; r < k; ++r)
            for (int col = bl[b].begin; col < bl[b].begin + bl[b].size; ++col) {
                const double v = state.memory[r * c + col];
                sum += v * v;
                extent = std::max(extent, std::abs(v));
            }
        const double n = static_cast<double>(k) * bl[b].size;
        m_blockScale[b] = n > 0 ? 3.0 * std::sqrt(sum / n) : 0.0;
    }
    const bool perBlock = m_perBlock->isChecked() && bl.size() > 1;
    extent = std::max(extent, 1e-12);
    m_heat->data()->setSize(c, k);
    m_heat->data()->setRange(QCPRange(0, std::max(1, c - 1)), QCPRange(0, std::max(1, k - 1)));
    for (int b = 0; b < bl.size(); ++b) {
        const double scale = perBlock ? std::max(m_blockScale[b], 1e-300) : 1.0;
        for (int r = 0; r < k; ++r)
            for (int col = bl[b].begin; col < bl[b].begin + bl[b].size; ++col)
                m_heat->data()->setCell(col, r, state.memory[r * c + col] / scale);
    }
    m_heat->setDataRange(perBlock ? QCPRange(-1, 1) : QCPRange(-extent, extent));
    m_scale->axis()->setLabel(perBlock ? tr("value / (3 x its block's RMS)") : tr("value"));
    // Separators and labels: each block's name and the largest |value| its colours run to.
    m_heatPlot->clearItems();
    for (int b = 0; b < bl.size(); ++b) {
        if (b > 0) {
            auto* line = new QCPItemStraightLine(m_heatPlot);
            line->point1->setCoords(bl[b].begin - 0.5, 0);
            line->point2->setCoords(bl[b].begin - 0.5, 1);
            line->setPen(QPen(QColor(230, 230, 230), 1.5, Qt::DashLine)); // on the map's black zero
        }
        if (bl.size() > 1) {
            auto* label = new QCPItemText(m_heatPlot);
            label->setClipToAxisRect(true);
            label->position->setTypeX(QCPItemPosition::ptPlotCoords);
            label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
            label->position->setCoords(bl[b].begin + bl[b].size / 2.0 - 0.5, 0.0);
            label->setPositionAlignment(Qt::AlignTop | Qt::AlignHCenter);
            label->setText(tr("%1\nRMS %2").arg(bl[b].name).arg(m_blockScale[b] / 3.0, 0, 'g', 2));
            label->setBrush(QColor(255, 255, 255, 200));
            label->setPadding(QMargins(3, 1, 3, 1));
        }
    }
    // Whole cells: cell centres are at integer slots and dimensions.
    m_heatPlot->xAxis->setRange(-0.5, std::max(1, c) - 0.5);
    m_heatPlot->yAxis->setRange(-0.5, std::max(1, k) - 0.5);
    m_heatTitle->setText(
        tr("Memory M (K = %1 slots x C = %2), %3 written").arg(k).arg(c).arg(factCount(state.written)));
    m_heatPlot->replot(QCustomPlot::rpQueuedReplot);
}

void MemoryPanel::setReadWeights(const QString& prompt, const QVector<double>& weights, bool inScope) {
    m_readWeights = weights;
    if (prompt.isEmpty() || weights.isEmpty()) {
        m_readWeights.clear();
        m_readBars->data()->clear();
        m_readTitle->setText(tr("Read weights (ask a prompt in Query & compare)"));
        m_readPlot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const QString shown = shortText(prompt, 40);
    m_readTitle->setText(inScope ? tr("Read weights of \"%1\"").arg(shown)
                                 : tr("Read weights of \"%1\": out of scope, so the answer did not read "
                                      "the memory; where it would read")
                                       .arg(shown));
    m_readBars->setBrush(inScope ? QColor(0x2a, 0x7a, 0xb8) : QColor(0x9a, 0x9a, 0xa8));
    setBars(m_readBars, weights);
}

void MemoryPanel::setWriteKey(qint64 factId, const QVector<double>& key) {
    m_keyFact = factId;
    m_key = key;
    m_keyTitle->setText(tr("Write key of fact %1: \"%2\"").arg(factId).arg(shortText(m_factText.value(factId), 40)));
    setBars(m_keyBars, key);
}

void MemoryPanel::clearWriteKey() {
    m_keyFact = 0;
    m_key.clear();
    m_keyBars->data()->clear();
    m_keyTitle->setText(tr("Write key (select a fact in Facts)"));
    m_keyPlot->replot(QCustomPlot::rpQueuedReplot);
}

QString MemoryPanel::slotToolTip(int slot) const {
    if (!m_state || slot < 0 || slot >= m_state->slotCount) return {};
    QString tip = tr("<b>slot %1</b>").arg(slot);
    if (slot < m_readWeights.size()) tip += tr(" &nbsp; read weight %1").arg(m_readWeights[slot], 0, 'f', 4);
    const auto& top = slot < m_state->slotFacts.size() ? m_state->slotFacts[slot] : QVector<QPair<qint64, double>>();
    if (top.isEmpty()) return tip + tr("<br>no written fact weighs in this slot");
    tip += tr("<br>facts weighing most (key value):");
    for (const auto& [id, w] : top) {
        const QString text = shortText(m_factText.value(id), 60);
        tip += QStringLiteral("<br>&nbsp;%1 &nbsp; <i>%2</i> &nbsp; %3")
                   .arg(w, 0, 'f', 3)
                   .arg(id)
                   .arg(text.toHtmlEscaped());
    }
    return tip;
}

QString MemoryPanel::cellToolTip(int slot, int dimension) const {
    if (!m_state || slot < 0 || slot >= m_state->slotCount || dimension < 0 || dimension >= m_state->width) return {};
    const QVector<LatentBlockInfo> bl = blocks();
    QString block;
    for (const auto& b : bl)
        if (dimension >= b.begin && dimension < b.begin + b.size)
            block = bl.size() > 1 ? tr(" (%1, dimension %2 of it)").arg(b.name).arg(dimension - b.begin) : QString();
    return tr("<b>M[%1, %2]</b> = %3<br>slot %1, dimension %2%4<br>")
               .arg(slot)
               .arg(dimension)
               .arg(m_state->memory[slot * m_state->width + dimension], 0, 'g', 4)
               .arg(block) +
           slotToolTip(slot);
}

QString MemoryPanel::keyToolTip(int slot) const {
    if (slot < 0 || slot >= m_key.size()) return {};
    return tr("<b>key[%1]</b> = %2: how strongly fact %3 is written into slot %1<br>")
               .arg(slot)
               .arg(m_key[slot], 0, 'f', 4)
               .arg(m_keyFact) +
           slotToolTip(slot);
}

QString MemoryPanel::spectrumToolTip(int index) const {
    if (!m_state || index < 0 || index >= m_state->singularValues.size()) return {};
    const double s = m_state->singularValues[index];
    const double top = m_state->singularValues.front();
    return tr("<b>singular value %1</b> = %2 (%3 of the largest)<br>How much of M lies along its %1. direction; "
              "about one value per written fact stands out")
        .arg(index + 1)
        .arg(s, 0, 'g', 4)
        .arg(top > 0 ? percentText(s / top) : QStringLiteral("-"));
}

void MemoryPanel::hoverSlot(QCustomPlot* plot, QMouseEvent* event, bool slotsOnValueAxis) {
    if (!plot->axisRect()->rect().contains(event->pos())) {
        QToolTip::hideText();
        return;
    }
    const double coord =
        slotsOnValueAxis ? plot->yAxis->pixelToCoord(event->pos().y()) : plot->xAxis->pixelToCoord(event->pos().x());
    const QString tip = slotToolTip(static_cast<int>(std::lround(coord)));
    if (tip.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), tip, plot);
}

} // namespace larimar::ui
