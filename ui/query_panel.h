#pragma once
/// The Query & compare tab: a prompt, the model's answer without and with the memory side by
/// side (differing words marked, each token's probability on hover), the scope score against
/// the threshold (a slider moves the threshold) and the nearest fact.
#include "ui/engine_types.h"

#include <QTextEdit>
#include <QWidget>

#include <optional>

class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;
class QTableView;
class QTimer;

namespace larimar::ui {

class Engine;
class TokenTableModel;

/// Read-only text of one generated answer. Knows which characters each token covers, so a
/// hover shows the token's probability and the alternatives the model weighed.
class TokenView : public QTextEdit {
    Q_OBJECT
public:
    explicit TokenView(QWidget* parent = nullptr);
    /// Shows `text`, the generated continuation, and marks the words flagged in `changed` (one
    /// flag per whitespace-separated word) with `mark`. `tokens` are the tokens it was made of:
    /// their bytes, concatenated, start with the text's UTF-8 (else hovering shows nothing).
    void setAnswer(const QString& text, const QVector<TokenInfo>& tokens, const QVector<bool>& changed,
                   const QColor& mark);
    /// The tooltip for the character at `position` of the text (empty: not on a token).
    QString tokenToolTip(int position) const;
    /// Character ranges [begin, end) of the marked words.
    const QVector<QPair<int, int>>& markedRanges() const { return m_marked; }

protected:
    bool viewportEvent(QEvent* event) override;

private:
    QVector<TokenInfo> m_tokens;
    QVector<int> m_starts; ///< start of token i in the text; m_starts[n] = end
    QVector<QPair<int, int>> m_marked;
};

/// A horizontal bar showing a score against a threshold.
class ScopeGauge : public QWidget {
    Q_OBJECT
public:
    explicit ScopeGauge(QWidget* parent = nullptr);
    void setScore(std::optional<double> score);
    /// Shown instead of a score (e.g. "no facts written"); empty: the placeholder.
    void setNote(const QString& note);
    const QString& note() const { return m_note; }
    void setThreshold(double threshold);
    std::optional<double> score() const { return m_score; }
    double threshold() const { return m_threshold; }
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    std::optional<double> m_score;
    double m_threshold = 0.5;
    QString m_note;
};

class QueryPanel : public QWidget {
    Q_OBJECT
public:
    explicit QueryPanel(Engine* engine, QWidget* parent = nullptr);

    QLineEdit* promptEdit() const { return m_prompt; }
    QPushButton* compareButton() const { return m_compare; }
    TokenView* withoutView() const { return m_without; }
    TokenView* withView() const { return m_with; }
    TokenTableModel* withoutTokens() const { return m_withoutTokens; }
    TokenTableModel* withTokens() const { return m_withTokens; }
    ScopeGauge* gauge() const { return m_gauge; }
    QSlider* thresholdSlider() const { return m_slider; }
    QPushButton* keepThresholdButton() const { return m_keep; }
    QLabel* scopeLabel() const { return m_scopeLabel; }
    QLabel* nearestLabel() const { return m_nearest; }
    /// Names the prompt and the memory state the answers belong to; says when they are stale or
    /// a request is queued.
    QLabel* resultLabel() const { return m_resultLabel; }
    /// The answers shown were made against another memory than the current one.
    bool isStale() const { return m_stale; }
    /// The last answer shown (empty prompt: none yet).
    const CompareView& last() const { return m_last; }
    double threshold() const;
    /// Sets the slider (and the threshold the next query uses).
    void setThreshold(double threshold);

public slots:
    /// Asks the engine for the prompt in the prompt line.
    void compareNow();
    void showResult(const larimar::ui::CompareView& view);
    void setInfo(const larimar::ui::EngineInfo& info);
    /// Forgets the last answer (another workspace was opened).
    void clearResult();
    /// The workspace changed: answers made against another memory are marked stale.
    void setState(const larimar::ui::EngineStatePtr& state);

private:
    void updateScopeLabel();
    void updateResultLabel();
    /// Asks the engine (every query of the panel goes through here).
    void request(const QString& prompt);
    void clearAnswers();

    Engine* m_engine;
    QLineEdit* m_prompt;
    QPushButton* m_compare;
    TokenView* m_without;
    TokenView* m_with;
    TokenTableModel* m_withoutTokens;
    TokenTableModel* m_withTokens;
    QLabel* m_diffLabel;
    ScopeGauge* m_gauge;
    QSlider* m_slider;
    QLabel* m_thresholdLabel;
    QPushButton* m_keep;
    double m_workspaceThreshold = 0.5;
    QLabel* m_scopeLabel;
    QLabel* m_nearest;
    CompareView m_last;
    QTimer* m_requery;
    bool m_thresholdTouched = false;
    bool m_programmatic = false;
    QLabel* m_resultLabel;
    bool m_stale = false;
    EngineStatePtr m_state;
    QString m_requested; ///< the newest prompt asked and not yet answered
    int m_inFlight = 0;  ///< requests not yet answered
};

} // namespace larimar::ui
