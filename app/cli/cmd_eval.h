#pragma once
#include "app/cli/command.h"

namespace larimar::cli {

/// `larimar eval counterfact FILE [--limit N] [--csv FILE] [--no-generation]`: the single-edit
/// protocol (core/eval/counterfact_eval.h) on a CounterFact (ROME or EasyEdit) or zsRE file.
class EvalCommand : public Command {
public:
    std::string name() const override { return "eval"; }
    std::string description() const override { return "Measure a model the way the Larimar paper does"; }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    CLI::App* m_counterfact = nullptr;
    std::string m_file, m_csv;
    int m_limit = 0;
    bool m_noGeneration = false;
};

} // namespace larimar::cli
