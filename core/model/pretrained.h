#pragma once
/// Pretrained models from outside: Hugging Face directories (config.json + *.safetensors +
/// tokenizer.json / vocab.txt) of GPT-2, Llama-family (Llama, SmolLM, Qwen2) and BERT models, and
/// GGUF files of Llama-family models. No libtorch in this header.
///
///  - importModel() turns any of them into a model directory the workbench loads: a Hugging Face
///    directory with standard tensor names, float32 (or float16) safetensors, one tokenizer file,
///    and a "larimar" block in config.json that records the source, its SHA-256 and the licence.
///  - loadPretrainedTextModel() runs a causal LM (such a directory, any Hugging Face directory of
///    a supported architecture, or a .gguf file) as a TextModel: a plain language model that
///    answers queries. It has no Larimar memory conditioning, so it cannot write facts (encode()
///    throws a UserError that says so).
#include "core/model/text_model.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace larimar {

/// True when path is a .gguf file or a directory whose config.json has a Hugging Face
/// "model_type" (a Larimar model's config has none). Cheap: reads config.json only.
bool isPretrainedModel(const std::string& path);

struct ImportOptions {
    std::string dtype = "f32"; ///< how weights are stored: "f32" or "f16"
    bool force = false;        ///< replace an existing destination directory
    std::function<void(double)> progress; ///< 0..1 while tensors are converted (may be empty)
};

struct ImportResult {
    std::string architecture;   ///< "llama", "qwen2", "gpt2" or "bert"
    std::string name;           ///< the model's own name (general.name, or the source's file name)
    std::int64_t parameters = 0;
    std::uintmax_t weightsBytes = 0;
    std::string sourceSha256;   ///< of the .gguf file, or of the source's weights
    std::string weightsSha256;  ///< of the written model.safetensors
};

/// Imports src (a .gguf file or a Hugging Face directory) into dst. Writes into dst + ".import-tmp"
/// and loads the result back (generating one token, or embedding one sentence) before it moves
/// into place, so a failed import leaves no half directory. Throws UserError for an unsupported
/// or damaged source (naming the file and problem) or an existing dst without force.
/// Cost: about 4 bytes of memory per parameter (dequantised weights) and one pass over the file.
ImportResult importModel(const std::string& src, const std::string& dst, const ImportOptions& options = {});

/// Loads a causal LM (see above) on "cpu" or "cuda". Throws UserError for a BERT model (an
/// encoder does not generate), an unsupported architecture or damaged files.
std::unique_ptr<TextModel> loadPretrainedTextModel(const std::string& path, const std::string& device = "cpu");

struct PretrainedBenchOptions {
    int promptTokens = 8;    ///< prompt length before generation
    int decodeTokens = 64;   ///< generated per run (greedy, cached, top-5 alternatives as the GUI shows)
    int runs = 3;            ///< timed generations (after one untimed); the median is reported
    int threads = 1;         ///< torch::set_num_threads for the run (restored after); 0: leave as is
    std::string device = "cpu";
    std::string encoderDir;  ///< a BERT sentence encoder (all-MiniLM-L6-v2) to time too; empty: none
};

struct PretrainedBenchResult {
    std::string architecture, name, device;
    int threads = 0;
    std::int64_t parameters = 0;
    double loadSeconds = 0;              ///< file to a model ready to generate
    double decoderMsPerToken = 0;        ///< median run / tokens (prompt pass included)
    double decoderTokensPerSecond = 0;
    double weightBytesPerToken = 0;      ///< bytes of weights one decoding step reads
    double bandwidthGBs = 0;             ///< measured read bandwidth (GB/s, one pass over 1 GiB, best of 3)
    double boundTokensPerSecond = 0;     ///< bandwidth / weight bytes per token
    double encoderLoadSeconds = -1;      ///< -1: no encoder timed
    double encoderMsPerSentence = -1;    ///< median over 200 short sentences, batch 1
};

/// Times a pretrained causal LM (path as loadPretrainedTextModel takes) for `larimar bench model`:
/// load, decoding speed against the memory-bandwidth bound, and optionally a sentence encoder.
PretrainedBenchResult benchmarkPretrained(const std::string& path, const PretrainedBenchOptions& options = {},
                                          const std::function<void(double)>& progress = {});

} // namespace larimar
