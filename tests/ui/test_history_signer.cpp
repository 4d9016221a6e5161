// The History panel's "Signed by" column (issue 20): the trusted signer's name, and a badge for
// unsigned edits and for edits signed by a key the workspace does not trust.
#include "ui/table_models.h"

#include <QAbstractItemModelTester>
#include <QBrush>

#include <gtest/gtest.h>

using namespace larimar::ui;

namespace {

EditRow row(qint64 id, const QString& signer, const QString& name) {
    EditRow r;
    r.id = id;
    r.op = QStringLiteral("write");
    r.signer = signer;
    r.signerName = name;
    return r;
}

} // namespace

TEST(HistorySigner, ShowsTheSignerAndBadgesUnsignedAndUntrusted) {
    HistoryTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    const QString key(64, QLatin1Char('a'));
    model.setEdits({row(1, {}, {}), row(2, key, QStringLiteral("alice")), row(3, QString(64, QLatin1Char('b')), {})});
    const auto cell = [&](int r, int role = Qt::DisplayRole) {
        return model.index(r, HistoryTableModel::Signer).data(role);
    };
    EXPECT_EQ(model.headerData(HistoryTableModel::Signer, Qt::Horizontal).toString(), QStringLiteral("Signed by"));
    EXPECT_TRUE(cell(0).toString().contains(QStringLiteral("unsigned")));
    EXPECT_EQ(cell(1).toString(), QStringLiteral("alice"));
    EXPECT_TRUE(cell(2).toString().contains(QStringLiteral("untrusted bbbbbbbbbbbb")));
    EXPECT_TRUE(cell(1, Qt::ToolTipRole).toString().contains(key));
    EXPECT_TRUE(cell(0, Qt::ForegroundRole).canConvert<QBrush>()) << "badge colour";
    EXPECT_FALSE(cell(1, Qt::ForegroundRole).isValid()) << "a trusted signer needs no badge";
}
