#include "ui/main_window.h"

#include <gtest/gtest.h>
#include <qcustomplot.h>

TEST(MainWindow, HeatmapHasOneCellPerSlotAndDimension) {
    larimar::ui::MainWindow w;
    const int k = 8, c = 12;
    std::vector<double> values(static_cast<std::size_t>(k * c));
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i);
    w.showMemory(k, c, values, QStringLiteral("test"));
    auto* plot = w.findChild<QCustomPlot*>();
    ASSERT_NE(plot, nullptr);
    ASSERT_EQ(plot->plottableCount(), 1);
    auto* map = qobject_cast<QCPColorMap*>(plot->plottable(0));
    ASSERT_NE(map, nullptr);
    EXPECT_EQ(map->data()->keySize(), c);
    EXPECT_EQ(map->data()->valueSize(), k);
    // Row-major input: slot 2, dimension 5 holds 2 * c + 5.
    EXPECT_EQ(map->data()->cell(5, 2), 2.0 * c + 5);
    EXPECT_EQ(map->dataRange().upper, k * c - 1.0);
    EXPECT_EQ(map->dataRange().lower, -(k * c - 1.0)) << "colour scale centred on zero";
}
