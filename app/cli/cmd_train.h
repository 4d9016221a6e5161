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

/// `larimar export-model SOURCE DEST [--dtype f16|f32] [--force]`: copies a trained model (a
/// training run's model/ or checkpoint/ directory) into a clean model directory: config,
/// tokenizer, model card and the weights, optionally stored as float16 (half the size; the
/// loader widens them to float32). The result is loaded back and checked before it replaces DEST.
class ExportModelCommand : public Command {
public:
    std::string name() const override { return "export-model"; }
    std::string description() const override {
        return "Copy a trained model (e.g. a training checkpoint) into a model directory, optionally as float16";
    }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    std::string m_source, m_dest, m_dtype = "f32";
    bool m_force = false;
};

} // namespace larimar::cli
