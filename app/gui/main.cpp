// larimar-workbench: thin main. Options for scripts and CI:
//   --screenshot FILE   render the window, save it as PNG and exit
//   --quit-after-start  show the window, process events once and exit 0 (smoke test)
#include "core/memory/episodic_memory.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QScreen>
#include <QTimer>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Larimar Workbench"));
    QApplication::setOrganizationName(QStringLiteral("Larimar"));
    QApplication::setApplicationVersion(QStringLiteral(LARIMAR_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Edit the facts of a Larimar language model"));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption screenshot(QStringLiteral("screenshot"), QStringLiteral("Save the window as PNG and exit."),
                                  QStringLiteral("file"));
    QCommandLineOption quitAfterStart(QStringLiteral("quit-after-start"),
                                      QStringLiteral("Start, draw the window once and exit (smoke test)."));
    parser.addOption(screenshot);
    parser.addOption(quitAfterStart);
    parser.process(app);

    larimar::ui::MainWindow window;
    // Until a model is loaded, show the memory an empty episodic memory holds: its prior.
    const int k = 64, c = 128;
    const Eigen::MatrixXd prior = Eigen::MatrixXd::Identity(k, c);
    larimar::EpisodicMemory memory(prior, prior);
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> m = memory.matrix();
    window.showMemory(k, c, std::vector<double>(m.data(), m.data() + m.size()),
                      QObject::tr("No model loaded: empty memory, K = %1, C = %2").arg(k).arg(c));
    window.show();

    if (parser.isSet(screenshot) || parser.isSet(quitAfterStart)) {
        const QString file = parser.value(screenshot);
        QTimer::singleShot(300, &window, [&window, file] {
            int code = 0;
            if (!file.isEmpty() && !window.grab().save(file)) code = 1;
            QApplication::exit(code);
        });
    }
    return app.exec();
}
