#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"

#include "core/util/error.h"

#include <ostream>

namespace larimar::cli {

void ForgetCommand::setup(CLI::App& app) {
    app.add_option("ids", m_ids, "Fact ids to forget")->required();
    app.add_option("--reason", m_reason, "Why (required; kept in the audited history)");
    app.add_option("--actor", m_actor, "Who (default: $USER)");
}

int ForgetCommand::execute(Context& ctx) {
    std::vector<std::int64_t> ids;
    for (const auto& s : m_ids) ids.push_back(parseId(s, "a fact id"));
    if (m_reason.find_first_not_of(" \t\r\n") == std::string::npos)
        throw UserError("forget needs --reason TEXT: why the facts are forgotten is kept in the audited history");
    auto ed = openEditor(ctx, m_actor);
    const EditResult r = ed->forget(ids, m_reason);
    if (ctx.global.json) {
        ctx.out << editResultJson(r).dump(2) << "\n";
        return 0;
    }
    ctx.out << "forgot " << r.factIds.size() << " fact(s)\n";
    printEditResult(ctx.out, r);
    return 0;
}

} // namespace larimar::cli
