// The GUI's audit report file (issue 20.5): PDF through QTextDocument + QPdfWriter, HTML as it
// is, the hostile text shown as text (not markup) in the rendered document, and the refusals.
#include "../core/fake_text_model.h"

#include "core/editor/editor.h"
#include "core/store/audit_report.h"
#include "core/util/error.h"
#include "ui/audit_report_file.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTextDocument>

#include <gtest/gtest.h>

using namespace larimar;
using larimar::ui::writeAuditReportFile;

namespace {

const std::string kHostile = "<script>alert(1)</script> lives in Paris.";

QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

TEST(AuditReportFile, WritesPdfAndHtmlAndRefusesOtherTargets) {
    QTemporaryDir dir;
    ASSERT_TRUE(dir.isValid());
    const std::string ws = dir.filePath(QStringLiteral("ws.larimar")).toStdString();
    EditorOptions o;
    o.actor = "alice";
    Editor ed(test::makeFakeModel(), ws, o);
    ed.write(kHostile, {}, "hostile");
    ed.write("The Louvre is in Madrid.");
    const auto doc = makeAuditReport(ed.workspace());
    ASSERT_TRUE(doc.verification.ok);

    // Rendered, the hostile fact is text: the escaping holds in QTextDocument too.
    QTextDocument rendered;
    rendered.setHtml(QString::fromStdString(doc.html));
    EXPECT_TRUE(rendered.toPlainText().contains(QString::fromStdString(kHostile)));
    EXPECT_TRUE(rendered.toPlainText().contains(QStringLiteral("PASSED")));

    const QString pdf = dir.filePath(QStringLiteral("report.pdf"));
    writeAuditReportFile(pdf, doc.html, ws);
    const QByteArray bytes = readAll(pdf);
    EXPECT_TRUE(bytes.startsWith("%PDF-"));
    EXPECT_GT(bytes.size(), 1000);

    const QString html = dir.filePath(QStringLiteral("report.HTML"));
    writeAuditReportFile(html, doc.html, ws);
    EXPECT_EQ(readAll(html).toStdString(), doc.html);

    EXPECT_THROW(writeAuditReportFile(dir.filePath(QStringLiteral("report.txt")), doc.html, ws), UserError);
    EXPECT_THROW(writeAuditReportFile(QString::fromStdString(ws + ".pdf"), doc.html, ws + ".pdf"), UserError);
    EXPECT_THROW(writeAuditReportFile(dir.path(), doc.html, ws), UserError);
}
