#include "core/model/model_config.h"

#include "core/util/error.h"
#include "core/util/file_io.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>

namespace larimar {
namespace {

using nlohmann::json;

// Reads obj[key] into out when present; a wrong type is a UserError naming the dotted field.
class Reader {
public:
    explicit Reader(std::string source) : m_source(std::move(source)) {}

    void integer(const json& obj, const char* key, const std::string& prefix, int& out) const {
        m_known.insert(prefix + key);
        const auto it = obj.find(key);
        if (it == obj.end()) return;
        if (!it->is_number_integer())
            fail(prefix + key, it->dump(), "must be an integer");
        const auto v = it->get<std::int64_t>();
        if (v < -2147483647 || v > 2147483647) fail(prefix + key, it->dump(), "is out of range");
        out = static_cast<int>(v);
    }
    void number(const json& obj, const char* key, const std::string& prefix, double& out) const {
        m_known.insert(prefix + key);
        const auto it = obj.find(key);
        if (it == obj.end()) return;
        if (!it->is_number()) fail(prefix + key, it->dump(), "must be a number");
        out = it->get<double>();
    }
    void string(const json& obj, const char* key, const std::string& prefix, std::string& out) const {
        m_known.insert(prefix + key);
        const auto it = obj.find(key);
        if (it == obj.end()) return;
        if (!it->is_string()) fail(prefix + key, it->dump(), "must be a string");
        out = it->get<std::string>();
    }
    void boolean(const json& obj, const char* key, const std::string& prefix, bool& out) const {
        m_known.insert(prefix + key);
        const auto it = obj.find(key);
        if (it == obj.end()) return;
        if (!it->is_boolean()) fail(prefix + key, it->dump(), "must be true or false");
        out = it->get<bool>();
    }
    const json* object(const json& obj, const char* key) const {
        m_known.insert(key);
        const auto it = obj.find(key);
        if (it == obj.end()) return nullptr;
        if (!it->is_object()) fail(key, it->dump(), "must be an object");
        return &*it;
    }
    [[noreturn]] void fail(const std::string& field, const std::string& value, const std::string& why) const {
        throw UserError(m_source + ": " + field + " = " + value + " " + why);
    }

    /// Refuses a field no reader call asked for: a model made by a newer build (whose settings
    /// this one would silently ignore and then run the model wrongly), or a misspelt name.
    void rejectUnknown(const json& doc) const {
        for (auto it = doc.begin(); it != doc.end(); ++it) {
            if (!m_known.count(it.key()))
                fail(it.key(), it.value().dump(), unknownWhy);
            if (!it.value().is_object()) continue;
            for (auto in = it.value().begin(); in != it.value().end(); ++in)
                if (!m_known.count(it.key() + "." + in.key()))
                    fail(it.key() + "." + in.key(), in.value().dump(), unknownWhy);
        }
    }

private:
    static constexpr const char* unknownWhy =
        "is not a setting this build knows (a model from a newer Larimar Workbench, or a misspelt name)";
    std::string m_source;
    mutable std::set<std::string> m_known;
};

[[noreturn]] void invalid(const std::string& field, const std::string& value, const std::string& why) {
    throw UserError("model config: " + field + " = " + value + " " + why);
}

void positive(const char* field, long long v) {
    if (v <= 0) invalid(field, std::to_string(v), "must be positive");
}

} // namespace

ModelConfig ModelConfig::fromJson(const std::string& jsonText, const std::string& source) {
    json doc;
    try {
        doc = json::parse(jsonText);
    } catch (const json::parse_error& e) {
        throw UserError(source + ": not valid JSON (" + e.what() + ")");
    }
    if (!doc.is_object()) throw UserError(source + ": the top level must be a JSON object");

    const Reader r(source);
    ModelConfig c;
    std::string modelType = "larimar";
    r.string(doc, "model_type", "", modelType);
    if (modelType != "larimar") r.fail("model_type", "\"" + modelType + "\"", "is not \"larimar\"");
    r.string(doc, "name", "", c.name);
    r.string(doc, "version", "", c.version);
    r.integer(doc, "latent_size", "", c.latentSize);
    r.boolean(doc, "word_slot", "", c.wordSlot);
    r.boolean(doc, "key_slot", "", c.keySlot);
    r.number(doc, "key_gain", "", c.keyGain);

    if (const json* e = r.object(doc, "encoder")) {
        const std::string p = "encoder.";
        r.integer(*e, "layers", p, c.encoder.layers);
        r.integer(*e, "heads", p, c.encoder.heads);
        r.integer(*e, "hidden", p, c.encoder.hidden);
        r.integer(*e, "intermediate", p, c.encoder.intermediate);
        r.integer(*e, "vocab", p, c.encoder.vocab);
        r.integer(*e, "max_positions", p, c.encoder.maxPositions);
        r.integer(*e, "type_vocab", p, c.encoder.typeVocab);
        r.number(*e, "layer_norm_eps", p, c.encoder.layerNormEps);
        r.boolean(*e, "mean_pool", p, c.encoder.meanPool);
        r.boolean(*e, "token_bag", p, c.encoder.tokenBag);
    }
    if (const json* d = r.object(doc, "decoder")) {
        const std::string p = "decoder.";
        r.integer(*d, "layers", p, c.decoder.layers);
        r.integer(*d, "heads", p, c.decoder.heads);
        r.integer(*d, "hidden", p, c.decoder.hidden);
        c.decoder.intermediate = 0;
        r.integer(*d, "intermediate", p, c.decoder.intermediate);
        r.integer(*d, "vocab", p, c.decoder.vocab);
        r.integer(*d, "max_positions", p, c.decoder.maxPositions);
        r.number(*d, "layer_norm_eps", p, c.decoder.layerNormEps);
        r.boolean(*d, "latent_output", p, c.decoder.latentOutput);
    }
    if (c.decoder.intermediate == 0) c.decoder.intermediate = 4 * c.decoder.hidden;
    if (const json* m = r.object(doc, "memory")) {
        const std::string p = "memory.";
        r.integer(*m, "slots", p, c.memory.slots);
        r.string(*m, "pinv", p, c.memory.pinv);
        r.number(*m, "pinv_alpha", p, c.memory.pinvAlpha);
        r.integer(*m, "pinv_steps", p, c.memory.pinvSteps);
    }
    if (const json* s = r.object(doc, "special_tokens")) {
        const std::string p = "special_tokens.";
        r.string(*s, "bos", p, c.specialTokens.bos);
        r.string(*s, "eos", p, c.specialTokens.eos);
        r.string(*s, "pad", p, c.specialTokens.pad);
    }
    r.rejectUnknown(doc);
    try {
        c.validate();
    } catch (const UserError& e) {
        throw UserError(source + ": " + e.what());
    }
    return c;
}

ModelConfig ModelConfig::load(const std::string& path) {
    return fromJson(readFile(path, "the model config"), path);
}

std::string ModelConfig::toJson() const {
    // ordered_json keeps the documented field order, so diffs of config.json stay readable.
    nlohmann::ordered_json j;
    j["model_type"] = "larimar";
    j["name"] = name;
    j["version"] = version;
    j["latent_size"] = latentSize;
    if (wordSlot) j["word_slot"] = true;
    if (keySlot) j["key_slot"] = true;
    if (keyGain != 1.0) j["key_gain"] = keyGain;
    j["encoder"] = {{"layers", encoder.layers},         {"heads", encoder.heads},
                    {"hidden", encoder.hidden},         {"intermediate", encoder.intermediate},
                    {"vocab", encoder.vocab},           {"max_positions", encoder.maxPositions},
                    {"type_vocab", encoder.typeVocab},  {"layer_norm_eps", encoder.layerNormEps}};
    j["decoder"] = {{"layers", decoder.layers},         {"heads", decoder.heads},
                    {"hidden", decoder.hidden},         {"intermediate", decoder.intermediate},
                    {"vocab", decoder.vocab},           {"max_positions", decoder.maxPositions},
                    {"layer_norm_eps", decoder.layerNormEps}};
    // Written only when on, so the config of a model without it stays as it was.
    if (encoder.meanPool) j["encoder"]["mean_pool"] = true;
    if (encoder.tokenBag) j["encoder"]["token_bag"] = true;
    if (decoder.latentOutput) j["decoder"]["latent_output"] = true;
    j["memory"] = {{"slots", memory.slots},
                   {"pinv", memory.pinv},
                   {"pinv_alpha", memory.pinvAlpha},
                   {"pinv_steps", memory.pinvSteps}};
    j["special_tokens"] = {{"bos", specialTokens.bos}, {"eos", specialTokens.eos}, {"pad", specialTokens.pad}};
    return j.dump(2) + "\n";
}

void ModelConfig::save(const std::string& path) const { writeFileAtomically(path, toJson()); }

void ModelConfig::validate() const {
    positive("latent_size", latentSize);
    positive("encoder.layers", encoder.layers);
    positive("encoder.heads", encoder.heads);
    positive("encoder.hidden", encoder.hidden);
    positive("encoder.intermediate", encoder.intermediate);
    positive("encoder.vocab", encoder.vocab);
    positive("encoder.max_positions", encoder.maxPositions);
    positive("encoder.type_vocab", encoder.typeVocab);
    if (encoder.hidden % encoder.heads != 0)
        invalid("encoder.hidden", std::to_string(encoder.hidden),
                "is not a multiple of encoder.heads = " + std::to_string(encoder.heads));
    if (!(encoder.layerNormEps > 0.0 && encoder.layerNormEps < 1.0))
        invalid("encoder.layer_norm_eps", std::to_string(encoder.layerNormEps), "must be in (0, 1)");

    positive("decoder.layers", decoder.layers);
    positive("decoder.heads", decoder.heads);
    positive("decoder.hidden", decoder.hidden);
    positive("decoder.intermediate", decoder.intermediate);
    positive("decoder.vocab", decoder.vocab);
    positive("decoder.max_positions", decoder.maxPositions);
    if (decoder.hidden % decoder.heads != 0)
        invalid("decoder.hidden", std::to_string(decoder.hidden),
                "is not a multiple of decoder.heads = " + std::to_string(decoder.heads));
    if (!(decoder.layerNormEps > 0.0 && decoder.layerNormEps < 1.0))
        invalid("decoder.layer_norm_eps", std::to_string(decoder.layerNormEps), "must be in (0, 1)");
    if (encoder.tokenBag && encoder.vocab != decoder.vocab)
        invalid("encoder.token_bag", "true",
                "needs one vocabulary (encoder.vocab = " + std::to_string(encoder.vocab) +
                    ", decoder.vocab = " + std::to_string(decoder.vocab) + ")");

    // Every size has an upper bound, far above any model this tool runs (GPT-2 XL: hidden 1600,
    // 48 layers, 1,024 positions) but low enough that a hostile or mistyped config is refused
    // here rather than allocating gigabytes in libtorch (max_positions 2,000,000 did) or
    // hanging in the memory's pseudo-inverse (pinv_steps 2^31 - 1 did).
    struct Bound {
        const char* field;
        long long value, max;
    };
    for (const Bound& b : {Bound{"latent_size", latentSize, 16384},
                           Bound{"encoder.layers", encoder.layers, 128},
                           Bound{"encoder.heads", encoder.heads, 256},
                           Bound{"encoder.hidden", encoder.hidden, 16384},
                           Bound{"encoder.intermediate", encoder.intermediate, 65536},
                           Bound{"encoder.vocab", encoder.vocab, 1 << 20},
                           Bound{"encoder.max_positions", encoder.maxPositions, 32768},
                           Bound{"encoder.type_vocab", encoder.typeVocab, 1024},
                           Bound{"decoder.layers", decoder.layers, 128},
                           Bound{"decoder.heads", decoder.heads, 256},
                           Bound{"decoder.hidden", decoder.hidden, 16384},
                           Bound{"decoder.intermediate", decoder.intermediate, 65536},
                           Bound{"decoder.vocab", decoder.vocab, 1 << 20},
                           Bound{"decoder.max_positions", decoder.maxPositions, 32768},
                           Bound{"memory.slots", memory.slots, 8192},
                           Bound{"memory.pinv_steps", memory.pinvSteps, 1000}})
        if (b.value > b.max)
            invalid(b.field, std::to_string(b.value), "is larger than the limit of " + std::to_string(b.max));
    // And their product: the parameters must fit in memory (8 billion floats = 32 GB).
    if (parameterCount() > 8'000'000'000LL)
        invalid("the sizes", std::to_string(parameterCount()) + " parameters",
                "are more than the limit of 8,000,000,000 parameters");

    positive("memory.slots", memory.slots);
    if (memory.pinv != "exact" && memory.pinv != "iterative")
        invalid("memory.pinv", "\"" + memory.pinv + "\"", "must be \"exact\" or \"iterative\"");
    if (!(memory.pinvAlpha > 0.0))
        invalid("memory.pinv_alpha", std::to_string(memory.pinvAlpha), "must be positive");
    positive("memory.pinv_steps", memory.pinvSteps);

    if (wordSlot && encoder.vocab != decoder.vocab)
        invalid("word_slot", "true",
                "needs one vocabulary (encoder.vocab = " + std::to_string(encoder.vocab) +
                    ", decoder.vocab = " + std::to_string(decoder.vocab) + ")");
    if (keySlot && !wordSlot) invalid("key_slot", "true", "needs \"word_slot\": true");
    if (!(keyGain > 0.0)) invalid("key_gain", std::to_string(keyGain), "must be positive");
    if (keyGain != 1.0 && !keySlot) invalid("key_gain", std::to_string(keyGain), "needs \"key_slot\": true");
    if (wordSlot && featureSize() <= 0)
        invalid("word_slot", "true",
                "needs latent_size (" + std::to_string(latentSize) + ") larger than decoder.hidden (" +
                    std::to_string(decoder.hidden) + ") times the slots (" + std::to_string(keySlot ? 2 : 1) +
                    "): each slot takes decoder.hidden of its dimensions");

    if (specialTokens.bos.empty()) invalid("special_tokens.bos", "\"\"", "must not be empty");
}

std::int64_t ModelConfig::parameterCount() const {
    const std::int64_t eh = encoder.hidden, ei = encoder.intermediate, dh = decoder.hidden,
                       di = decoder.intermediate, c = featureSize();
    std::int64_t n = 0;
    // Encoder: embeddings (+ LayerNorm), per layer q/k/v/o + 2 LayerNorms + FFN, pooler.
    n += (std::int64_t(encoder.vocab) + encoder.maxPositions + encoder.typeVocab) * eh + 2 * eh;
    n += std::int64_t(encoder.layers) * (4 * (eh * eh + eh) + 4 * eh + (eh * ei + ei) + (ei * eh + eh));
    n += eh * eh + eh;
    n += eh * 2 * c; // encoder_head (no bias)
    if (encoder.meanPool) n += eh * 2 * c; // mean_head (no bias)
    if (encoder.tokenBag) n += std::int64_t(decoder.hidden) * 2 * c; // bag_head (no bias)
    // Decoder: wte, wpe, per layer ln_1, c_attn, c_proj, ln_2, c_fc, c_proj; ln_f; lm_head tied.
    n += (std::int64_t(decoder.vocab) + decoder.maxPositions) * dh;
    n += std::int64_t(decoder.layers) *
         (2 * dh + (dh * 3 * dh + 3 * dh) + (dh * dh + dh) + 2 * dh + (dh * di + di) + (di * dh + dh));
    n += 2 * dh;
    n += c * dh * decoder.layers + c * dh; // latent -> per-layer slot, latent -> embedding
    if (decoder.latentOutput) n += c * dh + dh + 1; // latent -> output, its gate
    if (wordSlot) n += eh + encoder.maxPositions + dh + 3 + dh * dh; // pointer.{score,end}, copy_{gate,scale,norm,map}
    if (keySlot) n += eh + encoder.maxPositions + dh * dh;          // key_pointer.{score,end}, key_map
    n += std::int64_t(memory.slots) * latentSize; // memory.prior
    return n;
}

} // namespace larimar
