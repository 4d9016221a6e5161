// larimar-workbench: thin main. Usage: larimar-workbench [--model DIR] [WORKSPACE]
// Starts with the bundled model (or --model DIR) and the given workspace, else the last one
// used, else a new default one, with no questions asked. Options for scripts and CI:
//   --screenshot FILE   wait until the model and workspace are loaded, save the window as PNG, exit
//   --tab NAME          show facts|query|memory|history|evaluation first (with --screenshot: that panel)
//   --prompt TEXT       ask TEXT in Query & compare once loaded (screenshots with real answers)
//   --evaluate FILE     run the Evaluation tab on FILE once loaded (with --screenshot: when it is done)
//   --eval-mode MODE    single, batch or sequential for --evaluate (default: the last one used)
//   --size WxH          window size (screenshots at 1093x700, 1920x1080)
//   --import FILE       read FILE once loaded and show its import preview (with --screenshot the
//                       dialog is saved beside the window as FILE-dialog.png)
//   --quit-after-start  start, wait until loaded, print the start-up time and exit 0 (smoke test)
#include "core/model/text_model.h"
#include "core/scope/scope_detectors.h"
#include "core/util/model_paths.h"
#include "ui/evaluation_panel.h"
#include "ui/facts_panel.h"
#include "ui/history_panel.h"
#include "ui/main_window.h"
#include "ui/query_panel.h"
#include "ui/table_models.h"

#include <QApplication>
#include <QComboBox>
#include <QCommandLineParser>
#include <QDialog>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QLineEdit>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace {
/// Milliseconds since this process was started (exec), from /proc/self/stat; -1 if unknown.
/// Counts the dynamic loading of Qt and libtorch that happens before main().
long long msSinceExec() {
    std::ifstream in("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) return -1;
    std::istringstream fields(stat.substr(paren + 2));
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i) {
        if (i != 22) continue;
        timespec now{};
        clock_gettime(CLOCK_BOOTTIME, &now);
        const double start = std::stod(field) / static_cast<double>(sysconf(_SC_CLK_TCK));
        return static_cast<long long>((now.tv_sec + now.tv_nsec * 1e-9 - start) * 1000.0);
    }
    return -1;
}
} // namespace

int main(int argc, char** argv) {
    QElapsedTimer clock;
    clock.start();
    QApplication app(argc, argv);
    // The program's name keys the settings and the data folder: the default workspace is
    // $XDG_DATA_HOME/larimar-workbench/default.larimar, the one the larimar CLI uses too.
    QApplication::setApplicationName(QStringLiteral("larimar-workbench"));
    QApplication::setApplicationDisplayName(QStringLiteral("Larimar Workbench"));
    QApplication::setApplicationVersion(QStringLiteral(LARIMAR_VERSION));
    QGuiApplication::setDesktopFileName(QStringLiteral("larimar-workbench"));
    QApplication::setWindowIcon(larimar::ui::appIcon());

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Write, forget and audit the facts of a Larimar language model"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("workspace"),
                                 QStringLiteral("Workspace file to open or create (default: the last one used)."),
                                 QStringLiteral("[workspace]"));
    QCommandLineOption model(QStringLiteral("model"),
                             QStringLiteral("Model directory (default: the bundled model, or $LARIMAR_MODEL_DIR)."),
                             QStringLiteral("dir"));
    QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                  QStringLiteral("Wait until loaded, save the window as PNG and exit."),
                                  QStringLiteral("file"));
    QCommandLineOption tab(QStringLiteral("tab"),
                           QStringLiteral("Panel to show: facts, query, memory, history or evaluation."),
                           QStringLiteral("name"));
    QCommandLineOption prompt(QStringLiteral("prompt"), QStringLiteral("Ask this prompt once loaded."),
                              QStringLiteral("text"));
    QCommandLineOption size(QStringLiteral("size"), QStringLiteral("Window size, e.g. 1280x800."),
                            QStringLiteral("WxH"));
    QCommandLineOption scope(
        QStringLiteral("scope"),
        QStringLiteral("Scope detector: auto (ESD when its assets are installed, else ISD), esd or isd."),
        QStringLiteral("kind"), QStringLiteral("auto"));
    QCommandLineOption quitAfterStart(QStringLiteral("quit-after-start"),
                                      QStringLiteral("Start, wait until loaded, print the start-up time and exit 0."));
    QCommandLineOption import(QStringLiteral("import"), QStringLiteral("Preview importing this file once loaded."),
                              QStringLiteral("file"));
    QCommandLineOption evaluate(QStringLiteral("evaluate"),
                                QStringLiteral("Run the evaluation on this CounterFact or zsRE file once loaded."),
                                QStringLiteral("file"));
    QCommandLineOption evalMode(QStringLiteral("eval-mode"),
                                QStringLiteral("Evaluation mode for --evaluate: single, batch or sequential."),
                                QStringLiteral("mode"));
    parser.addOptions({model, scope, screenshot, tab, prompt, size, import, evaluate, evalMode, quitAfterStart});
    parser.process(app);

    larimar::ui::MainWindow window;
    if (parser.isSet(size)) {
        const auto parts = parser.value(size).split(QLatin1Char('x'));
        if (parts.size() == 2) window.resize(parts[0].toInt(), parts[1].toInt());
    }
    if (parser.isSet(tab)) {
        const QStringList names = {QStringLiteral("facts"), QStringLiteral("query"), QStringLiteral("memory"),
                                   QStringLiteral("history"), QStringLiteral("evaluation")};
        const int i = static_cast<int>(names.indexOf(parser.value(tab).toLower()));
        if (i < 0) {
            std::fprintf(stderr, "larimar-workbench: --tab takes facts, query, memory, history or evaluation\n");
            return 2;
        }
        window.tabs()->setCurrentIndex(i);
    }

    if (parser.isSet(evalMode)) {
        const QStringList modes = {QStringLiteral("single"), QStringLiteral("batch"), QStringLiteral("sequential")};
        const int i = static_cast<int>(modes.indexOf(parser.value(evalMode).toLower()));
        if (i < 0) {
            std::fprintf(stderr, "larimar-workbench: --eval-mode takes single, batch or sequential\n");
            return 2;
        }
        window.evaluationPanel()->modeBox()->setCurrentIndex(i);
    }

    const QString workspace = parser.positionalArguments().isEmpty()
                                  ? larimar::ui::MainWindow::startWorkspacePath()
                                  : QFileInfo(parser.positionalArguments().front()).absoluteFilePath();
    const std::string modelDir = parser.value(model).toStdString();
    const QString label = modelDir.empty() ? QStringLiteral("the bundled model") : parser.value(model);
    // zsRE answers are split into the model's BPE tokens in the Evaluation tab, as `larimar eval` does.
    try {
        window.evaluationPanel()->setTokenizerDir(QString::fromStdString(larimar::resolveModelDir(modelDir)));
    } catch (const std::exception&) {
        // No model directory: loading says so; the evaluation splits answers into words.
    }
    // The same detector the CLI uses, made for each workspace opened.
    larimar::ui::ScopeFactory scopeFactory;
    scopeFactory.make = [modelDir, kind = parser.value(scope).toStdString()](
                            const std::shared_ptr<larimar::TextModel>& m, const std::string& path,
                            const larimar::ui::OpenProgress& progress) {
        larimar::ScopeDetectorSetup s;
        s.kind = kind;
        s.model = m;
        s.modelDir = larimar::resolveModelDir(modelDir); // the ISD's classifier lives beside the model
        s.workspacePath = path;
        s.progress = progress;
        return larimar::makeScopeDetector(s);
    };
    scopeFactory.connect = [](larimar::ScopeDetector& d, const larimar::Editor& e) {
        larimar::connectScopeDetector(d, e);
    };
    // Runs on the engine's worker thread: the window is up while the model loads.
    window.start(
        [modelDir]() -> std::shared_ptr<larimar::TextModel> {
            return larimar::loadTextModel(larimar::resolveModelDir(modelDir));
        },
        label, workspace, scopeFactory);
    window.show();

    const bool shoot = parser.isSet(screenshot);
    if (shoot || parser.isSet(quitAfterStart) || parser.isSet(prompt) || parser.isSet(import) ||
        parser.isSet(evaluate)) {
        const QString file = parser.value(screenshot);
        const QString importFile = parser.value(import);
        const QString evalFile =
            parser.isSet(evaluate) ? QFileInfo(parser.value(evaluate)).absoluteFilePath() : QString();
        const QString question = parser.value(prompt);
        const bool quit = shoot || parser.isSet(quitAfterStart);
        auto* engine = window.engine();
        // The first time the engine is idle the model and the workspace are loaded (or failed).
        struct Progress {
            bool ready = false, asked = false, selected = false, imported = false, evaluated = false;
        };
        auto step = std::make_shared<Progress>();
        QObject::connect(
            engine, &larimar::ui::Engine::idle, &window,
            [&window, engine, file, question, importFile, evalFile, quit, step, &clock] {
                if (!step->ready) {
                    step->ready = true;
                    std::fprintf(stderr, "larimar-workbench: ready %lld ms after start (%lld ms in main; %s)\n",
                                 msSinceExec(), static_cast<long long>(clock.elapsed()),
                                 engine->info().modelId.isEmpty() ? "no model loaded"
                                                                  : engine->info().modelId.toUtf8().constData());
                }
                if (!question.isEmpty() && !step->asked && engine->hasWorkspace()) {
                    step->asked = true;
                    window.queryPanel()->promptEdit()->setText(question);
                    window.queryPanel()->compareNow();
                    return;
                }
                if (!importFile.isEmpty() && !step->imported && engine->hasWorkspace()) {
                    step->imported = true;
                    window.importFile(importFile);
                    return;
                }
                if (!evalFile.isEmpty() && !step->evaluated && !engine->info().modelId.isEmpty()) {
                    step->evaluated = true;
                    window.evaluationPanel()->setFile(evalFile);
                    if (window.evaluationPanel()->run()) return; // idle again once it is done
                }
                if (!quit) return;
                // Show a selected fact's write key in the memory panel of a screenshot.
                auto* facts = window.factsPanel();
                if (!step->selected && facts->model()->rowCount() > 0 && !facts->view()->currentIndex().isValid()) {
                    step->selected = true;
                    // ... and the newest edit's details in the history.
                    if (const auto state = engine->state(); state && !state->edits.isEmpty())
                        window.historyPanel()->selectEdit(state->edits.back().id);
                    facts->selectFact(facts->model()->facts().back().id);
                    if (engine->pending() > 0) return; // the write key request makes the engine idle again
                }
                // A screenshot waits a moment for queued replots; a smoke test need not.
                QTimer::singleShot(file.isEmpty() ? 0 : 200, &window, [&window, file] {
                    int code = 0;
                    if (!file.isEmpty() && !window.grab().save(file)) {
                        std::fprintf(stderr, "larimar-workbench: cannot write %s\n", file.toLocal8Bit().constData());
                        code = 1;
                    }
                    // Dialogs open over the window (an import preview, an error) are saved beside it.
                    if (!file.isEmpty())
                        for (QDialog* d : window.findChildren<QDialog*>())
                            if (d->isVisible()) {
                                QString name = file;
                                name.insert(name.lastIndexOf(QLatin1Char('.')), QStringLiteral("-dialog"));
                                d->grab().save(name);
                            }
                    QApplication::exit(code);
                });
            });
    }
    return app.exec();
}
