#pragma once
/// A GGUF language model as a Hugging Face checkpoint: the config.json Hugging Face would have,
/// the tensors under their Hugging Face names (dequantised to float32, laid out as PyTorch
/// stores them), and the tokenizer from the GGUF metadata. The one place that knows GGUF's
/// tensor and metadata names; `larimar import-model` and loading a .gguf directly both use it.
///
/// Architectures: "llama" (Llama 1-3, SmolLM, Mistral-style) and "qwen2". llama.cpp's converter
/// permutes the rows of Llama's q/k projections for its rotary layout; they are permuted back here,
/// so the result equals the original Hugging Face weights (up to quantisation).
#include "core/model/gguf.h"
#include "core/model/tokenizer.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <functional>
#include <map>
#include <string>

namespace larimar {

struct HfCheckpoint {
    nlohmann::json config;                        ///< Hugging Face config.json (model_type, sizes, ...)
    std::map<std::string, torch::Tensor> tensors; ///< float32 CPU tensors, Hugging Face names
    std::string name;                             ///< general.name, or the file's stem
};

/// Converts an opened GGUF file. progress(done, total) is called after each tensor (may be empty).
/// Cost: dequantises every tensor once (about 4 bytes of memory per parameter).
/// Throws UserError naming the architecture, tensor or metadata key that is missing or unsupported.
HfCheckpoint ggufToHf(const gguf::File& file, const std::function<void(std::size_t, std::size_t)>& progress = {});

} // namespace larimar

namespace larimar {
/// The tokenizer a GGUF file's tokenizer.ggml.* metadata describes. Throws UserError for a
/// tokenizer model other than byte-level BPE ("gpt2") or an unknown pre-tokeniser.
Tokenizer ggufTokenizer(const gguf::File& file);
} // namespace larimar
