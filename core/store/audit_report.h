#pragma once
/// The audit report: one self-contained HTML page for record keeping (EU AI Act Art. 12 asks
/// for automatic logs over a system's lifetime) with the verification result computed when the
/// report is made, the head, the model, and every edit: op, time, actor, signer with a
/// trusted/untrusted/unsigned badge, reason, the facts it added and removed, settings and trust.
///
/// The page loads nothing (no scripts, fonts, images or links to fetch; a Content-Security-Policy
/// forbids them even so), and every text that comes from the workspace is shown as the CLI shows
/// it (control and bidi characters made visible, core/util/terminal_text.h) and then
/// HTML-escaped, so a fact cannot add markup to the page. The HTML is the subset QTextDocument
/// renders too, which is how the GUI makes the PDF (ui/). Pure function of the workspace and the
/// options; one verifyChain walk plus one read of the edits and facts (no vectors).
#include "core/store/audit.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace larimar {

class Workspace;

struct AuditReportOptions {
    std::string generatedAt;          ///< shown as the report's time; empty: now (UTC)
    std::string generatedBy;          ///< who made it (an actor); empty: not shown
    std::string generator = "larimar"; ///< the program, e.g. "larimar 0.9 (CLI)"
    /// Facts listed per edit (the rest counted, "and 2,990 more"); 0: all of them.
    std::int64_t maxFactsPerEdit = 0;
};

struct AuditReportDocument {
    std::string html;
    AuditReport verification; ///< the verifyChain result the report shows
    std::int64_t edits = 0;
};

/// Verifies the chain and writes the report. Works on a workspace whose chain fails (the report
/// says FAILED and where, and shows the edits as stored); opens nothing for writing. progress
/// and cancel as Workspace::verifyChain (a cancelled verification throws UserError).
AuditReportDocument makeAuditReport(Workspace& workspace, const AuditReportOptions& options = {},
                                    const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                                    const std::atomic<bool>* cancel = nullptr);

/// & < > " ' as entities. O(size).
std::string htmlEscape(const std::string& text);

} // namespace larimar
