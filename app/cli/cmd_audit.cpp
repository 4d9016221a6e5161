#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"

#include "core/util/error.h"

#include <ostream>

namespace larimar::cli {

void AuditCommand::setup(CLI::App& app) {
    app.require_subcommand(1);
    m_verify = app.add_subcommand("verify", "Walk the hash chain; name the first row that does not match (exit 1)");
}

int AuditCommand::execute(Context& ctx) {
    if (!m_verify->parsed()) throw UserError("audit: say what to do, e.g. 'larimar audit verify'");
    auto ws = openWorkspace(ctx);
    auto bar = ctx.progress("audit");
    const AuditReport r = ws->verifyChain([&](std::int64_t done, std::int64_t total) {
        if (bar && total > 0) bar(static_cast<double>(done) / static_cast<double>(total));
    });
    ctx.endProgress();
    if (ctx.global.json) {
        auto j = auditJson(r);
        j["workspace"] = ws->path();
        ctx.out << j.dump(2) << "\n";
    } else {
        ctx.out << r.message() << "\n";
    }
    if (!r.ok && !ctx.global.json) ctx.err << "larimar audit: the history of " << ws->path() << " was changed\n";
    return r.ok ? 0 : 1;
}

} // namespace larimar::cli
