#include "ui/query_panel.h"

#include "ui/engine.h"
#include "ui/table_models.h"

#include <QEvent>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QHelpEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QPushButton>
#include <QSlider>
#include <QSplitter>
#include <QTableView>
#include <QTextBlock>
#include <QTextCursor>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace larimar::ui {

namespace {

/// Per-word flags of one side of a diff: kinds 0 (same) and `changedKind` belong to that side.
QVector<bool> sideFlags(const QVector<QPair<int, QString>>& diff, int changedKind) {
    QVector<bool> flags;
    for (const auto& [kind, words] : diff) {
        if (kind != 0 && kind != changedKind) continue;
        const auto parts = words.split(QLatin1Char(' '), Qt::SkipEmptyParts);
        for (int i = 0; i < parts.size(); ++i)
            flags.append(kind == changedKind);
    }
    return flags;
}

/// [begin, end) of every whitespace-separated word of text.
QVector<QPair<int, int>> wordRanges(const QString& text) {
    QVector<QPair<int, int>> out;
    int i = 0;
    while (i < text.size()) {
        while (i < text.size() && text[i].isSpace())
            ++i;
        const int b = i;
        while (i < text.size() && !text[i].isSpace())
            ++i;
        if (i > b) out.append({b, i});
    }
    return out;
}

QString percent(double p) {
    return percentText(p);
}

/// A token for a tooltip: spaces as middle dots, part of a character as its bytes.
QString showToken(const QString& text, const QByteArray& bytes) {
    if (text.contains(QChar::ReplacementCharacter)) {
        QStringList hex;
        for (char b : bytes)
            hex << QStringLiteral("%1").arg(static_cast<unsigned char>(b), 2, 16, QLatin1Char('0'));
        return QStringLiteral("&lt;bytes %1&gt;").arg(hex.join(QLatin1Char(' ')));
    }
    return text.toHtmlEscaped().replace(QLatin1Char(' '), QStringLiteral("&middot;"));
}

constexpr int kSliderSteps = 100; // threshold in [0, 1] in steps of 0.01

} // namespace

// --- token view ----------------------------------------------------------------------------

TokenView::TokenView(QWidget* parent) : QTextEdit(parent) {
    setReadOnly(true);
    setAcceptRichText(false);
    setMouseTracking(true);
    setPlaceholderText(tr("(no answer yet)"));
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 1.15);
    setFont(f);
}

void TokenView::setAnswer(const QString& text, const QVector<TokenInfo>& tokens, const QVector<bool>& changed,
                          const QColor& mark) {
    m_tokens.clear();
    m_starts.clear();
    m_marked.clear();
    setPlaceholderText(tr("(empty: the model stopped at once)"));
    setPlainText(text);
    // Byte-level tokens may split a character: map token byte offsets to character offsets of
    // the decoded text (a character belongs to the token holding its first byte).
    const QByteArray utf8 = text.toUtf8();
    QByteArray all;
    for (const auto& t : tokens)
        all += t.bytes;
    if (!tokens.isEmpty() && all.startsWith(utf8)) {
        QVector<int> byteToChar(utf8.size() + 1, static_cast<int>(text.size()));
        int b = 0;
        for (int c = 0; c < text.size(); ++c) {
            if (text[c].isLowSurrogate()) continue;
            const char32_t u = text[c].isHighSurrogate() && c + 1 < text.size()
                                   ? QChar::surrogateToUcs4(text[c], text[c + 1])
                                   : text[c].unicode();
            const int len = u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 ? 3 : 4;
            for (int i = 0; i < len && b < utf8.size(); ++i)
                byteToChar[b++] = c;
        }
        int offset = 0;
        for (const auto& t : tokens) {
            if (offset >= utf8.size()) break; // tokens past the text (a stop string)
            m_tokens.append(t);
            m_starts.append(byteToChar[offset]);
            offset += static_cast<int>(t.bytes.size());
        }
        m_starts.append(static_cast<int>(text.size()));
    }
    const auto words = wordRanges(text);
    if (words.size() == changed.size()) {
        QTextCharFormat fmt;
        fmt.setBackground(mark);
        QTextCursor c(document());
        for (int i = 0; i < words.size(); ++i) {
            if (!changed[i]) continue;
            m_marked.append(words[i]);
            c.setPosition(words[i].first);
            c.setPosition(words[i].second, QTextCursor::KeepAnchor);
            c.mergeCharFormat(fmt);
        }
    }
}

QString TokenView::tokenToolTip(int position) const {
    for (int i = 0; i + 1 < m_starts.size(); ++i) {
        if (position < m_starts[i] || position >= m_starts[i + 1]) continue;
        const TokenInfo& t = m_tokens[i];
        QString tip = tr("<b>%1</b> &nbsp; p = %2").arg(showToken(t.text, t.bytes), percent(t.probability));
        if (!t.alternatives.isEmpty()) {
            tip += tr("<br>alternatives:");
            for (const auto& [alt, p] : t.alternatives)
                tip += QStringLiteral("<br>&nbsp;&nbsp;%1 &nbsp; %2").arg(showToken(alt, alt.toUtf8()), percent(p));
        }
        return tip;
    }
    return {};
}

bool TokenView::viewportEvent(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const QString tip = tokenToolTip(cursorForPosition(help->pos()).position());
        if (tip.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), tip, viewport());
        return true;
    }
    return QTextEdit::viewportEvent(event);
}

// --- gauge ---------------------------------------------------------------------------------

ScopeGauge::ScopeGauge(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setToolTip(tr("The scope score of the prompt (bar) against the threshold (line): at or above it, "
                  "the answer uses the memory"));
}

void ScopeGauge::setScore(std::optional<double> score) {
    m_score = score;
    update();
}

void ScopeGauge::setNote(const QString& note) {
    m_note = note;
    update();
}

void ScopeGauge::setThreshold(double threshold) {
    m_threshold = threshold;
    update();
}

QSize ScopeGauge::sizeHint() const {
    return {240, fontMetrics().height() + 10};
}
QSize ScopeGauge::minimumSizeHint() const {
    return {120, fontMetrics().height() + 10};
}

void ScopeGauge::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF r = QRectF(rect()).adjusted(1, 1, -1, -1);
    p.setPen(palette().color(QPalette::Mid));
    p.setBrush(palette().color(QPalette::Base));
    p.drawRoundedRect(r, 3, 3);
    if (m_score) {
        const double v = std::clamp(*m_score, 0.0, 1.0);
        const bool in = *m_score >= m_threshold;
        QRectF bar = r.adjusted(2, 2, -2, -2);
        bar.setWidth(bar.width() * v);
        p.setPen(Qt::NoPen);
        p.setBrush(in ? QColor(0x3a, 0x9a, 0x5b) : QColor(0x9a, 0x9a, 0xa8));
        p.drawRoundedRect(bar, 2, 2);
    }
    const double x = r.left() + r.width() * std::clamp(m_threshold, 0.0, 1.0);
    p.setPen(QPen(QColor(0xc0, 0x30, 0x30), 2));
    p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()));
    p.setPen(palette().color(QPalette::Text));
    p.drawText(r.adjusted(6, 0, -6, 0), Qt::AlignVCenter | Qt::AlignLeft,
               m_score ? QStringLiteral("%1").arg(*m_score, 0, 'f', 3) : (m_note.isEmpty() ? tr("no query yet") : m_note));
}

// --- panel ---------------------------------------------------------------------------------

QueryPanel::QueryPanel(Engine* engine, QWidget* parent) : QWidget(parent), m_engine(engine) {
    m_prompt = new QLineEdit(this);
    m_prompt->setObjectName(QStringLiteral("prompt"));
    m_prompt->setPlaceholderText(tr("A prompt, e.g. \"The Eiffel Tower is located in\""));
    m_prompt->setClearButtonEnabled(true);
    connect(m_prompt, &QLineEdit::returnPressed, this, &QueryPanel::compareNow);
    m_compare = new QPushButton(tr("&Compare"), this);
    m_compare->setObjectName(QStringLiteral("compare"));
    m_compare->setToolTip(tr("Answer the prompt without and with the memory (Enter)"));
    connect(m_compare, &QPushButton::clicked, this, &QueryPanel::compareNow);
    auto* top = new QHBoxLayout;
    auto* promptLabel = new QLabel(tr("&Prompt:"), this);
    promptLabel->setBuddy(m_prompt);
    top->addWidget(promptLabel);
    top->addWidget(m_prompt, 1);
    top->addWidget(m_compare);
    m_resultLabel = new QLabel(this);
    m_resultLabel->setObjectName(QStringLiteral("resultState"));
    m_resultLabel->setWordWrap(true);
    m_resultLabel->setTextFormat(Qt::RichText);

    m_without = new TokenView(this);
    m_without->setObjectName(QStringLiteral("withoutMemory"));
    m_with = new TokenView(this);
    m_with->setObjectName(QStringLiteral("withMemory"));
    m_withoutTokens = new TokenTableModel(this);
    m_withTokens = new TokenTableModel(this);
    auto box = [this](const QString& title, TokenView* view, TokenTableModel* tokens) {
        auto* group = new QGroupBox(title, this);
        auto* table = new QTableView(group);
        table->setModel(tokens);
        table->verticalHeader()->hide();
        table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
        table->setSelectionBehavior(QAbstractItemView::SelectRows);
        table->setWordWrap(false);
        auto* header = table->horizontalHeader();
        header->setSectionResizeMode(TokenTableModel::Index, QHeaderView::ResizeToContents);
        header->setSectionResizeMode(TokenTableModel::Token, QHeaderView::Interactive);
        header->resizeSection(TokenTableModel::Token, 140);
        header->setSectionResizeMode(TokenTableModel::Probability, QHeaderView::ResizeToContents);
        header->setSectionResizeMode(TokenTableModel::Alternatives, QHeaderView::Stretch);
        auto* split = new QSplitter(Qt::Vertical, group);
        split->addWidget(view);
        split->addWidget(table);
        split->setStretchFactor(0, 1);
        split->setStretchFactor(1, 2);
        split->setChildrenCollapsible(false);
        (new QVBoxLayout(group))->addWidget(split);
        return group;
    };
    auto* withoutBox = box(tr("Without memory (the plain model)"), m_without, m_withoutTokens);
    auto* withBox = box(tr("With memory"), m_with, m_withTokens);
    auto* answers = new QHBoxLayout;
    answers->addWidget(withoutBox, 1);
    answers->addWidget(withBox, 1);
    m_diffLabel = new QLabel(this);
    m_diffLabel->setWordWrap(true);
    m_diffLabel->setText(tr("Red: words only the plain model says; green: words the memory adds. Hover a word for "
                            "its token's probability. The tables list every token: an amber p means the model was "
                            "unsure, a middle dot (\u00B7) stands for a space."));

    m_gauge = new ScopeGauge(this);
    m_gauge->setObjectName(QStringLiteral("scopeGauge"));
    m_slider = new QSlider(Qt::Horizontal, this);
    m_slider->setObjectName(QStringLiteral("threshold"));
    m_slider->setRange(0, kSliderSteps);
    m_slider->setValue(kSliderSteps / 2);
    m_slider->setToolTip(tr("Scope threshold: prompts scoring at or above it are answered with the memory"));
    m_thresholdLabel = new QLabel(this);
    m_thresholdLabel->setMinimumWidth(m_thresholdLabel->fontMetrics().horizontalAdvance(tr("threshold 0.000")) + 8);
    // Re-answer shortly after the user stops moving the slider (mouse or keys), so the
    // with-memory side follows the new threshold.
    m_requery = new QTimer(this);
    m_requery->setSingleShot(true);
    m_requery->setInterval(300);
    connect(m_requery, &QTimer::timeout, this, [this] {
        if (!m_last.prompt.isEmpty() && m_engine->hasWorkspace()) request(m_last.prompt);
    });
    connect(m_slider, &QSlider::valueChanged, this, [this] {
        m_gauge->setThreshold(threshold());
        updateScopeLabel();
        if (!m_programmatic) {
            m_thresholdTouched = true;
            m_requery->start();
        }
    });
    m_keep = new QPushButton(tr("&Keep for Workspace"), this);
    m_keep->setObjectName(QStringLiteral("keepThreshold"));
    m_keep->setToolTip(tr("Store this threshold in the workspace: the next start and the larimar CLI use it"));
    m_keep->setEnabled(false);
    connect(m_keep, &QPushButton::clicked, this, [this] { m_engine->setWorkspaceThreshold(threshold()); });
    connect(m_engine, &Engine::thresholdSaved, this, [this](double t) {
        m_workspaceThreshold = t;
        updateScopeLabel();
    });
    m_scopeLabel = new QLabel(this);
    m_scopeLabel->setObjectName(QStringLiteral("scopeLabel"));
    m_scopeLabel->setWordWrap(true);
    m_nearest = new QLabel(this);
    m_nearest->setObjectName(QStringLiteral("nearestFact"));
    m_nearest->setWordWrap(true);
    m_nearest->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* scopeBox = new QGroupBox(tr("Scope"), this);
    auto* grid = new QGridLayout(scopeBox);
    grid->addWidget(new QLabel(tr("Score:"), scopeBox), 0, 0);
    grid->addWidget(m_gauge, 0, 1);
    grid->addWidget(m_scopeLabel, 0, 2);
    grid->addWidget(new QLabel(tr("Threshold:"), scopeBox), 1, 0);
    grid->addWidget(m_slider, 1, 1);
    auto* thresholdRow = new QHBoxLayout;
    thresholdRow->addWidget(m_thresholdLabel);
    thresholdRow->addWidget(m_keep);
    thresholdRow->addStretch(1);
    grid->addLayout(thresholdRow, 1, 2);
    grid->addWidget(new QLabel(tr("Nearest fact:"), scopeBox), 2, 0);
    grid->addWidget(m_nearest, 2, 1, 1, 2);
    grid->setColumnStretch(1, 2);
    grid->setColumnStretch(2, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_resultLabel);
    layout->addLayout(answers, 1);
    layout->addWidget(m_diffLabel);
    layout->addWidget(scopeBox);

    connect(m_engine, &Engine::compared, this, &QueryPanel::showResult);
    connect(m_engine, &Engine::stateChanged, this, &QueryPanel::setState);
    // Idle: nothing is in flight any more (a failed query answers with an error, not compared).
    connect(m_engine, &Engine::idle, this, [this] {
        if (m_inFlight == 0) return;
        m_inFlight = 0;
        m_requested.clear();
        updateResultLabel();
    });
    m_gauge->setThreshold(threshold());
    updateScopeLabel();
    updateResultLabel();
}

double QueryPanel::threshold() const {
    return static_cast<double>(m_slider->value()) / kSliderSteps;
}

void QueryPanel::setThreshold(double t) {
    m_programmatic = true;
    m_slider->setValue(static_cast<int>(std::lround(std::clamp(t, 0.0, 1.0) * kSliderSteps)));
    m_programmatic = false;
    m_gauge->setThreshold(threshold());
    updateScopeLabel();
}

void QueryPanel::setInfo(const EngineInfo& info) {
    // The workspace's threshold until the user moves the slider.
    m_workspaceThreshold = info.defaultThreshold;
    if (!m_thresholdTouched) setThreshold(info.defaultThreshold);
    m_gauge->setToolTip(
        tr("Scope score from the detector \"%1\" (bar) against the threshold (red line)").arg(info.detector));
}

void QueryPanel::clearResult() {
    m_last = CompareView();
    m_stale = false;
    clearAnswers();
    updateResultLabel();
}

void QueryPanel::clearAnswers() {
    m_without->setAnswer({}, {}, {}, {});
    m_with->setAnswer({}, {}, {}, {});
    m_without->setPlaceholderText(tr("(no answer yet)"));
    m_with->setPlaceholderText(tr("(no answer yet)"));
    m_withoutTokens->setTokens({});
    m_withTokens->setTokens({});
    m_gauge->setScore(std::nullopt);
    m_gauge->setNote({});
    m_nearest->clear();
    updateScopeLabel();
}

void QueryPanel::compareNow() {
    const QString prompt = m_prompt->text().trimmed();
    if (prompt.isEmpty() || !m_engine->hasWorkspace()) return;
    request(prompt);
}

void QueryPanel::request(const QString& prompt) {
    // Another prompt's answers never stand under this one while it waits.
    if (prompt != m_last.prompt && !m_last.prompt.isEmpty()) {
        m_last = CompareView();
        m_stale = false;
        clearAnswers();
    }
    m_requested = prompt;
    ++m_inFlight;
    m_engine->compare(prompt, threshold());
    updateResultLabel();
}

void QueryPanel::setState(const EngineStatePtr& state) {
    m_state = state;
    // Answers made against another memory (a write, forget, import or rollback since) are stale.
    m_stale = !m_last.prompt.isEmpty() && !m_last.digest.isEmpty() && state->digest != m_last.digest;
    const QString colour = m_stale ? QStringLiteral("color: palette(mid);") : QString();
    m_without->setStyleSheet(colour.isEmpty() ? QString() : QStringLiteral("QTextEdit { %1 }").arg(colour));
    m_with->setStyleSheet(m_without->styleSheet());
    updateResultLabel();
    updateScopeLabel();
}

void QueryPanel::updateResultLabel() {
    auto quoted = [](const QString& p) { return QStringLiteral("\u201C%1\u201D").arg(shortText(p, 80).toHtmlEscaped()); };
    if (m_inFlight > 0 && !m_requested.isEmpty()) {
        const QString what = quoted(m_requested);
        m_resultLabel->setText(
            m_engine->evaluating()
                ? tr("<b>Queued:</b> %1 is answered when the running evaluation ends (the Evaluation tab can stop it).")
                      .arg(what)
                : (m_engine->pending() > m_inFlight ? tr("<b>Queued:</b> %1 is answered after the engine's current work.")
                                                    : tr("Answering %1...")).arg(what));
        return;
    }
    if (m_last.prompt.isEmpty()) {
        m_resultLabel->setText(tr("No answers yet: type a prompt and press Compare (Enter)."));
        return;
    }
    const QString state = m_last.lastEdit == 0 ? tr("the empty memory")
                                               : tr("the memory after edit %1 (%2 written)")
                                                     .arg(m_last.lastEdit)
                                                     .arg(factCount(m_last.written));
    if (m_stale) {
        const qint64 now = m_state ? m_state->lastEdit : 0;
        m_resultLabel->setText(tr("<span style='color:#a15c00'><b>&#9888; Stale:</b> answers to %1 with %2. The "
                                  "memory has changed since (now edit %3, %4 written): press Compare to answer "
                                  "again.</span>")
                                   .arg(quoted(m_last.prompt), state)
                                   .arg(now)
                                   .arg(factCount(m_state ? m_state->written : 0)));
        return;
    }
    m_resultLabel->setText(tr("Answers to %1 with %2.").arg(quoted(m_last.prompt), state));
}

void QueryPanel::showResult(const CompareView& v) {
    if (m_inFlight > 0) --m_inFlight;
    // A newer prompt was asked meanwhile: this answer belongs to the older one; skip it.
    if (m_inFlight > 0 && !m_requested.isEmpty() && v.prompt != m_requested) return;
    if (m_inFlight == 0) m_requested.clear();
    m_last = v;
    m_stale = m_state && !v.digest.isEmpty() && m_state->digest != v.digest;
    m_without->setAnswer(v.withoutMemory, v.withoutTokens, sideFlags(v.diff, 1), QColor(0xff, 0xc8, 0xc8));
    m_with->setAnswer(v.withMemory, v.withTokens, sideFlags(v.diff, 2), QColor(0xc4, 0xf0, 0xc4));
    m_withoutTokens->setTokens(v.withoutTokens);
    m_withTokens->setTokens(v.withTokens);
    // With no fact written the detector has nothing to compare with (scores such as -1 mean that).
    if (v.written == 0 || v.score < 0) {
        m_gauge->setScore(std::nullopt);
        m_gauge->setNote(tr("no facts written: nothing to compare with"));
    } else {
        m_gauge->setScore(v.score);
        m_gauge->setNote({});
    }
    m_nearest->setText(v.nearestFactId != 0 ? tr("fact %1: %2").arg(v.nearestFactId).arg(v.nearestText.toHtmlEscaped())
                                            : (v.nearestText.isEmpty() ? tr("(the detector names none)")
                                                                       : v.nearestText.toHtmlEscaped()));
    m_without->setStyleSheet(m_stale ? QStringLiteral("QTextEdit { color: palette(mid); }") : QString());
    m_with->setStyleSheet(m_without->styleSheet());
    updateScopeLabel();
    updateResultLabel();
}

void QueryPanel::updateScopeLabel() {
    m_thresholdLabel->setText(tr("threshold %1").arg(threshold(), 0, 'f', 3));
    m_keep->setEnabled(m_engine->hasWorkspace() && std::abs(threshold() - m_workspaceThreshold) > 1e-9);
    if (m_last.prompt.isEmpty()) {
        m_scopeLabel->setText(tr("Ask something to see whether it is about the written facts."));
        return;
    }
    const bool in = m_last.score >= threshold();
    QString text =
        in ? tr("<b>in scope</b>: answered with the memory") : tr("<b>out of scope</b>: answered by the plain model");
    if (m_last.written == 0) text = tr("<b>out of scope</b>: no fact is written, so the plain model answers");
    if (m_stale) text = tr("<i>(stale)</i> ") + text;
    if (std::abs(m_last.threshold - threshold()) > 1e-9)
        text += tr(" (at the new threshold; answering again...)");
    else if (!m_last.differs)
        text += tr("; both answers agree");
    m_scopeLabel->setText(text);
}

} // namespace larimar::ui
