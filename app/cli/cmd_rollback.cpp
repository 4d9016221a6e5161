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
    if (ctx.global.json) {
        ctx.out << editResultJson(r).dump(2) << "\n";
        return 0;
    }
    printEditResult(ctx.out, r);
    return 0;
}

} // namespace larimar::cli
