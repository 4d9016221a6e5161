#pragma once
/// Writes an audit report (core/store/audit_report.h) as the file the user chose: .html as it is,
/// .pdf through QTextDocument and QPdfWriter (QtGui; the CLI, which links no Qt, writes HTML only).
/// Either way the file is replaced atomically (QSaveFile / writeFileAtomically). Callable from
/// the engine's worker thread (QPdfWriter paints no widget).
#include <QString>

#include <string>

namespace larimar::ui {

/// Throws larimar::UserError for another extension or a target that is the workspace
/// (checkOutputTarget), larimar::Error when the file cannot be written.
void writeAuditReportFile(const QString& path, const std::string& html, const std::string& workspacePath);

} // namespace larimar::ui
