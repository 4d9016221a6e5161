#pragma once
#include "app/cli/command.h"

namespace larimar::cli {

/// `larimar import-model SRC DST [--dtype f32|f16] [--force]`: turns a GGUF file or a Hugging Face
/// directory (GPT-2, Llama, SmolLM, Qwen2, BERT) into a model directory the workbench loads
/// (core/model/pretrained.h); the result is loaded back and checked before it replaces DST.
class ImportModelCommand : public Command {
public:
    std::string name() const override { return "import-model"; }
    std::string description() const override {
        return "Import a GGUF file or a Hugging Face model directory (GPT-2, Llama, SmolLM, Qwen2, BERT)";
    }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    std::string m_source, m_dest, m_dtype = "f32";
    bool m_force = false;
};

} // namespace larimar::cli
