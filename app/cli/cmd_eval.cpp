#include "app/cli/cmd_eval.h"

#include "core/util/error.h"

namespace larimar::cli {

void EvalCommand::setup(CLI::App& app) {
    app.require_subcommand(1);
    m_experiments = makeEvalExperiments(); // counterfact, zsre, forget, latents: cmd_eval_*.cpp
    for (auto& e : m_experiments) e->setup(app);
    m_scope = setupEvalScope(app, m_scopeArgs);
}

int EvalCommand::execute(Context& ctx) {
    if (m_scope && m_scope->parsed()) return executeEvalScope(ctx, m_scopeArgs);
    for (auto& e : m_experiments)
        if (e->parsed()) return e->execute(ctx);
    throw UserError("choose an experiment; see larimar eval --help");
}

} // namespace larimar::cli
