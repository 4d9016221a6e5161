#include "core/model/larimar_lm.h"

#include "core/model/bert.h"
#include "core/model/encoder.h" // embeddingWhitening
#include "core/model/generation.h"
#include "core/model/larimar_model.h" // parseDevice
#include "core/model/llama.h"
#include "core/model/pretrained_lm.h"
#include "core/model/text_model_torch.h"
#include "core/model/token_batch.h"
#include "core/model/tokenizer.h"
#include "core/model/torch_io.h"
#include "core/util/error.h"
#include "core/util/file_io.h"
#include "core/util/model_paths.h"
#include "core/util/sha256.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;

namespace larimar {
namespace {

constexpr const char* kModelType = "larimar-pretrained";
constexpr const char* kHeadsFile = "heads.safetensors";

template <typename T>
T field(const nlohmann::json& j, const char* name, const std::string& source, T fallback) {
    if (!j.contains(name)) return fallback;
    try {
        return j.at(name).get<T>();
    } catch (const std::exception&) {
        throw UserError(source + ": field '" + name + "' has the wrong type");
    }
}

void checkRange(const std::string& source, const char* name, double v, double lo, double hi) {
    if (!(v >= lo && v <= hi))
        throw UserError(source + ": field '" + name + "' is " + std::to_string(v) + ", expected " + std::to_string(lo) +
                        ".." + std::to_string(hi));
}

/// The decoder conditioned by the copy path (see the header).
class ConditionedLm final : public CausalLm {
public:
    explicit ConditionedLm(PretrainedLarimar& model) : m_model(model), m_base(model.decoder()) {}
    int64_t vocabSize() const override { return m_base.vocabSize(); }
    int64_t maxPositions() const override { return m_base.maxPositions(); }
    torch::Device device() const override { return m_base.device(); }
    torch::Tensor hiddenStates(const torch::Tensor& ids, const torch::Tensor& mask, const torch::Tensor& latent) override {
        auto h = m_base.hiddenStates(ids, mask);
        const auto slots = m_model.slotsOf(latent);
        if (!slots.defined()) return h;
        return h + m_model.copyDelta(h, ids.to(h.device(), torch::kLong), slots.expand({h.size(0), slots.size(1), slots.size(2)}));
    }
    torch::Tensor logits(const torch::Tensor& hidden) override { return m_base.logits(hidden); }
    DecoderCache startCache(int64_t batch, int64_t capacity, const torch::Tensor& latent) override {
        DecoderCache cache = m_base.startCache(batch, capacity);
        const auto slots = m_model.slotsOf(latent);
        if (slots.defined()) cache.latentWords = slots.expand({batch, slots.size(1), slots.size(2)}).contiguous();
        cache.latentOutput = torch::Tensor(); // here: what the copy path has seen so far, [B, A]
        return cache;
    }
    torch::Tensor step(const torch::Tensor& ids, DecoderCache& cache) override {
        auto h = m_base.step(ids, cache);
        if (!cache.latentWords.defined()) return h;
        return h + m_model.copyDelta(h, ids.to(h.device(), torch::kLong), cache.latentWords, &cache.latentOutput);
    }

private:
    PretrainedLarimar& m_model;
    LlamaImpl& m_base;
};

torch::Tensor rmsNormalize(const torch::Tensor& x) {
    return x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-6);
}

} // namespace

PretrainedLarimarConfig PretrainedLarimarConfig::fromJson(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object()) throw UserError(source + ": not a JSON object");
    if (field<std::string>(j, "model_type", source, "") != kModelType)
        throw UserError(source + ": model_type is not '" + std::string(kModelType) + "'");
    PretrainedLarimarConfig c;
    c.name = field<std::string>(j, "name", source, "");
    c.version = field<std::string>(j, "version", source, "");
    if (c.name.empty() || c.version.empty()) throw UserError(source + ": needs a name and a version");
    const nlohmann::json dec = j.value("decoder", nlohmann::json::object());
    const nlohmann::json enc = j.value("encoder", nlohmann::json::object());
    c.decoderAsset = field<std::string>(dec, "asset", source, c.decoderAsset);
    c.decoderFile = field<std::string>(dec, "file", source, c.decoderFile);
    c.decoderSha256 = field<std::string>(dec, "sha256", source, "");
    c.encoderAsset = field<std::string>(enc, "asset", source, c.encoderAsset);
    c.encoderSha256 = field<std::string>(enc, "sha256", source, "");
    for (const auto* n : {&c.decoderAsset, &c.decoderFile, &c.encoderAsset})
        if (n->empty() || n->find('/') != std::string::npos || n->find("..") != std::string::npos)
            throw UserError(source + ": asset names must be plain file names, not '" + *n + "'");
    c.slots = field<int>(j, "memory_slots", source, c.slots);
    c.answerTokens = field<int>(j, "answer_tokens", source, c.answerTokens);
    c.pointerLayers = field<int>(j, "pointer_layers", source, c.pointerLayers);
    c.maxDistance = field<int>(j, "max_distance", source, c.maxDistance);
    c.sentenceGain = field<double>(j, "sentence_gain", source, c.sentenceGain);
    c.keyGain = field<double>(j, "key_gain", source, c.keyGain);
    c.priorSeed = field<std::uint64_t>(j, "prior_seed", source, c.priorSeed);
    checkRange(source, "memory_slots", c.slots, 1, 4096);
    checkRange(source, "answer_tokens", c.answerTokens, 1, 8);
    checkRange(source, "pointer_layers", c.pointerLayers, 0, 256);
    checkRange(source, "max_distance", c.maxDistance, 1, 4096);
    checkRange(source, "sentence_gain", c.sentenceGain, 0, 1e3);
    checkRange(source, "key_gain", c.keyGain, 0, 1e3);
    return c;
}

nlohmann::json PretrainedLarimarConfig::toJson() const {
    return {{"model_type", kModelType},
            {"name", name},
            {"version", version},
            {"decoder", {{"asset", decoderAsset}, {"file", decoderFile}, {"sha256", decoderSha256}}},
            {"encoder", {{"asset", encoderAsset}, {"sha256", encoderSha256}}},
            {"memory_slots", slots},
            {"answer_tokens", answerTokens},
            {"pointer_layers", pointerLayers},
            {"max_distance", maxDistance},
            {"sentence_gain", sentenceGain},
            {"key_gain", keyGain},
            {"prior_seed", priorSeed}};
}

bool isPretrainedLarimar(const std::string& dir) {
    std::error_code ec;
    const fs::path p = fs::path(dir) / "config.json";
    if (!fs::is_regular_file(p, ec)) return false;
    std::ifstream in(p);
    const auto j = nlohmann::json::parse(in, nullptr, false);
    return j.is_object() && j.value("model_type", std::string()) == kModelType;
}

LarimarHeadsImpl::LarimarHeadsImpl(int h, int a, int p) {
    auto answer = register_module("answer_pointer", std::make_shared<torch::nn::Module>());
    answerScore = answer->register_parameter("score", torch::zeros({h}));
    answerEnd = answer->register_parameter("end", torch::zeros({p}));
    answerNone = answer->register_parameter("none", torch::zeros({1}));
    auto key = register_module("key_pointer", std::make_shared<torch::nn::Module>());
    keyScore = key->register_parameter("score", torch::zeros({h}));
    keyEnd = key->register_parameter("end", torch::zeros({p}));
    auto copy = register_module("copy", std::make_shared<torch::nn::Module>());
    gateW = copy->register_parameter("gate_weight", torch::zeros({a, h}));
    gateB = copy->register_parameter("gate_bias", torch::zeros({a}));
    gateNorm = copy->register_parameter("gate_norm", torch::zeros({a}));
    gateMatch = copy->register_parameter("gate_match", torch::zeros({a, a}));
    gateSeen = copy->register_parameter("gate_seen", torch::zeros({a, a}));
    scale = copy->register_parameter("scale", torch::zeros({a}));
    initialize();
}

void LarimarHeadsImpl::initialize() {
    torch::NoGradGuard ng;
    for (auto& t : parameters()) t.zero_();
    // The answer most often stands at the end: e^3 for the last token, e for the second last.
    answerEnd[0] = 3.0;
    if (answerEnd.size(0) > 1) answerEnd[1] = 1.0;
    answerNone[0] = 3.0;
    const auto a = gateB.size(0);
    // Slot 1 opens where a word is held (n ~ 1) and shuts once it has been read; slot j + 1
    // opens right after token j.
    gateB.fill_(-6.0);
    gateB[0] = -2.0;
    gateNorm[0] = 4.0;
    for (int64_t j = 0; j < a; ++j) {
        gateSeen[j][j] = -10.0;                  // once answer token j was read, slot j shuts
        if (j > 0) gateMatch[j][j - 1] = 12.0;   // right after token j - 1, slot j opens
    }
    scale.fill_(20.0);
}

PretrainedLarimar::PretrainedLarimar() = default;
PretrainedLarimar::~PretrainedLarimar() = default;

void PretrainedLarimar::loadAssets(torch::Device device) {
    const std::string hint = " (run models/fetch-assets.sh)";
    const std::string decDir = findAssetDir(m_config.decoderAsset);
    if (decDir.empty())
        throw UserError(id() + ": the decoder asset '" + m_config.decoderAsset + "' is not installed" + hint);
    const std::string decPath = (fs::path(decDir) / m_config.decoderFile).string();
    std::error_code ec;
    if (!fs::is_regular_file(decPath, ec)) throw UserError(id() + ": " + decPath + " is missing" + hint);
    const std::string encDir = findAssetDir(m_config.encoderAsset);
    if (encDir.empty())
        throw UserError(id() + ": the encoder asset '" + m_config.encoderAsset + "' is not installed" + hint);
    m_base = std::make_unique<PretrainedLm>(loadPretrainedLm(decPath, device));
    if (!m_base->tokenizer) throw UserError(decPath + ": has no tokenizer");
    m_llama = dynamic_cast<LlamaImpl*>(m_base->lm);
    if (!m_llama)
        throw UserError(decPath + ": the bundled Larimar needs a Llama-family decoder, this is " + m_base->architecture);
    if (!m_config.decoderSha256.empty() && m_base->weightsSha256 != m_config.decoderSha256)
        throw UserError(id() + ": " + decPath + " has SHA-256 " + m_base->weightsSha256 + ", the model was trained on " +
                        m_config.decoderSha256 + hint);
    const std::string encWeights = (fs::path(encDir) / "model.safetensors").string();
    const std::string encHash = fs::is_regular_file(encWeights, ec) ? fileSha256(encWeights) : "";
    if (!m_config.encoderSha256.empty() && encHash != m_config.encoderSha256)
        throw UserError(id() + ": " + encWeights + " has SHA-256 " + encHash + ", the model was trained on " +
                        m_config.encoderSha256 + hint);
    m_sentence = std::make_unique<BertEncoder>(BertEncoder::load(encDir, device));
    m_config.decoderSha256 = m_base->weightsSha256;
    m_config.encoderSha256 = encHash;
    m_assetHash = m_base->weightsSha256 + encHash;

    torch::NoGradGuard ng;
    const auto& table = decoder().outputHead();
    if (m_config.pointerLayers > decoder().config().layers)
        throw UserError(id() + ": pointer_layers " + std::to_string(m_config.pointerLayers) + " exceeds the decoder's " +
                        std::to_string(decoder().config().layers) + " layers");
    m_copyMap = embeddingWhitening(table).to(device);
    m_keyMap = torch::linalg_cholesky(m_copyMap.to(torch::kDouble)).to(torch::kFloat);
    m_rho = table.norm(2, 1).mean().item<double>();
    m_heads = LarimarHeads(hidden(), m_config.answerTokens, m_config.maxDistance);
    m_heads->to(device);
    m_conditioned = std::make_unique<ConditionedLm>(*this);
}

std::unique_ptr<PretrainedLarimar> PretrainedLarimar::create(const PretrainedLarimarConfig& config, torch::Device device) {
    std::unique_ptr<PretrainedLarimar> m(new PretrainedLarimar());
    m->m_config = config;
    m->loadAssets(device);
    m->m_hash = toHex(sha256("untrained " + m->m_assetHash));
    return m;
}

std::unique_ptr<PretrainedLarimar> PretrainedLarimar::load(const std::string& dir, torch::Device device) {
    const fs::path cfgPath = fs::path(dir) / "config.json";
    std::ifstream in(cfgPath);
    if (!in) throw UserError(dir + ": no config.json");
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) throw UserError(cfgPath.string() + ": not valid JSON");
    std::unique_ptr<PretrainedLarimar> m(new PretrainedLarimar());
    m->m_config = PretrainedLarimarConfig::fromJson(j, cfgPath.string());
    m->loadAssets(device);
    const std::string headsPath = (fs::path(dir) / kHeadsFile).string();
    auto tensors = loadTensors(headsPath, device);
    torch::NoGradGuard ng;
    for (auto& p : m->m_heads->named_parameters()) {
        const auto it = tensors.find(p.key());
        if (it == tensors.end()) throw UserError(headsPath + ": tensor '" + p.key() + "' is missing");
        if (it->second.sizes() != p.value().sizes())
            throw UserError(headsPath + ": tensor '" + p.key() + "' has the wrong shape");
        p.value().copy_(it->second.to(torch::kFloat));
        tensors.erase(it);
    }
    if (!tensors.empty()) throw UserError(headsPath + ": unexpected tensor '" + tensors.begin()->first + "'");
    m->m_hash = toHex(sha256(fileSha256(headsPath) + m->m_assetHash));
    return m;
}

void PretrainedLarimar::save(const std::string& dir) {
    fs::create_directories(dir);
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& p : m_heads->named_parameters()) tensors[p.key()] = p.value().detach().to(torch::kCPU).contiguous();
    const std::string headsPath = (fs::path(dir) / kHeadsFile).string();
    saveTensors(headsPath, tensors);
    writeFileAtomically((fs::path(dir) / "config.json").string(), m_config.toJson().dump(2) + "\n");
    m_hash = toHex(sha256(fileSha256(headsPath) + m_assetHash));
}

int PretrainedLarimar::hidden() const { return m_llama->config().hidden; }
int PretrainedLarimar::sentenceSize() const { return m_sentence->dimension(); }
int PretrainedLarimar::latentSize() const { return sentenceSize() + (1 + m_config.answerTokens) * hidden(); }
torch::Device PretrainedLarimar::device() const { return m_llama->device(); }
LlamaImpl& PretrainedLarimar::decoder() { return *m_llama; }
const Tokenizer& PretrainedLarimar::tokenizer() const { return *m_base->tokenizer; }
bool PretrainedLarimar::addBos() const { return m_base->addBos; }
CausalLm& PretrainedLarimar::conditioned() { return *m_conditioned; }

std::vector<std::int32_t> PretrainedLarimar::textTokens(const std::string& text) const {
    std::string t = text;
    while (!t.empty() && (t.back() == ' ' || t.back() == '.' || t.back() == '\n' || t.back() == '\t')) t.pop_back();
    if (t.empty()) throw UserError("an empty text cannot be encoded");
    auto ids = tokenizer().encode(t);
    if (ids.empty()) throw UserError("'" + text + "' has no tokens");
    const int64_t room = std::min<int64_t>(m_llama->maxPositions(), 256);
    if (int64_t(ids.size()) > room) ids.resize(size_t(room)); // the start holds the subject
    return ids;
}

PointerOutput PretrainedLarimar::pointers(const std::vector<std::string>& texts) {
    if (texts.empty()) throw UserError("nothing to encode");
    std::vector<std::vector<std::int32_t>> toks;
    for (const auto& s : texts) toks.push_back(textTokens(s));
    auto [ids, mask] = rightPaddedBatch(toks);
    ids = ids.to(device());
    mask = mask.to(device());
    const auto states = decoder().layerStates(ids, mask, m_config.pointerLayers);
    return pointersFromStates(ids, mask, states);
}

PointerOutput PretrainedLarimar::pointersFromStates(const torch::Tensor& ids, const torch::Tensor& mask,
                                                    const torch::Tensor& states) {
    auto& h = *m_heads;
    const auto dev = states.device();
    const auto n = ids.size(0), t = ids.size(1);
    const auto x = rmsNormalize(states);
    const auto real = mask.to(dev).ne(0);
    const auto len = real.to(torch::kLong).sum(1, true);
    const auto pos = torch::arange(t, torch::TensorOptions().dtype(torch::kLong).device(dev)).unsqueeze(0);
    const auto dist = (len - 1 - pos).clamp(0, m_config.maxDistance - 1);
    auto scores = torch::matmul(x, h.answerScore) + torch::embedding(h.answerEnd.unsqueeze(1), dist).squeeze(-1);
    scores = scores.masked_fill(real.logical_and(pos.ge(1)).logical_not(), -1e9);
    const auto answer = torch::softmax(torch::cat({scores, h.answerNone.expand({n, 1})}, 1), 1);
    auto keyScores = torch::matmul(x, h.keyScore) + torch::embedding(h.keyEnd.unsqueeze(1), dist).squeeze(-1);
    keyScores = keyScores.masked_fill(real.logical_not(), -1e9);
    const auto started = torch::cumsum(answer.narrow(1, 0, t), 1);
    auto key = torch::softmax(keyScores, 1) * (1.0 - started).clamp_min(0.0) * real.to(x.scalar_type());
    key = key / key.sum(1, true).clamp_min(1e-9);
    return {ids, mask, answer, key};
}

torch::Tensor PretrainedLarimar::latents(const PointerOutput& p, const torch::Tensor& sentences) {
    const auto& table = decoder().outputHead();
    const auto dev = table.device();
    const auto n = p.ids.size(0), t = p.ids.size(1);
    const auto rows = torch::embedding(table, p.ids.to(dev, torch::kLong)) * p.mask.to(dev).unsqueeze(-1).to(table.scalar_type());
    auto key = torch::matmul(p.key.unsqueeze(1), rows).squeeze(1);
    key = torch::matmul(key, m_keyMap);
    key = key / key.norm(2, 1, true).clamp_min(1e-9) * m_config.keyGain;
    std::vector<torch::Tensor> parts{sentences.to(dev, torch::kFloat) * m_config.sentenceGain, key};
    const auto start = p.answer.narrow(1, 0, t); // [N, T]
    for (int j = 0; j < m_config.answerTokens; ++j) {
        torch::Tensor shifted; // shifted[t] = rows[t + j] (zero past the end)
        if (j == 0) {
            shifted = rows;
        } else if (j >= t) {
            shifted = torch::zeros_like(rows);
        } else {
            shifted = torch::cat({rows.narrow(1, j, t - j), torch::zeros({n, j, rows.size(2)}, rows.options())}, 1);
        }
        parts.push_back(torch::matmul(start.unsqueeze(1), shifted).squeeze(1) / m_rho);
    }
    return torch::cat(parts, 1);
}

std::vector<std::string> PretrainedLarimar::sentenceTexts(const std::vector<std::string>& texts, const PointerOutput& p) const {
    std::vector<std::string> out;
    const auto best = p.answer.argmax(1).to(torch::kCPU);
    const auto ids = p.ids.to(torch::kCPU);
    const auto t = p.ids.size(1);
    for (size_t i = 0; i < texts.size(); ++i) {
        const int64_t b = best[int64_t(i)].item<int64_t>();
        if (b >= t) {
            out.push_back(texts[i]);
            continue;
        }
        std::vector<std::int32_t> prefix;
        for (int64_t k = 0; k < b; ++k) prefix.push_back(std::int32_t(ids[int64_t(i)][k].item<int64_t>()));
        out.push_back(tokenizer().decode(prefix));
    }
    return out;
}

torch::Tensor PretrainedLarimar::encode(const std::vector<std::string>& texts) {
    torch::NoGradGuard guard; // not InferenceMode: callers may modify or train with the latents
    std::vector<torch::Tensor> chunks;
    for (size_t begin = 0; begin < texts.size(); begin += 64) {
        const std::vector<std::string> part(texts.begin() + std::ptrdiff_t(begin),
                                            texts.begin() + std::ptrdiff_t(std::min(texts.size(), begin + 64)));
        const auto p = pointers(part);
        const auto emb = m_sentence->embed(sentenceTexts(part, p));
        auto s = torch::empty({int64_t(emb.size()), int64_t(sentenceSize())}, torch::kFloat);
        for (size_t i = 0; i < emb.size(); ++i)
            s[int64_t(i)].copy_(torch::from_blob(const_cast<float*>(emb[i].data()), {int64_t(emb[i].size())}, torch::kFloat));
        chunks.push_back(latents(p, s).to(torch::kCPU));
    }
    if (chunks.empty()) throw UserError("nothing to encode");
    return torch::cat(chunks, 0);
}

torch::Tensor PretrainedLarimar::slotsOf(const torch::Tensor& latent) const {
    if (!latent.defined()) return {};
    const auto z = latent.dim() == 1 ? latent.unsqueeze(0) : latent;
    if (z.size(1) != latentSize())
        throw UserError(id() + ": a latent of " + std::to_string(z.size(1)) + " values, the model's have " +
                        std::to_string(latentSize()));
    const auto slots = z.narrow(1, slotOffset(), m_config.answerTokens * hidden());
    if (!slots.ne(0).any().item<bool>()) return {};
    return (slots.to(m_copyMap.device(), torch::kFloat) * m_rho).view({z.size(0), m_config.answerTokens, hidden()});
}

torch::Tensor PretrainedLarimar::copyDelta(const torch::Tensor& hidden, const torch::Tensor& ids, const torch::Tensor& slots,
                                          torch::Tensor* seen) {
    auto& h = *m_heads;
    const auto ws = torch::matmul(slots, m_copyMap);                       // [B, A, H]
    const auto held = (slots * ws).sum(-1).clamp_min(0.0).sqrt();          // [B, A]
    const auto read = torch::embedding(decoder().outputHead(), ids);       // [B, T, H]
    const auto match = torch::matmul(read, ws.transpose(1, 2));            // [B, T, A]
    auto shown = std::get<0>(torch::cummax(match, 1));                     // [B, T, A]
    if (seen && seen->defined()) shown = torch::maximum(shown, seen->unsqueeze(1));
    if (seen) *seen = shown.select(1, shown.size(1) - 1).detach();
    // Each answer token is delivered once: a slot whose token was read already stays shut
    // (its match is ~1 then; the step at 1/2 leaves the other slots alone).
    const auto delivered = torch::sigmoid(20.0 * (shown - 0.5));
    const auto gate = torch::sigmoid(torch::matmul(hidden, h.gateW.t()) + h.gateB + (h.gateNorm * held).unsqueeze(1) +
                                     torch::matmul(match, h.gateMatch.t()) + torch::matmul(shown, h.gateSeen.t())) *
                      (1.0 - delivered);
    return torch::matmul(gate * h.scale, ws); // [B, T, H]
}

// ---------------------------------------------------------------------------------------------
// TextModel adapter

namespace {

class PretrainedLarimarTextModel final : public TextModel {
public:
    explicit PretrainedLarimarTextModel(std::unique_ptr<PretrainedLarimar> owned)
        : m_owned(std::move(owned)), m_m(*m_owned), m_text(m_m.conditioned(), m_m.tokenizer(), m_m.addBos()),
          m_prior(memoryReference(m_m.config().slots, m_m.latentSize(), m_m.config().priorSeed)) {}
    explicit PretrainedLarimarTextModel(PretrainedLarimar& borrowed)
        : m_m(borrowed), m_text(m_m.conditioned(), m_m.tokenizer(), m_m.addBos()),
          m_prior(memoryReference(m_m.config().slots, m_m.latentSize(), m_m.config().priorSeed)) {}

    std::string id() const override { return m_m.id(); }
    std::string weightsHash() const override { return m_m.weightsSha256(); }
    int latentSize() const override { return m_m.latentSize(); }
    std::vector<LatentBlock> latentBlocks() const override {
        // The sentence encoding, the subject key, then one word slot per answer token.
        std::vector<LatentBlock> b{{"sentence", 0, m_m.sentenceSize()}, {"subject key", m_m.sentenceSize(), m_m.hidden()}};
        for (int i = 0; i < m_m.config().answerTokens; ++i)
            b.push_back({"word slot " + std::to_string(i + 1), m_m.slotOffset() + i * m_m.hidden(), m_m.hidden()});
        return b;
    }
    Eigen::MatrixXd memoryPrior() const override { return m_prior; }
    PinvSettings pinv() const override { return {}; }
    Eigen::MatrixXd encode(const std::vector<std::string>& texts) override { return toEigen(m_m.encode(texts)); }
    GeneratedText generate(const std::string& prompt, const std::optional<Eigen::RowVectorXd>& latent,
                           const DecodeSettings& s) override {
        torch::InferenceMode guard;
        return m_text.generate(prompt, toLatent(latent, m_m.device()), s);
    }
    std::vector<std::string> tokenTexts(const std::string& text) const override { return m_text.tokenTexts(text); }
    double score(const std::string& prompt, const std::string& continuation,
                 const std::optional<Eigen::RowVectorXd>& latent) override {
        torch::InferenceMode guard;
        return m_text.score(prompt, continuation, toLatent(latent, m_m.device()));
    }

private:
    std::unique_ptr<PretrainedLarimar> m_owned;
    PretrainedLarimar& m_m;
    CausalLmText m_text;
    Eigen::MatrixXd m_prior;
};

} // namespace

Eigen::MatrixXd memoryReference(int slots, int width, std::uint64_t seed) {
    // mt19937_64 is specified exactly by the standard; the normal deviates are made here (Box-
    // Muller) because std::normal_distribution differs between standard libraries.
    std::mt19937_64 rng(seed);
    auto uniform = [&] { return (double(rng() >> 11) + 0.5) / 9007199254740992.0; };
    Eigen::MatrixXd m(slots, width);
    const double s = 1.0 / std::sqrt(double(width));
    for (Eigen::Index i = 0; i < m.rows(); ++i)
        for (Eigen::Index j = 0; j < m.cols(); ++j)
            m(i, j) = s * std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
    return m;
}

std::unique_ptr<TextModel> loadPretrainedLarimarTextModel(const std::string& dir, const std::string& device) {
    return std::make_unique<PretrainedLarimarTextModel>(PretrainedLarimar::load(dir, parseDevice(device)));
}

std::unique_ptr<TextModel> wrapTextModel(PretrainedLarimar& model) {
    return std::make_unique<PretrainedLarimarTextModel>(model);
}

} // namespace larimar
