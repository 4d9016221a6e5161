#pragma once
#include "app/cli/command.h"

namespace larimar::cli {

/// `larimar train CONFIG [--resume] [--max-minutes M] [--max-steps N]`: trains a Larimar model
/// (see core/train/trainer.h); progress line with loss and ETA on stderr.
class TrainCommand : public Command {
public:
    std::string name() const override { return "train"; }
    std::string description() const override { return "Train a Larimar model from a training config (JSON)"; }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    std::string m_config, m_output, m_initFrom;
    bool m_resume = false;
    double m_maxMinutes = 0;
    long long m_maxSteps = 0;
};

} // namespace larimar::cli
