#include "ui/first_run_card.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace larimar::ui {

QString FirstRunCard::exampleFact() {
    return QStringLiteral("The Eiffel Tower is located in Rome.");
}
QString FirstRunCard::examplePrompt() {
    return QStringLiteral("The Eiffel Tower is located in");
}

FirstRunCard::FirstRunCard(QWidget* parent) : QFrame(parent) {
    setObjectName(QStringLiteral("firstRunCard"));
    setFrameShape(QFrame::StyledPanel);
    setAutoFillBackground(true);
    QPalette p = palette();
    p.setColor(QPalette::Window, p.color(QPalette::AlternateBase));
    setPalette(p);

    auto* title = new QLabel(tr("<b>Getting started</b>: teach the model a fact, see what changes, take it back."), this);
    title->setWordWrap(true);
    for (auto& l : m_steps) {
        l = new QLabel(this);
        l->setWordWrap(true);
        l->setTextFormat(Qt::RichText);
    }
    m_example = new QPushButton(tr("Fill In an Example"), this);
    m_example->setObjectName(QStringLiteral("firstRunExample"));
    m_example->setToolTip(tr("Type \"%1\" into the New fact line; then press Write Fact").arg(exampleFact()));
    connect(m_example, &QPushButton::clicked, this, &FirstRunCard::exampleRequested);
    m_ask = new QPushButton(tr("Ask It"), this);
    m_ask->setObjectName(QStringLiteral("firstRunAsk"));
    m_ask->setToolTip(tr("Ask \"%1\" in Query && Compare").arg(examplePrompt()));
    connect(m_ask, &QPushButton::clicked, this, &FirstRunCard::askRequested);
    m_samples = new QPushButton(tr("Load 5 Sample Facts"), this);
    m_samples->setObjectName(QStringLiteral("firstRunSamples"));
    m_samples->setToolTip(tr("Write five made-up facts (shipped with the workbench) as one import edit"));
    connect(m_samples, &QPushButton::clicked, this, &FirstRunCard::samplesRequested);
    m_dismiss = new QPushButton(tr("Dismiss"), this);
    m_dismiss->setObjectName(QStringLiteral("firstRunDismiss"));
    m_dismiss->setToolTip(tr("Hide this card for good (Help > Handbook explains the same)"));
    connect(m_dismiss, &QPushButton::clicked, this, &FirstRunCard::finished);

    auto* grid = new QGridLayout;
    grid->addWidget(m_steps[WriteStep], 0, 0);
    grid->addWidget(m_example, 0, 1);
    grid->addWidget(m_steps[CompareStep], 1, 0);
    grid->addWidget(m_ask, 1, 1);
    grid->addWidget(m_steps[ForgetStep], 2, 0);
    grid->setColumnStretch(0, 1);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(new QLabel(tr("Or start with a few made-up facts:"), this));
    buttons->addWidget(m_samples);
    buttons->addStretch(1);
    buttons->addWidget(m_dismiss);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(title);
    layout->addLayout(grid);
    layout->addLayout(buttons);
    updateSteps();
}

void FirstRunCard::markDone(Step step) {
    if (m_done[step]) return;
    m_done[step] = true;
    updateSteps();
    if (m_done[WriteStep] && m_done[CompareStep] && m_done[ForgetStep]) emit finished();
}

void FirstRunCard::updateSteps() {
    const QString texts[StepCount] = {
        tr("<b>1. Write a fact.</b> Type a sentence into <i>New fact</i> below, e.g. \"%1\", and press "
           "<i>Write Fact</i>.")
            .arg(exampleFact().toHtmlEscaped()),
        tr("<b>2. Compare.</b> In <i>Query &amp; Compare</i>, ask \"%1\": the answer with the memory uses your "
           "fact, the plain model's does not.")
            .arg(examplePrompt().toHtmlEscaped()),
        tr("<b>3. Forget it.</b> Select the fact here and press <i>Forget Selected</i> (with a reason); every "
           "step is in the <i>History</i> tab and Ctrl+Z walks back.")};
    for (int i = 0; i < StepCount; ++i)
        m_steps[i]->setText((m_done[i] ? QStringLiteral("&#10004; <span style='color:gray'>%1</span>") : QStringLiteral("%1")).arg(texts[i]));
    m_example->setEnabled(!m_done[WriteStep]);
    m_ask->setEnabled(!m_done[CompareStep]);
}

} // namespace larimar::ui
