#pragma once
/// Text generation and continuation scoring on a Decoder. The option and result types are
/// plain structs (no libtorch), so the GUI and CLI can hold them; the functions take a Decoder
/// and a latent tensor by reference, forward-declared here.
///
/// Reproducibility: sampling draws from a std::mt19937_64 seeded with GenerationOptions::seed
/// and picks tokens on the CPU from the float probabilities, so a seed gives the same text with
/// every libtorch version (on the same device; the GPU may round the logits differently).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace larimar {

class CausalLm;

/// What generation needs from the tokenizer (core/model/tokenizer.h stays out of this header;
/// LarimarModel fills this in from its tokenizer).
struct TokenDecoding {
    std::int32_t bosId = 0;     ///< prepended to every prompt; -1: none (models trained without, e.g. SmolLM2)
    std::int32_t eosId = 0;
    std::int32_t vocabSize = 0; ///< ids at or above this are never generated (0: the decoder's vocab)
    std::function<std::string(const std::vector<std::int32_t>&)> decode; ///< ids -> UTF-8 text
};

struct GenerationOptions {
    int maxNewTokens = 32;
    bool greedy = true;        ///< argmax (ties: lowest id); when false, sample with the settings below
    double temperature = 1.0;  ///< sampling: logits / temperature; must be > 0
    int topK = 0;              ///< sampling: keep the k most likely tokens (0: all)
    double topP = 1.0;         ///< sampling: keep the smallest set with probability >= topP (nucleus)
    std::uint64_t seed = 0;    ///< sampling: the RNG seed
    std::vector<std::string> stopStrings; ///< stop once the generated text contains one (it is cut off)
    bool stopAtEos = true;     ///< stop at the eos token (not part of the text)
    int alternatives = 5;      ///< how many top alternatives to report per token
};

/// A candidate token and its probability under the model (temperature 1, no top-k/top-p).
struct TokenAlternative {
    std::int32_t id = 0;
    std::string text;
    float probability = 0.0f;
};

/// One generated token. text is the token's own bytes decoded, so a token that holds part of a
/// multi-byte character shows as a partial (replacement) character; the full text is exact.
struct GeneratedToken {
    std::int32_t id = 0;
    std::string text;
    float probability = 0.0f;                   ///< model probability (temperature 1, unfiltered)
    std::vector<TokenAlternative> alternatives; ///< the most likely tokens, best first
};

enum class StopReason { MaxNewTokens, Eos, StopString, MaxPositions, Cancelled };

struct GenerationResult {
    std::string text;                   ///< the continuation (prompt not included), cut at a stop string
    std::vector<GeneratedToken> tokens; ///< every generated token (eos included when it stopped there)
    StopReason stopReason = StopReason::MaxNewTokens;
};

/// Log-probabilities of a given continuation after a prompt.
struct ScoreResult {
    double meanLogProb = 0.0;          ///< mean over continuation tokens (the metrics' "mean token NLL" is its negation)
    double sumLogProb = 0.0;
    std::vector<float> tokenLogProbs;  ///< one per continuation token
};

/// Called after each token; return false to stop (StopReason::Cancelled).
using TokenCallback = std::function<bool(const GeneratedToken&)>;

/// Generates after promptIds (bos, unless tokens.bosId is -1, is prepended here; do not include it). latent: [C] / [1, C]
/// float tensor, or an undefined tensor / all zeros for the plain LM. Uses a key/value cache:
/// one forward over the prompt, then one cached step per token. Cost per token: ~2 * decoder
/// params flops + a pass over the vocabulary (softmax, top alternatives; sorting when topP < 1).
/// Throws UserError on invalid options or a prompt that leaves no room (decoder.max_positions).
/// Thread safety: only reads the decoder; concurrent calls are fine.
GenerationResult generate(CausalLm& decoder, const TokenDecoding& tokens, const std::vector<std::int32_t>& promptIds,
                          const at::Tensor& latent, const GenerationOptions& options,
                          const TokenCallback& onToken = {});

/// Mean log-probability of continuationIds following bos + promptIds (one batched forward;
/// bosId -1: no bos, and the prompt must then not be empty).
/// Throws UserError if the continuation is empty or the whole does not fit in max positions.
ScoreResult scoreContinuation(CausalLm& decoder, std::int32_t bosId, const std::vector<std::int32_t>& promptIds,
                              const std::vector<std::int32_t>& continuationIds, const at::Tensor& latent);

/// Checks the options; throws UserError naming the option and its value.
void validate(const GenerationOptions& options);

} // namespace larimar
