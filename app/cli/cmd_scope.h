#pragma once
/// The scope detector's subcommands (core/scope/scope_detectors.h).
#include "app/cli/command.h"

#include <string>

namespace larimar::cli {

/// `larimar scope TEXT [--threshold T] [--detector auto|esd|isd]`: the scores of both detectors
/// (ESD when its assets exist, ISD always), the decision of the one the editor uses, the nearest
/// fact and its similarity. `larimar scope --set-threshold T` stores the workspace's threshold
/// ("scope.threshold"). Without a loadable model it still runs the ESD on the workspace's facts.
class ScopeCommand : public Command {
public:
    std::string name() const override { return "scope"; }
    std::string description() const override {
        return "Is a prompt about a written fact? Scores of both scope detectors and the decision";
    }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    int executeWithoutModel(Context& ctx, const std::string& path, const std::string& why);
    std::string m_text, m_detector = "auto";
    double m_threshold = -1e300, m_setThreshold = -1e300; // unset
};

/// `larimar train-scope [--data FILE] [--output MODEL_DIR] [--limit N] [--facts-per-memory N]`:
/// trains the internal scope detector's classifier on the model's encodings and saves it as
/// scope_classifier.safetensors in the model directory.
class TrainScopeCommand : public Command {
public:
    std::string name() const override { return "train-scope"; }
    std::string description() const override {
        return "Train the internal scope detector (a classifier on Larimar encodings) from CounterFact data";
    }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    std::string m_data, m_output;
    int m_limit = 0, m_factsPerMemory = 1000, m_iterations = 400;
};

} // namespace larimar::cli
