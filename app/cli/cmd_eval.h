#pragma once
#include "app/cli/cmd_eval_scope.h"
#include "app/cli/cmd_eval_experiment.h"
#include "app/cli/command.h"

namespace larimar::cli {

/// `larimar eval counterfact|zsre|forget ...`: the Larimar paper's experiments (core/eval/edit_eval.h),
/// one EvalExperiment per subcommand (cmd_eval_edits.cpp, cmd_eval_forget.cpp).
class EvalCommand : public Command {
public:
    std::string name() const override { return "eval"; }
    std::string description() const override { return "Measure a model the way the Larimar paper does"; }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    std::vector<std::unique_ptr<EvalExperiment>> m_experiments;
    CLI::App* m_scope = nullptr; // eval scope (cmd_eval_scope.cpp)
    EvalScopeArgs m_scopeArgs;
};

} // namespace larimar::cli
