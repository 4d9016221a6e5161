#pragma once
/// Larimar on a pretrained, frozen decoder (SmolLM2-135M by default) and a pretrained sentence
/// encoder (all-MiniLM-L6-v2): the bundled model. Only small heads are trained (core/train/
/// larimar_lm_trainer.h); the base weights come from the fetched assets, named by file and
/// SHA-256 in config.json.
///
/// Latent z (what the episodic memory stores), C = S + (1 + A) H dimensions:
///   [0, S)          sentence part: sentence_gain * MiniLM(text before the answer), unit norm
///   [S, S+H)        key slot: key_gain * L^T (sum_t q_t E[x_t]) / |.|, the subject's words,
///                   whitened by L (L L^T = W, see below) so that different words are near
///                   orthogonal and two sentences' keys overlap by the subject words they share
///   [S+H, S+(1+A)H) word slots 1..A: slot j = sum_t p_t E[x_{t+j-1}] / rho, the j-th token of
///                   the answer (p: the answer pointer's distribution over where the answer starts)
/// with E the decoder's output head [V, H] (tied: the token embedding), rho its mean row norm and
/// W = the whitening of E scaled so an average row e has e W e = 1 (embeddingWhitening).
///
/// Pointers (trained): both read the decoder's residual stream after `pointer_layers` blocks,
/// RMS-normalised, x_t: answer pointer scores x_t . a + end[distance from the last token] over
/// the tokens after the first, plus "no answer" with score `none` (a question has none: its word
/// slots are then zero); key pointer weights q_t = softmax(x_t . k + kend[dist]) times the
/// probability that the answer has not started by t.
///
/// Copy path (trained): at each position t with final hidden state h_t (after the last norm)
/// and input token x_t, with s_j = rho * slot j of the latent:
///   f_tj = E[x_t] W s_j               (the token just read is answer token j)
///   n_j  = sqrt(s_j W s_j)            (how much of a word slot j holds)
///   F_tj = max_{u <= t} f_uj          (answer token j was read already)
///   g_tj = sigmoid(h_t . gw_j + gb_j + gn_j n_j + sum_k gm_jk f_tk + sum_k gs_jk F_tk)
///          * (1 - sigmoid(20 (F_tj - 1/2)))   (a slot whose token was produced stays shut)
///   h_t <- h_t + sum_j g_tj scale_j W s_j
/// so through the output head word w gains sum_j g_tj scale_j (E[w] W s_j): the answer's j-th
/// token, when the gate of slot j opens. The gates learn to open slot 1 where an answer is due,
/// slot j+1 right after token j was produced, and each slot to shut once its token was produced.
///
/// The invariant users rely on: a latent that is absent or whose word slots are all zero (an
/// empty memory, an out-of-scope query) leaves every logit bit for bit the plain pretrained
/// model's: the copy path is not computed at all then (tests/core/test_larimar_lm.cpp).
///
/// Model directory: config.json (model_type "larimar-pretrained", see PretrainedLarimarConfig),
/// heads.safetensors (the trained parameters, names as heads().named_parameters()), MODEL_CARD.md.
///
/// Thread safety: encode/generate/score only read weights; concurrent calls are fine.
#include "core/model/causal_lm.h"

#include <Eigen/Dense>
#include <nlohmann/json_fwd.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace larimar {

class LlamaImpl;
class BertEncoder;
class TextModel;
class Tokenizer;
struct PretrainedLm;

struct PretrainedLarimarConfig {
    std::string name;
    std::string version;
    std::string decoderAsset = "smollm2";                       ///< models/assets/<name>
    std::string decoderFile = "SmolLM2-135M-Instruct.Q4_1.gguf"; ///< inside it
    std::string decoderSha256;                                  ///< of that file; checked at load
    std::string encoderAsset = "minilm";
    std::string encoderSha256; ///< of its model.safetensors
    int slots = 256;           ///< K of the memory
    int answerTokens = 3;      ///< A
    int pointerLayers = 4;
    int maxDistance = 64;      ///< end-distance biases
    double sentenceGain = 4.0;
    double keyGain = 4.0;
    std::uint64_t priorSeed = 17;

    /// Reads config.json's object; throws UserError naming `source` and the field.
    static PretrainedLarimarConfig fromJson(const nlohmann::json& j, const std::string& source);
    nlohmann::json toJson() const;
};

/// Whether dir holds a config.json whose model_type is "larimar-pretrained".
bool isPretrainedLarimar(const std::string& dir);

/// The trained parameters.
class LarimarHeadsImpl : public torch::nn::Module {
public:
    LarimarHeadsImpl(int hidden, int answerTokens, int maxDistance);
    /// The starting point of training: the answer pointer on the last tokens, "no answer" even
    /// with them, the key on all words alike, gates half open on slot 1 and shut on the others
    /// until the previous answer token is read.
    void initialize();
    torch::Tensor answerScore, answerEnd, answerNone; ///< [H], [P], [1]
    torch::Tensor keyScore, keyEnd;                   ///< [H], [P]
    torch::Tensor gateW, gateB, gateNorm, gateMatch, gateSeen, scale; ///< [A, H], [A], [A], [A, A], [A, A], [A]
};
TORCH_MODULE(LarimarHeads);

/// What the pointers make of a batch of sentences (the trainer supervises these).
struct PointerOutput {
    torch::Tensor ids;      ///< [N, T] int64 decoder tokens
    torch::Tensor mask;     ///< [N, T] 1 real / 0 padding
    torch::Tensor answer;   ///< [N, T + 1] probability that the answer starts at t (T: no answer)
    torch::Tensor key;      ///< [N, T] the key's word weights (sum 1 over real tokens)
};

class PretrainedLarimar {
public:
    /// Loads dir (config.json + heads.safetensors) and the assets it names. Throws UserError
    /// naming what is missing (with a hint to run models/fetch-assets.sh) or mismatched.
    static std::unique_ptr<PretrainedLarimar> load(const std::string& dir, torch::Device device = torch::kCPU);
    /// A model with freshly initialised heads on the given assets (the trainer's start).
    static std::unique_ptr<PretrainedLarimar> create(const PretrainedLarimarConfig& config,
                                                     torch::Device device = torch::kCPU);
    ~PretrainedLarimar();

    /// Writes config.json and heads.safetensors into dir (created if needed; atomic per file).
    void save(const std::string& dir);

    const PretrainedLarimarConfig& config() const { return m_config; }
    int latentSize() const;
    int hidden() const;
    int sentenceSize() const;
    /// Offset of word slot 1 in the latent.
    int slotOffset() const { return sentenceSize() + hidden(); }
    torch::Device device() const;
    LarimarHeads& heads() { return m_heads; }
    LlamaImpl& decoder();
    const Tokenizer& tokenizer() const;
    bool addBos() const;
    const BertEncoder& sentenceEncoder() const { return *m_sentence; }
    std::string id() const { return m_config.name + " " + m_config.version; }
    /// SHA-256 of heads.safetensors as loaded or saved, combined with the base files' hashes.
    const std::string& weightsSha256() const { return m_hash; }

    /// The decoder's tokens of an encoded text: tokens of text with closing spaces and full
    /// stops removed ("Rome." is "Rome").
    std::vector<std::int32_t> textTokens(const std::string& text) const;
    /// Pointer distributions for texts (differentiable in the heads).
    PointerOutput pointers(const std::vector<std::string>& texts);
    /// Same, from residual states the caller computed (the trainer caches them): states [N, T, H]
    /// after pointer_layers blocks for ids/mask.
    PointerOutput pointersFromStates(const torch::Tensor& ids, const torch::Tensor& mask, const torch::Tensor& states);
    /// Latents [N, C] float of texts (inference mode).
    torch::Tensor encode(const std::vector<std::string>& texts);
    /// Latents from pointer outputs and the sentence encodings [N, S] of the texts' parts
    /// before the answer (see sentenceTexts).
    torch::Tensor latents(const PointerOutput& p, const torch::Tensor& sentences);
    /// The texts MiniLM encodes: each text up to where its answer most likely starts (the whole
    /// text when "no answer" is likelier).
    std::vector<std::string> sentenceTexts(const std::vector<std::string>& texts, const PointerOutput& p) const;

    /// The copy path's addition to final hidden states: hidden [B, T, H], ids [B, T], slots
    /// [B, A, H] (rho * the latent's word slots) -> [B, T, H]. seen: the largest match of each
    /// slot with the tokens before (an incremental caller's state, [B, A], updated; undefined
    /// at the start), or null for a whole sequence.
    torch::Tensor copyDelta(const torch::Tensor& hidden, const torch::Tensor& ids, const torch::Tensor& slots,
                            torch::Tensor* seen = nullptr);
    /// The latent's word slots scaled back ([B, A, H]), or undefined when latent is undefined or
    /// its word slots are all zero.
    torch::Tensor slotsOf(const torch::Tensor& latent) const;
    /// The decoder conditioned by the copy path, as generation.h takes it.
    CausalLm& conditioned();
    /// W [H, H] and rho.
    const torch::Tensor& copyMap() const { return m_copyMap; }
    double rowScale() const { return m_rho; }

private:
    PretrainedLarimar();
    void loadAssets(torch::Device device);

    PretrainedLarimarConfig m_config;
    std::unique_ptr<PretrainedLm> m_base;
    LlamaImpl* m_llama = nullptr; ///< m_base's decoder
    std::unique_ptr<BertEncoder> m_sentence;
    LarimarHeads m_heads{nullptr};
    torch::Tensor m_copyMap, m_keyMap; ///< W and L^T
    double m_rho = 1.0;
    std::string m_hash, m_assetHash;
    std::unique_ptr<CausalLm> m_conditioned;
};

/// The reference memory M_ref (slots x width) whose pseudo-inverse makes write keys: normal
/// deviates / sqrt(width) from seed, the same on every platform.
Eigen::MatrixXd memoryReference(int slots, int width, std::uint64_t seed);

/// The TextModel of a model directory (loadTextModel dispatches here for model_type
/// "larimar-pretrained"), and a view of a model owned elsewhere (the trainer's).
std::unique_ptr<TextModel> loadPretrainedLarimarTextModel(const std::string& dir, const std::string& device = "cpu");
std::unique_ptr<TextModel> wrapTextModel(PretrainedLarimar& model);

} // namespace larimar
