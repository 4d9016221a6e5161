#include "ui/main_window.h"

#include <QApplication>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace larimar::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(tr("Larimar Workbench"));
    resize(1100, 720);

    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Quit"), QKeySequence::Quit, qApp, &QApplication::quit);
    auto* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Larimar Workbench"), this, &MainWindow::showAbout);

    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    m_heatmap = new QCustomPlot(central);
    m_heatmap->setMinimumHeight(300);
    layout->addWidget(m_heatmap);
    setCentralWidget(central);

    m_status = new QLabel(tr("No model loaded"), this);
    statusBar()->addPermanentWidget(m_status);
}

void MainWindow::showMemory(int rows, int cols, const std::vector<double>& values, const QString& title) {
    m_heatmap->clearPlottables();
    m_heatmap->plotLayout()->clear();
    auto* rect = new QCPAxisRect(m_heatmap);
    m_heatmap->plotLayout()->addElement(0, 0, rect);
    auto* map = new QCPColorMap(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
    map->data()->setSize(cols, rows);
    map->data()->setRange(QCPRange(0, cols - 1), QCPRange(0, rows - 1));
    for (int k = 0; k < rows; ++k)
        for (int c = 0; c < cols; ++c)
            map->data()->setCell(c, k, values[static_cast<std::size_t>(k) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(c)]);
    auto* scale = new QCPColorScale(m_heatmap);
    m_heatmap->plotLayout()->addElement(0, 1, scale);
    map->setColorScale(scale);
    // Diverging colours centred on zero: sign matters in a memory matrix.
    map->setGradient(QCPColorGradient::gpPolar);
    map->setInterpolate(false);
    double extent = 0;
    for (double v : values) extent = std::max(extent, std::abs(v));
    map->setDataRange(QCPRange(-std::max(extent, 1e-12), std::max(extent, 1e-12)));
    rect->axis(QCPAxis::atBottom)->setLabel(tr("dimension (C = %1)").arg(cols));
    rect->axis(QCPAxis::atLeft)->setLabel(tr("slot (K = %1)").arg(rows));
    rect->axis(QCPAxis::atLeft)->setRangeReversed(true);
    m_heatmap->rescaleAxes();
    m_heatmap->replot();
    m_status->setText(title);
}

void MainWindow::showAbout() {
    QMessageBox::about(this, tr("About Larimar Workbench"),
                       tr("<b>Larimar Workbench %1</b><p>Write, forget and audit the facts of a Larimar "
                          "language model with an episodic memory.</p>")
                           .arg(QStringLiteral(LARIMAR_VERSION)));
}

} // namespace larimar::ui
