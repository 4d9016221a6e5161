#pragma once
#include "app/cli/command.h"

namespace larimar::cli {

/// `larimar bench memory [--slots K] [--width C] [--episode N] [--repetitions R] [--warm]`,
/// `larimar bench model ...`, `larimar bench editor [--facts N] [--repetitions R]`:
/// times the engine's operations and prints the medians.
class BenchCommand : public Command {
public:
    std::string name() const override { return "bench"; }
    std::string description() const override { return "Time the engine's operations (memory, ...)"; }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    int executeModel(Context& context);
    int executeEditor(Context& context);
    int executePretrained(Context& context, const std::string& path);
    CLI::App* m_memory = nullptr;
    CLI::App* m_model = nullptr;
    CLI::App* m_editor = nullptr;
    int m_editorFacts = 1000, m_editorRepetitions = 20, m_editorSlots = 128, m_editorWidth = 256;
    std::string m_editorDirectory;
    bool m_editorScope = false;
    std::string m_modelConfig;
    int m_threads = 1;
    int m_decodeTokens = 64;
    std::string m_encoderDir;
    int m_slots = 512, m_width = 768, m_episode = 512, m_repetitions = 200;
    bool m_warm = false;
};

} // namespace larimar::cli
