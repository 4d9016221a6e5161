#pragma once
/// The libtorch side of core/model/pretrained.h: a pretrained causal LM as a module, for tests,
/// benchmarks and code that drives the decoder directly (generation.h).
#include "core/model/causal_lm.h"
#include "core/model/tokenizer.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace larimar {

struct PretrainedLm {
    std::shared_ptr<torch::nn::Module> module; ///< owns the weights (LlamaImpl or DecoderImpl)
    CausalLm* lm = nullptr;                    ///< the same object as a CausalLm
    std::optional<Tokenizer> tokenizer;        ///< absent when the directory has no tokenizer files
    nlohmann::json config;                     ///< the Hugging Face config.json (from GGUF: as converted)
    std::string architecture, name, version, weightsSha256;
    bool addBos = false;                       ///< the tokenizer puts bos before a prompt
    std::int64_t parameters = 0;
};

/// Loads a .gguf file or a Hugging Face directory (llama, qwen2, gpt2) onto device, in eval
/// mode. Throws UserError as loadPretrainedTextModel does, except that a missing tokenizer is
/// allowed here.
PretrainedLm loadPretrainedLm(const std::string& path, torch::Device device = torch::kCPU);

} // namespace larimar
