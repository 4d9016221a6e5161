#include "ui/memory_panel.h"

#include <QGridLayout>
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
    connect(m_heatPlot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { hoverSlot(m_heatPlot, e, true); });

    m_readPlot = makePlot(this, QStringLiteral("readWeights"));
    m_readBars = makeBars(m_readPlot, QColor(0x2a, 0x7a, 0xb8), tr("slot"), tr("weight"));
    m_readTitle = addTitle(m_readPlot, tr("Read weights (ask a prompt in Query & compare)"));
    connect(m_readPlot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { hoverSlot(m_readPlot, e, false); });

    m_keyPlot = makePlot(this, QStringLiteral("writeKey"));
    m_keyBars = makeBars(m_keyPlot, QColor(0xc0, 0x70, 0x20), tr("slot"), tr("key"));
    m_keyTitle = addTitle(m_keyPlot, tr("Write key (select a fact in Facts)"));
    connect(m_keyPlot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { hoverSlot(m_keyPlot, e, false); });

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

    auto* grid = new QGridLayout(this);
    grid->addWidget(m_heatPlot, 0, 0);
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
    const int k = state->slotCount, c = state->width;
    m_heat->data()->setSize(c, k);
    m_heat->data()->setRange(QCPRange(0, std::max(1, c - 1)), QCPRange(0, std::max(1, k - 1)));
    double extent = 0;
    for (int r = 0; r < k; ++r)
        for (int col = 0; col < c; ++col) {
            const double v = state->memory[r * c + col];
            m_heat->data()->setCell(col, r, v);
            extent = std::max(extent, std::abs(v));
        }
    extent = std::max(extent, 1e-12);
    m_heat->setDataRange(QCPRange(-extent, extent));
    // Whole cells: cell centres are at integer slots and dimensions.
    m_heatPlot->xAxis->setRange(-0.5, std::max(1, c) - 0.5);
    m_heatPlot->yAxis->setRange(-0.5, std::max(1, k) - 0.5);
    m_heatTitle->setText(
        tr("Memory M (K = %1 slots x C = %2), %3 written").arg(k).arg(c).arg(factCount(state->written)));
    m_heatPlot->replot(QCustomPlot::rpQueuedReplot);

    const auto& sv = state->singularValues;
    const double top = sv.isEmpty() ? 1.0 : std::max(1e-9, *std::max_element(sv.begin(), sv.end()));
    const double floor = top * 1e-12; // zeros drawn at the floor of the log axis
    QVector<double> idx(sv.size()), shown(sv.size());
    for (int i = 0; i < idx.size(); ++i) {
        idx[i] = i + 1;
        shown[i] = std::max(sv[i], floor);
    }
    m_spectrum->setData(idx, shown, true);
    m_specPlot->xAxis->setRange(0.5, std::max(2.0, sv.size() + 0.5));
    m_specPlot->yAxis->setRange(floor * 0.5, top * 2);
    int rank = 0;
    for (double s : sv)
        if (s > top * 1e-6) ++rank;
    m_specTitle->setText(sv.isEmpty() || top <= 1e-9 ? tr("Singular values of M (empty memory)")
                                                     : tr("Singular values of M (numerical rank %1)").arg(rank));
    m_specPlot->replot(QCustomPlot::rpQueuedReplot);

    setReadWeights(state->readPrompt, state->readWeights);
    if (m_keyFact != 0 && !m_factText.contains(m_keyFact)) clearWriteKey();
}

void MemoryPanel::setReadWeights(const QString& prompt, const QVector<double>& weights) {
    if (prompt.isEmpty() || weights.isEmpty()) {
        m_readBars->data()->clear();
        m_readTitle->setText(tr("Read weights (ask a prompt in Query & compare)"));
        m_readPlot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const QString shown = prompt.size() > 40 ? prompt.left(38) + QStringLiteral("...") : prompt;
    m_readTitle->setText(tr("Read weights of \"%1\"").arg(shown));
    setBars(m_readBars, weights);
}

void MemoryPanel::setWriteKey(qint64 factId, const QVector<double>& key) {
    m_keyFact = factId;
    QString text = m_factText.value(factId);
    if (text.size() > 40) text = text.left(38) + QStringLiteral("...");
    m_keyTitle->setText(tr("Write key of fact %1: \"%2\"").arg(factId).arg(text));
    setBars(m_keyBars, key);
}

void MemoryPanel::clearWriteKey() {
    m_keyFact = 0;
    m_keyBars->data()->clear();
    m_keyTitle->setText(tr("Write key (select a fact in Facts)"));
    m_keyPlot->replot(QCustomPlot::rpQueuedReplot);
}

QString MemoryPanel::slotToolTip(int slot) const {
    if (!m_state || slot < 0 || slot >= m_state->slotCount) return {};
    QString tip = tr("<b>slot %1</b>").arg(slot);
    if (slot < m_state->readWeights.size())
        tip += tr(" &nbsp; read weight %1").arg(m_state->readWeights[slot], 0, 'g', 3);
    const auto& top = slot < m_state->slotFacts.size() ? m_state->slotFacts[slot] : QVector<QPair<qint64, double>>();
    if (top.isEmpty()) return tip + tr("<br>no written fact weighs in this slot");
    tip += tr("<br>facts weighing most (key value):");
    for (const auto& [id, w] : top) {
        QString text = m_factText.value(id);
        if (text.size() > 60) text = text.left(58) + QStringLiteral("...");
        tip += QStringLiteral("<br>&nbsp;%1 &nbsp; <i>%2</i> &nbsp; %3")
                   .arg(w, 0, 'f', 3)
                   .arg(id)
                   .arg(text.toHtmlEscaped());
    }
    return tip;
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
