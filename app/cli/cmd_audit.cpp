#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"

#include "core/util/error.h"

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
}

int AuditCommand::execute(Context& ctx) {
    if (!m_verify->parsed() && !m_head->parsed())
        throw UserError("audit: say what to do, e.g. 'larimar audit verify' or 'larimar audit head'");
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
