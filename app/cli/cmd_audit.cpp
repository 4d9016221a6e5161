#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"

#include "core/store/audit_report.h"
#include "core/util/error.h"
#include "core/util/file_io.h"
#include "core/util/output_target.h"

#include <cctype>
#include <optional>
#include <ostream>

namespace larimar::cli {

void AuditCommand::setup(CLI::App& app) {
    app.require_subcommand(1);
    m_verify = app.add_subcommand("verify", "Walk the hash chain; name the first row that does not match (exit 1)");
    m_verify->add_option("--expect-head", m_expectHead,
                         "ID:HASH recorded earlier (from 'larimar audit head' or an edit's output): fail unless "
                         "the chain still passes through it, i.e. nothing up to edit ID was changed or removed");
    m_head = app.add_subcommand("head", "Verify the chain and print its head (edit id and hash) to record elsewhere");
    m_report = app.add_subcommand("report", "Write an HTML audit report: every edit, its signer, the facts it added and "
                                            "removed, the verification result and the head (exit 1 when it fails)");
    m_report->add_option("file", m_reportFile, "Output .html file (PDF: File > Audit Report in larimar-workbench)")
        ->required();
    m_report->add_option("--max-facts", m_maxFacts, "List at most N facts per edit (default 0: all)")
        ->check(CLI::NonNegativeNumber);
}

namespace {

/// `audit report FILE`: the verification runs now, so the report says what holds when it is made.
int writeReport(Context& ctx, const std::string& file, std::int64_t maxFacts) {
    const auto dot = file.rfind('.');
    std::string ext = dot == std::string::npos ? "" : file.substr(dot + 1);
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == "pdf")
        throw UserError("audit report: PDF needs the GUI build (Qt); use larimar-workbench's File > Audit Report, or "
                        "write " + file.substr(0, dot) + ".html and print that to PDF");
    if (ext != "html" && ext != "htm")
        throw UserError("audit report: the file must end in .html (or .pdf in the GUI), not '" + file + "'");
    checkOutputTarget(file, workspacePath(ctx.global));
    auto ws = openWorkspace(ctx, true);
    AuditReportOptions o;
    o.generator = "larimar (command line)";
    o.maxFactsPerEdit = maxFacts;
    auto bar = ctx.progress("audit");
    const auto doc = makeAuditReport(*ws, o, [&](std::int64_t done, std::int64_t total) {
        if (bar && total > 0) bar(static_cast<double>(done) / static_cast<double>(total));
    });
    ctx.endProgress();
    writeFileAtomically(file, doc.html);
    const AuditReport& r = doc.verification;
    if (ctx.global.json) {
        auto j = auditJson(r);
        j["workspace"] = ws->path();
        j["report"] = file;
        j["edits"] = doc.edits;
        ctx.out << j.dump(2) << "\n";
    } else {
        ctx.out << "wrote the audit report (" << doc.edits << " edits) to " << file << "\n" << r.message() << "\n";
        if (r.ok && r.head) printChainHead(ctx.out, r.head->editId, r.head->hash);
        else ctx.err << "larimar audit: the history of " << ws->path() << " was changed; the report says FAILED\n";
    }
    return r.ok ? 0 : 1;
}

} // namespace

int AuditCommand::execute(Context& ctx) {
    if (m_report->parsed()) return writeReport(ctx, m_reportFile, m_maxFacts);
    if (!m_verify->parsed() && !m_head->parsed())
        throw UserError("audit: say what to do, e.g. 'larimar audit verify', 'larimar audit head' or "
                        "'larimar audit report FILE.html'");
    std::optional<ChainHead> expected;
    if (m_verify->parsed() && !m_expectHead.empty()) expected = ChainHead::parse(m_expectHead);
    // Read-only: an auditor checks a copy (or an archived, write-protected file) as it is.
    auto ws = openWorkspace(ctx, true);
    auto bar = ctx.progress("audit");
    const auto progress = [&](std::int64_t done, std::int64_t total) {
        if (bar && total > 0) bar(static_cast<double>(done) / static_cast<double>(total));
    };
    const AuditReport r = expected ? ws->verifyChain(*expected, progress) : ws->verifyChain(progress);
    ctx.endProgress();
    if (ctx.global.json) {
        auto j = auditJson(r);
        j["workspace"] = ws->path();
        if (expected) j["expected_head"] = expected->toString();
        ctx.out << j.dump(2) << "\n";
    } else if (m_head->parsed() && r.ok) {
        printChainHead(ctx.out, r.head->editId, r.head->hash);
    } else {
        ctx.out << r.message() << "\n";
        if (r.ok && r.head) {
            if (expected) ctx.out << "the chain passes through the recorded head " << expected->toString() << "\n";
            printChainHead(ctx.out, r.head->editId, r.head->hash);
        }
    }
    if (!r.ok && !ctx.global.json) {
        if (m_head->parsed()) ctx.err << "larimar audit: " << r.message() << "\n";
        ctx.err << "larimar audit: the history of " << ws->path() << " was changed"
                << (m_head->parsed() ? "; there is no trustworthy head to record\n" : "\n");
    }
    return r.ok ? 0 : 1;
}

} // namespace larimar::cli
