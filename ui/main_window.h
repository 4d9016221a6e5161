#pragma once
#include <QMainWindow>

class QLabel;
class QCustomPlot;

namespace larimar::ui {

/// The workbench's main window. Panels (facts, query, memory, history) are added as the
/// editor lands; this window owns menus, the status bar and the memory heatmap.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);

    /// Draws the K x C matrix as a heatmap with a colour scale (row-major values).
    void showMemory(int rows, int cols, const std::vector<double>& values, const QString& title);

private:
    void showAbout();

    QCustomPlot* m_heatmap = nullptr;
    QLabel* m_status = nullptr;
};

} // namespace larimar::ui
