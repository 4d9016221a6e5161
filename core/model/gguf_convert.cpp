#include "core/model/gguf_convert.h"

#include "core/util/error.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

namespace larimar {
namespace {

/// GGUF lists dims innermost first; PyTorch's shape is the reverse.
std::vector<std::int64_t> torchShape(const gguf::TensorInfo& t) {
    std::vector<std::int64_t> s;
    for (auto it = t.dims.rbegin(); it != t.dims.rend(); ++it) s.push_back(static_cast<std::int64_t>(*it));
    return s;
}

torch::Tensor dequantized(const gguf::File& file, const gguf::TensorInfo& t) {
    torch::Tensor out = torch::empty(torchShape(t), torch::kFloat);
    file.dequantize(t, out.data_ptr<float>());
    return out;
}

/// Undoes llama.cpp's permute() of q/k rows: GGUF holds, per head, the rotary pairs interleaved
/// (x0 y0 x1 y1 ...); Hugging Face holds them as two halves (x0 x1 ... y0 y1 ...).
torch::Tensor unpermute(const torch::Tensor& w, std::int64_t heads) {
    const std::int64_t rows = w.size(0);
    if (heads <= 0 || rows % (2 * heads) != 0)
        throw UserError("GGUF q/k projection has " + std::to_string(rows) + " rows, not a multiple of 2 x " +
                        std::to_string(heads) + " heads");
    std::vector<std::int64_t> shape = {heads, rows / heads / 2, 2};
    for (std::int64_t d = 1; d < w.dim(); ++d) shape.push_back(w.size(d));
    return w.reshape(shape).transpose(1, 2).reshape(w.sizes()).contiguous();
}

std::int64_t intOr(const gguf::File& f, const std::string& key, std::int64_t fallback) {
    return f.find(key) ? f.getInt(key) : fallback;
}
double floatOr(const gguf::File& f, const std::string& key, double fallback) {
    return f.find(key) ? f.getFloat(key) : fallback;
}

} // namespace

Tokenizer ggufTokenizer(const gguf::File& f) {
    const nlohmann::json* tokens = f.find("tokenizer.ggml.tokens");
    if (!tokens || !tokens->is_array()) throw UserError("GGUF file has no tokenizer.ggml.tokens array");
    GgufVocabulary v;
    v.model = f.getString("tokenizer.ggml.model");
    v.pre = f.find("tokenizer.ggml.pre") ? f.getString("tokenizer.ggml.pre") : "default";
    try {
        v.tokens = tokens->get<std::vector<std::string>>();
        if (const nlohmann::json* m = f.find("tokenizer.ggml.merges"); m && m->is_array())
            v.merges = m->get<std::vector<std::string>>();
        if (const nlohmann::json* t = f.find("tokenizer.ggml.token_type"); t && t->is_array())
            v.tokenTypes = t->get<std::vector<std::int32_t>>();
    } catch (const nlohmann::json::exception&) {
        throw UserError("GGUF tokenizer metadata has the wrong element types");
    }
    v.bosId = static_cast<std::int32_t>(intOr(f, "tokenizer.ggml.bos_token_id", -1));
    v.eosId = static_cast<std::int32_t>(intOr(f, "tokenizer.ggml.eos_token_id", -1));
    v.padId = static_cast<std::int32_t>(intOr(f, "tokenizer.ggml.padding_token_id", -1));
    v.unkId = static_cast<std::int32_t>(intOr(f, "tokenizer.ggml.unknown_token_id", -1));
    if (const nlohmann::json* add = f.find("tokenizer.ggml.add_bos_token"); add && add->is_boolean()) v.addBos = add->get<bool>();
    return Tokenizer::fromGgufVocabulary(v);
}

HfCheckpoint ggufToHf(const gguf::File& f, const std::function<void(std::size_t, std::size_t)>& progress) {
    const std::string arch = f.getString("general.architecture");
    if (arch != "llama" && arch != "qwen2")
        throw UserError("GGUF architecture '" + arch + "' is not supported (supported: llama, qwen2)");
    const std::string p = arch + ".";
    HfCheckpoint out;
    out.name = f.find("general.name") ? f.getString("general.name") : std::string();

    const std::int64_t layers = f.getInt(p + "block_count");
    const std::int64_t hidden = f.getInt(p + "embedding_length");
    const std::int64_t ff = f.getInt(p + "feed_forward_length");
    const std::int64_t heads = f.getInt(p + "attention.head_count");
    const std::int64_t kvHeads = intOr(f, p + "attention.head_count_kv", heads);
    if (layers <= 0 || layers > 1024 || hidden <= 0 || ff <= 0 || heads <= 0 || kvHeads <= 0 || heads % kvHeads)
        throw UserError("GGUF metadata gives an impossible shape: " + std::to_string(layers) + " layers, hidden " +
                        std::to_string(hidden) + ", " + std::to_string(heads) + " heads, " + std::to_string(kvHeads) +
                        " kv heads");
    const std::int64_t headDim = intOr(f, p + "attention.key_length", hidden / heads);
    const nlohmann::json* tokens = f.find("tokenizer.ggml.tokens");
    const std::int64_t vocab = intOr(f, p + "vocab_size", tokens && tokens->is_array() ? static_cast<std::int64_t>(tokens->size()) : 0);

    const gguf::TensorInfo* output = f.findTensor("output.weight");
    nlohmann::json c;
    c["model_type"] = arch;
    c["architectures"] = {arch == "llama" ? "LlamaForCausalLM" : "Qwen2ForCausalLM"};
    c["hidden_size"] = hidden;
    c["intermediate_size"] = ff;
    c["num_hidden_layers"] = layers;
    c["num_attention_heads"] = heads;
    c["num_key_value_heads"] = kvHeads;
    c["head_dim"] = headDim;
    c["rms_norm_eps"] = floatOr(f, p + "attention.layer_norm_rms_epsilon", 1e-6);
    c["rope_theta"] = floatOr(f, p + "rope.freq_base", 10000.0);
    c["max_position_embeddings"] = intOr(f, p + "context_length", 2048);
    c["vocab_size"] = vocab;
    c["tie_word_embeddings"] = output == nullptr;
    c["attention_bias"] = f.findTensor("blk.0.attn_q.bias") != nullptr;
    c["hidden_act"] = "silu";
    c["torch_dtype"] = "float32";
    if (f.find(p + "rope.scaling.type")) {
        const std::string type = f.getString(p + "rope.scaling.type");
        if (type == "linear") {
            c["rope_scaling"] = {{"type", "linear"}, {"factor", f.getFloat(p + "rope.scaling.factor")}};
        } else if (type != "none") {
            throw UserError("GGUF rope scaling '" + type + "' is not supported (supported: none, linear)");
        }
    }
    if (f.findTensor("rope_freqs.weight"))
        throw UserError("GGUF file carries rope_freqs.weight (Llama 3.1 rope scaling), which is not supported yet");
    if (const nlohmann::json* bos = f.find("tokenizer.ggml.bos_token_id")) c["bos_token_id"] = *bos;
    if (const nlohmann::json* eos = f.find("tokenizer.ggml.eos_token_id")) c["eos_token_id"] = *eos;
    // Hugging Face's add_bos_token: GGUF says it with tokenizer.ggml.add_bos_token.
    if (const nlohmann::json* add = f.find("tokenizer.ggml.add_bos_token"); add && add->is_boolean())
        c["add_bos_token"] = add->get<bool>();
    out.config = c;

    // name in GGUF -> name in Hugging Face ("%d" is the layer).
    static const std::vector<std::pair<std::string, std::string>> perLayer = {
        {"attn_norm.weight", "input_layernorm.weight"},
        {"ffn_norm.weight", "post_attention_layernorm.weight"},
        {"attn_q.weight", "self_attn.q_proj.weight"},
        {"attn_k.weight", "self_attn.k_proj.weight"},
        {"attn_v.weight", "self_attn.v_proj.weight"},
        {"attn_output.weight", "self_attn.o_proj.weight"},
        {"attn_q.bias", "self_attn.q_proj.bias"},
        {"attn_k.bias", "self_attn.k_proj.bias"},
        {"attn_v.bias", "self_attn.v_proj.bias"},
        {"ffn_gate.weight", "mlp.gate_proj.weight"},
        {"ffn_up.weight", "mlp.up_proj.weight"},
        {"ffn_down.weight", "mlp.down_proj.weight"},
    };
    const std::size_t total = f.tensors().size();
    std::size_t done = 0;
    for (const gguf::TensorInfo& t : f.tensors()) {
        std::string hf;
        if (t.name == "token_embd.weight") {
            hf = "model.embed_tokens.weight";
        } else if (t.name == "output_norm.weight") {
            hf = "model.norm.weight";
        } else if (t.name == "output.weight") {
            hf = "lm_head.weight";
        } else if (t.name.rfind("blk.", 0) == 0) {
            const std::size_t dot = t.name.find('.', 4);
            const std::string layer = dot == std::string::npos ? std::string() : t.name.substr(4, dot - 4);
            const std::string rest = dot == std::string::npos ? std::string() : t.name.substr(dot + 1);
            bool digits = !layer.empty() && layer.size() < 6 &&
                          std::all_of(layer.begin(), layer.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
            if (digits && std::stoll(layer) >= layers) digits = false;
            for (const auto& [g, h] : perLayer)
                if (digits && rest == g) hf = "model.layers." + layer + "." + h;
        }
        if (hf.empty()) throw UserError("GGUF tensor '" + t.name + "' is not part of a " + arch + " model");
        if (out.tensors.count(hf)) throw UserError("GGUF tensor '" + t.name + "' appears twice");
        torch::Tensor w = dequantized(f, t);
        if (arch == "llama") {
            if (hf.find("q_proj.") != std::string::npos) w = unpermute(w, heads);
            else if (hf.find("k_proj.") != std::string::npos) w = unpermute(w, kvHeads);
        }
        out.tensors.emplace(hf, std::move(w));
        if (progress) progress(++done, total);
    }
    return out;
}

} // namespace larimar
