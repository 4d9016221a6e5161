#pragma once
/// The getting-started card on the Facts tab of a new user's first, empty workspace: the basic
/// loop in three steps (write a fact, compare the answers, forget it), each ticked off when done,
/// a button that loads a few sample facts, and Dismiss. It goes away once all three steps are
/// done or it is dismissed, for good (MainWindow stores that in its settings).
#include <QFrame>

class QLabel;
class QPushButton;

namespace larimar::ui {

class FirstRunCard : public QFrame {
    Q_OBJECT
public:
    enum Step { WriteStep, CompareStep, ForgetStep, StepCount };

    explicit FirstRunCard(QWidget* parent = nullptr);

    /// Ticks a step off; the last one emits finished().
    void markDone(Step step);
    bool isDone(Step step) const { return m_done[step]; }
    QPushButton* exampleButton() const { return m_example; }
    QPushButton* askButton() const { return m_ask; }
    QPushButton* samplesButton() const { return m_samples; }
    QPushButton* dismissButton() const { return m_dismiss; }

    /// The example fact step 1 writes and the prompt step 2 asks.
    static QString exampleFact();
    static QString examplePrompt();

signals:
    void exampleRequested();
    void askRequested();
    void samplesRequested();
    /// Every step is done, or the user dismissed the card.
    void finished();

private:
    void updateSteps();

    QLabel* m_steps[StepCount] = {};
    bool m_done[StepCount] = {};
    QPushButton* m_example;
    QPushButton* m_ask;
    QPushButton* m_samples;
    QPushButton* m_dismiss;
};

} // namespace larimar::ui
