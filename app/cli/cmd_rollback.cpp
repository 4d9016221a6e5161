#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"

#include <ostream>

namespace larimar::cli {

void RollbackCommand::setup(CLI::App& app) {
    if (!m_undo) app.add_option("edit", m_edit, "The edit to go back to (0: before any edit)")->required();
    app.add_option("--reason", m_reason, "Why (kept in the audited history)");
    app.add_option("--actor", m_actor, "Who (default: $USER)");
}

int RollbackCommand::execute(Context& ctx) {
    const std::int64_t target = m_undo ? 0 : parseId(m_edit, "an edit id");
    auto ed = openEditor(ctx, m_actor);
    const EditResult r = m_undo ? ed->undoLast(m_reason) : ed->rollback(target, m_reason);
    // Another user may have edited since this user's last edit: name every edit taken back
    // that someone else made, so nobody's work disappears unannounced.
    nlohmann::json others = nlohmann::json::array();
    std::string named;
    for (std::int64_t id = r.targetEdit + 1; id < r.editId; ++id) {
        const Edit e = ed->workspace().edit(id);
        if (e.actor == ed->actor()) continue;
        others.push_back({{"id", e.id}, {"op", toString(e.op)}, {"actor", e.actor}});
        named += (named.empty() ? "" : ", ") + std::string("edit ") + std::to_string(e.id) + " (" + toString(e.op) +
                 " by " + e.actor + ")";
    }
    if (ctx.global.json) {
        auto j = editResultJson(r);
        j["undid_others"] = others;
        ctx.out << j.dump(2) << "\n";
        return 0;
    }
    printEditResult(ctx.out, r);
    if (!named.empty()) ctx.err << "note: this took back " << shown(named) << ", not made by " << shown(ed->actor()) << "\n";
    return 0;
}

} // namespace larimar::cli
