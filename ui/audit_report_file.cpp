#include "ui/audit_report_file.h"

#include "core/util/error.h"
#include "core/util/file_io.h"
#include "core/util/output_target.h"

#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>
#include <QSaveFile>
#include <QTextDocument>

namespace larimar::ui {

void writeAuditReportFile(const QString& path, const std::string& html, const std::string& workspacePath) {
    const std::string target = path.toStdString();
    const bool pdf = path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive);
    if (!pdf && !path.endsWith(QLatin1String(".html"), Qt::CaseInsensitive) &&
        !path.endsWith(QLatin1String(".htm"), Qt::CaseInsensitive))
        throw UserError("an audit report is written as .html or .pdf, not '" + target + "'");
    checkOutputTarget(target, workspacePath);
    if (!pdf) {
        writeFileAtomically(target, html);
        return;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        throw Error("cannot write '" + target + "': " + file.errorString().toStdString());
    {
        QPdfWriter writer(&file);
        writer.setPageSize(QPageSize(QPageSize::A4));
        writer.setPageOrientation(QPageLayout::Landscape);
        writer.setPageMargins(QMarginsF(12, 12, 12, 12), QPageLayout::Millimeter);
        writer.setTitle(QStringLiteral("Larimar audit report"));
        writer.setCreator(QStringLiteral("Larimar Workbench"));
        QTextDocument doc;
        doc.setHtml(QString::fromStdString(html)); // the report loads no resources: nothing to fetch
        doc.print(&writer);
    }
    if (!file.commit()) throw Error("cannot write '" + target + "': " + file.errorString().toStdString());
}

} // namespace larimar::ui
