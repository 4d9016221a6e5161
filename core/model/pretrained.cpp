#include "core/model/pretrained.h"
#include "core/model/pretrained_lm.h"

#include "core/model/bert.h"
#include "core/model/causal_lm.h"
#include "core/model/decoder.h"
#include "core/model/generation.h"
#include "core/model/gguf.h"
#include "core/model/gguf_convert.h"
#include "core/model/larimar_model.h" // parseDevice
#include "core/model/llama.h"
#include "core/model/text_model_torch.h"
#include "core/model/tokenizer.h"
#include "core/model/torch_io.h"
#include "core/util/error.h"
#include "core/util/stats.h"
#include "core/util/file_io.h"
#include "core/util/sha256.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>

namespace larimar {
namespace fs = std::filesystem;
namespace {

bool isGguf(const fs::path& p) {
    if (!fs::is_regular_file(p)) return false;
    std::ifstream in(p, std::ios::binary);
    char magic[4] = {};
    in.read(magic, 4);
    return in.gcount() == 4 && std::string(magic, 4) == "GGUF";
}

nlohmann::json readJson(const fs::path& p) {
    std::ifstream in(p);
    if (!in) throw UserError(p.string() + ": cannot be read");
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw UserError(p.string() + ": not valid JSON (" + e.what() + ")");
    }
}

std::string hashOf(const fs::path& p) { return fileSha256(p.string()); }

/// The safetensors files of a Hugging Face directory: model.safetensors, or the shards that
/// model.safetensors.index.json names. A pickle checkpoint alone is refused (never unpickled).
std::vector<fs::path> weightFiles(const fs::path& dir) {
    if (fs::exists(dir / "model.safetensors")) return {dir / "model.safetensors"};
    if (fs::exists(dir / "model.safetensors.index.json")) {
        const nlohmann::json index = readJson(dir / "model.safetensors.index.json");
        if (!index.contains("weight_map") || !index["weight_map"].is_object())
            throw UserError((dir / "model.safetensors.index.json").string() + ": no weight_map");
        std::vector<fs::path> files;
        for (const auto& [name, file] : index["weight_map"].items()) {
            if (!file.is_string()) throw UserError("model.safetensors.index.json: weight_map['" + name + "'] is not a file name");
            const fs::path f = dir / file.get<std::string>();
            if (fs::path(file.get<std::string>()).has_parent_path())
                throw UserError("model.safetensors.index.json names a file outside the directory: " + file.get<std::string>());
            if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
        }
        return files;
    }
    if (fs::exists(dir / "pytorch_model.bin"))
        throw UserError(dir.string() + " holds only pytorch_model.bin, a pickle file, which is never loaded (it can run "
                        "code); convert it to model.safetensors first");
    throw UserError(dir.string() + ": no model.safetensors (or model.safetensors.index.json)");
}

/// Tensor names as this project's loaders expect them for each architecture.
std::string canonicalName(const std::string& arch, const std::string& n) {
    auto starts = [&](const char* p) { return n.rfind(p, 0) == 0; };
    if (arch == "llama" || arch == "qwen2") {
        if (starts("model.") || starts("lm_head.")) return n;
        if (starts("layers.") || starts("embed_tokens.") || starts("norm.")) return "model." + n;
        return n;
    }
    if (arch == "gpt2") {
        if (starts("transformer.")) return n;
        if (starts("h.") || starts("wte.") || starts("wpe.") || starts("ln_f.")) return "transformer." + n;
        return n;
    }
    if (arch == "bert") {
        if (starts("bert.")) return n.substr(5);
        return n;
    }
    return n;
}

/// Buffers and heads that checkpoints carry but no forward pass here reads.
bool ignoredTensor(const std::string& arch, const std::string& n) {
    auto ends = [&](const std::string& s) { return n.size() >= s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0; };
    if (ends("rotary_emb.inv_freq") || ends(".attn.bias") || ends(".attn.masked_bias")) return true;
    if (arch == "bert") return n == "embeddings.position_ids" || n.rfind("cls.", 0) == 0;
    return false;
}

std::map<std::string, torch::Tensor> readHfTensors(const fs::path& dir, const std::string& arch) {
    std::map<std::string, torch::Tensor> out;
    for (const fs::path& f : weightFiles(dir)) {
        for (auto& [name, t] : loadTensors(f.string())) {
            if (ignoredTensor(arch, name)) continue;
            const std::string c = canonicalName(arch, name);
            if (out.count(c)) throw UserError(f.string() + ": tensor '" + name + "' appears twice");
            out.emplace(c, t.is_floating_point() ? t.to(torch::kFloat) : t);
        }
    }
    if (arch == "gpt2") out.erase("lm_head.weight"); // tied to wte
    return out;
}

const std::vector<std::string>& supportedArchitectures() {
    static const std::vector<std::string> a = {"llama", "qwen2", "gpt2", "bert"};
    return a;
}

std::string architectureOf(const nlohmann::json& config, const std::string& where) {
    if (!config.contains("model_type") || !config["model_type"].is_string())
        throw UserError(where + ": config.json has no model_type (is this a Hugging Face model directory?)");
    std::string arch = config["model_type"].get<std::string>();
    if (std::find(supportedArchitectures().begin(), supportedArchitectures().end(), arch) == supportedArchitectures().end())
        throw UserError(where + ": model_type '" + arch + "' is not supported (supported: llama, qwen2, gpt2, bert)");
    return arch;
}

/// Hugging Face's tokenizer of a directory: tokenizer.json, else vocab.json + merges.txt.
std::optional<Tokenizer> readBpeTokenizer(const fs::path& dir) {
    if (fs::exists(dir / "tokenizer.json")) return Tokenizer::fromHfTokenizerJson((dir / "tokenizer.json").string());
    if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt"))
        return Tokenizer::fromFiles((dir / "vocab.json").string(), (dir / "merges.txt").string());
    return std::nullopt;
}
std::string noTokenizer(const std::string& where) {
    return where + ": no tokenizer.json (or vocab.json + merges.txt) beside the weights";
}

/// Whether the model's tokenizer puts bos before a prompt (tokenizer_config.json add_bos_token;
/// Llama 2/3 do, GPT-2, Qwen2 and SmolLM2 do not).
bool addsBos(const fs::path& dir, const nlohmann::json& config) {
    if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) return config["add_bos_token"].get<bool>();
    if (fs::exists(dir / "tokenizer_config.json")) {
        const nlohmann::json t = readJson(dir / "tokenizer_config.json");
        if (t.contains("add_bos_token") && t["add_bos_token"].is_boolean()) return t["add_bos_token"].get<bool>();
    }
    return false;
}

/// What a loaded causal LM is made of, from a .gguf file or a Hugging Face directory.
struct CausalParts {
    nlohmann::json config;
    std::map<std::string, torch::Tensor> tensors;
    std::optional<Tokenizer> tokenizer;
    std::string arch, name, version = "gguf", weightsSha256;
    bool addBos = false;
};

CausalParts readCausal(const fs::path& path) {
    CausalParts p;
    if (isGguf(path)) {
        const gguf::File file = gguf::File::open(path.string());
        HfCheckpoint c = ggufToHf(file);
        p.config = std::move(c.config);
        p.tensors = std::move(c.tensors);
        p.tokenizer = ggufTokenizer(file);
        p.name = c.name.empty() ? path.stem().string() : c.name;
        p.weightsSha256 = hashOf(path);
        p.addBos = p.config.value("add_bos_token", false);
    } else {
        if (!fs::is_directory(path)) throw UserError(path.string() + " is neither a model directory nor a .gguf file");
        p.config = readJson(path / "config.json");
        p.arch = architectureOf(p.config, path.string());
        if (p.arch == "bert")
            throw UserError(path.string() + " is a BERT encoder: it embeds sentences but does not generate text");
        p.tensors = readHfTensors(path, p.arch);
        p.tokenizer = readBpeTokenizer(path);
        p.addBos = addsBos(path, p.config);
        std::string hashes;
        for (const fs::path& f : weightFiles(path)) hashes += hashOf(f);
        p.weightsSha256 = weightFiles(path).size() == 1 ? hashes : toHex(sha256(hashes));
        const nlohmann::json l = p.config.value("larimar", nlohmann::json::object());
        p.name = l.value("name", path.filename().string());
        p.version = l.value("version", std::string("hf"));
    }
    p.arch = p.config.value("model_type", std::string());
    return p;
}

DecoderConfig gpt2Config(const nlohmann::json& j, const std::string& where) {
    auto num = [&](const char* k, std::int64_t lo, std::int64_t hi) -> int {
        if (!j.contains(k) || !j[k].is_number_integer()) throw UserError(where + ": config field \"" + std::string(k) + "\" is missing or not an integer");
        const auto v = j[k].get<std::int64_t>();
        if (v < lo || v > hi) throw UserError(where + ": config field \"" + std::string(k) + "\" = " + std::to_string(v) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
        return int(v);
    };
    DecoderConfig c;
    c.layers = num("n_layer", 1, 1024);
    c.heads = num("n_head", 1, 1024);
    c.hidden = num("n_embd", 1, 1 << 16);
    c.vocab = num("vocab_size", 1, 1 << 22);
    c.maxPositions = num("n_positions", 1, 1 << 20);
    c.intermediate = j.contains("n_inner") && j["n_inner"].is_number_integer() ? num("n_inner", 1, 1 << 18) : 4 * c.hidden;
    if (j.contains("layer_norm_epsilon") && j["layer_norm_epsilon"].is_number()) c.layerNormEps = j["layer_norm_epsilon"].get<double>();
    const std::string act = j.value("activation_function", std::string("gelu_new"));
    if (act != "gelu_new") throw UserError(where + ": GPT-2 activation \"" + act + "\" is not supported (gelu_new is)");
    if (c.hidden % c.heads) throw UserError(where + ": n_embd is not a multiple of n_head");
    return c;
}

/// Copies HF GPT-2 tensors into a plain (latent-free) Larimar decoder; its latent projections
/// stay zero, so it computes GPT-2 exactly.
void loadGpt2(DecoderImpl& d, const std::map<std::string, torch::Tensor>& tensors, const std::string& where) {
    torch::NoGradGuard ng;
    auto params = d.named_parameters(true);
    std::vector<std::string> missing;
    for (auto& item : params) {
        const std::string& n = item.key();
        if (n == "transformer.linear.weight" || n == "transformer.linear_emb.weight") {
            item.value().zero_();
            continue;
        }
        auto it = tensors.find(n);
        if (it == tensors.end()) {
            missing.push_back(n);
            continue;
        }
        if (it->second.sizes() != item.value().sizes())
            throw UserError(where + ": tensor " + n + " has shape " + c10::str(it->second.sizes()) + ", the config implies " +
                            c10::str(item.value().sizes()));
        item.value().copy_(it->second);
    }
    if (!missing.empty()) throw UserError(where + ": missing tensors: " + missing.front() + (missing.size() > 1 ? " and " + std::to_string(missing.size() - 1) + " more" : ""));
    for (const auto& [n, t] : tensors)
        if (!params.find(n)) throw UserError(where + ": tensor " + n + " is not part of a GPT-2 model");
}

/// A plain causal language model as a TextModel: it answers queries, and has no memory
/// conditioning (encode() refuses; the latent is one dimension wide and never non-zero).
class PlainTextModel : public TextModel {
public:
    PlainTextModel(std::shared_ptr<torch::nn::Module> module, CausalLm& lm, Tokenizer tokenizer, bool addBos, std::string id,
                   std::string hash)
        : m_module(std::move(module)), m_tok(std::move(tokenizer)), m_text(lm, m_tok, addBos), m_id(std::move(id)),
          m_hash(std::move(hash)) {}
    std::string id() const override { return m_id; }
    std::string weightsHash() const override { return m_hash; }
    int latentSize() const override { return 1; }
    // Never used to write (encode() refuses); non-zero so the editor can open a memory.
    Eigen::MatrixXd memoryPrior() const override { return Eigen::MatrixXd::Ones(1, 1); }
    PinvSettings pinv() const override { return {}; }
    Eigen::MatrixXd encode(const std::vector<std::string>&) override {
        throw UserError(m_id + " is a plain language model without Larimar's memory conditioning: it answers queries, "
                        "but facts cannot be written to it (use a Larimar model for editing)");
    }
    GeneratedText generate(const std::string& prompt, const std::optional<Eigen::RowVectorXd>& latent,
                           const DecodeSettings& s) override {
        checkLatent(latent);
        return m_text.generate(prompt, torch::Tensor(), s);
    }
    std::vector<std::string> tokenTexts(const std::string& text) const override { return m_text.tokenTexts(text); }
    double score(const std::string& prompt, const std::string& continuation,
                 const std::optional<Eigen::RowVectorXd>& latent) override {
        checkLatent(latent);
        return m_text.score(prompt, continuation, torch::Tensor());
    }

private:
    void checkLatent(const std::optional<Eigen::RowVectorXd>& latent) const {
        if (latent && latent->size() > 0 && latent->cwiseAbs().maxCoeff() > 0)
            throw UserError(m_id + " is a plain language model: it cannot read a memory latent");
    }

    std::shared_ptr<torch::nn::Module> m_module;
    Tokenizer m_tok;
    CausalLmText m_text;
    std::string m_id, m_hash;
};

/// A loaded causal LM: the module and its CausalLm view.
struct LoadedLm {
    std::shared_ptr<torch::nn::Module> module;
    CausalLm* lm = nullptr;
    std::int64_t parameters = 0;
};

LoadedLm buildCausal(const CausalParts& p, const std::string& where, torch::Device device) {
    LoadedLm out;
    if (p.arch == "llama" || p.arch == "qwen2") {
        auto m = std::make_shared<LlamaImpl>(LlamaConfig::fromHfConfig(p.config, where));
        m->to(device);
        m->loadWeights(p.tensors, where);
        out.lm = m.get();
        out.parameters = m->config().parameterCount();
        out.module = m;
    } else if (p.arch == "gpt2") {
        auto m = std::make_shared<DecoderImpl>(gpt2Config(p.config, where), 1);
        m->to(device);
        loadGpt2(*m, p.tensors, where);
        out.lm = m.get();
        for (const auto& t : m->parameters()) out.parameters += t.numel();
        out.parameters -= m->config().hidden * (m->config().layers + 1); // the unused latent projections
        out.module = m;
    } else {
        throw UserError(where + ": model_type '" + p.arch + "' does not generate text");
    }
    out.module->eval();
    return out;
}

std::string modelId(const CausalParts& p) {
    return p.name + " " + p.version;
}

} // namespace

PretrainedLm loadPretrainedLm(const std::string& path, torch::Device device) {
    torch::NoGradGuard ng;
    CausalParts p = readCausal(path);
    LoadedLm lm = buildCausal(p, path, device);
    PretrainedLm out;
    out.module = lm.module;
    out.lm = lm.lm;
    out.tokenizer = std::move(p.tokenizer);
    out.config = std::move(p.config);
    out.architecture = p.arch;
    out.name = p.name;
    out.version = p.version;
    out.weightsSha256 = p.weightsSha256;
    out.addBos = p.addBos;
    out.parameters = lm.parameters;
    return out;
}

bool isPretrainedModel(const std::string& path) {
    const fs::path p(path);
    if (isGguf(p)) return true;
    if (!fs::is_directory(p) || !fs::exists(p / "config.json")) return false;
    try {
        const nlohmann::json c = readJson(p / "config.json");
        if (!c.is_object() || !c.contains("model_type") || !c["model_type"].is_string()) return false;
        const std::string t = c["model_type"].get<std::string>();
        return std::find(supportedArchitectures().begin(), supportedArchitectures().end(), t) != supportedArchitectures().end();
    } catch (const UserError&) {
        return false;
    }
}

std::unique_ptr<TextModel> loadPretrainedTextModel(const std::string& path, const std::string& device) {
    torch::NoGradGuard ng;
    CausalParts p = readCausal(path);
    LoadedLm lm = buildCausal(p, path, parseDevice(device));
    p.tensors.clear();
    if (!p.tokenizer) throw UserError(noTokenizer(path));
    return std::make_unique<PlainTextModel>(lm.module, *lm.lm, *p.tokenizer, p.addBos, modelId(p), p.weightsSha256);
}

ImportResult importModel(const std::string& src, const std::string& dst, const ImportOptions& options) {
    if (options.dtype != "f32" && options.dtype != "f16")
        throw UserError("import-model: --dtype must be f32 or f16, not " + options.dtype);
    const fs::path source(src), dest(dst);
    if (!fs::exists(source)) throw UserError("import-model: " + src + " does not exist");
    if (fs::exists(dest) && !options.force)
        throw UserError("import-model: " + dst + " exists; pass --force to replace it");
    if (fs::exists(dest) && fs::equivalent(source, dest)) throw UserError("import-model: source and destination are the same");
    const fs::path tmp = dest.string() + ".import-tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp);
    struct Cleanup {
        fs::path p;
        bool keep = false;
        ~Cleanup() {
            std::error_code e;
            if (!keep) fs::remove_all(p, e);
        }
    } cleanup{tmp};
    auto report = [&](double f) {
        if (options.progress) options.progress(f);
    };

    ImportResult r;
    torch::NoGradGuard ng;
    const bool bert = !isGguf(source) && fs::is_directory(source) && fs::exists(source / "config.json") &&
                      readJson(source / "config.json").value("model_type", std::string()) == "bert";
    nlohmann::json config;
    std::map<std::string, torch::Tensor> tensors;
    if (bert) {
        config = readJson(source / "config.json");
        tensors = readHfTensors(source, "bert");
        if (!fs::exists(source / "vocab.txt")) throw UserError(src + ": a BERT model needs vocab.txt (WordPiece)");
        for (const char* f : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json",
                              "modules.json", "sentence_bert_config.json"})
            if (fs::exists(source / f)) fs::copy_file(source / f, tmp / f, fs::copy_options::overwrite_existing);
        r.architecture = "bert";
        r.name = source.filename().string();
        std::string hashes;
        for (const fs::path& f : weightFiles(source)) hashes += hashOf(f);
        r.sourceSha256 = weightFiles(source).size() == 1 ? hashes : toHex(sha256(hashes));
    } else {
        CausalParts p = readCausal(source);
        if (!p.tokenizer) throw UserError(noTokenizer(src));
        // Check the parts build a model before anything is written.
        buildCausal(p, src, torch::kCPU);
        config = p.config;
        config["add_bos_token"] = p.addBos;
        tensors = std::move(p.tensors);
        p.tokenizer->saveHfTokenizerJson((tmp / "tokenizer.json").string());
        r.architecture = p.arch;
        r.name = p.name;
        r.sourceSha256 = p.weightsSha256;
    }
    report(0.5);
    for (auto& [n, t] : tensors) {
        r.parameters += t.numel();
        if (options.dtype == "f16" && t.is_floating_point()) t = t.to(torch::kHalf);
    }
    nlohmann::json meta = {{"name", r.name},
                           {"version", "imported"},
                           {"source", fs::absolute(source).lexically_normal().string()},
                           {"source_sha256", r.sourceSha256},
                           {"dtype", options.dtype}};
    // A licence beside the source travels with the weights.
    const fs::path srcDir = fs::is_directory(source) ? source : source.parent_path();
    for (const char* f : {"LICENSE", "LICENSE.txt", "LICENSE.md", "README.md"})
        if (fs::exists(srcDir / f) && !fs::exists(tmp / f)) fs::copy_file(srcDir / f, tmp / f);
    if (fs::exists(tmp / "LICENSE")) meta["license_file"] = "LICENSE";
    config["larimar"] = meta;
    saveTensors((tmp / "model.safetensors").string(), tensors);
    tensors.clear();
    writeFileAtomically((tmp / "config.json").string(), config.dump(2) + "\n");
    report(0.8);

    // Load the result back as the workbench will, and run it once.
    if (bert) {
        const BertEncoder e = BertEncoder::load(tmp.string());
        const auto v = e.embed({"The capital of France is Paris."});
        if (v.size() != 1 || v[0].empty()) throw Error("import-model: the imported encoder gave no embedding");
    } else {
        auto m = loadPretrainedTextModel(tmp.string());
        DecodeSettings s;
        s.maxNewTokens = 1;
        m->generate("Hello", std::nullopt, s);
    }
    r.weightsSha256 = hashOf(tmp / "model.safetensors");
    r.weightsBytes = fs::file_size(tmp / "model.safetensors");
    if (fs::exists(dest)) fs::remove_all(dest);
    fs::rename(tmp, dest);
    cleanup.keep = true;
    report(1.0);
    return r;
}

namespace {
double seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}
} // namespace

PretrainedBenchResult benchmarkPretrained(const std::string& path, const PretrainedBenchOptions& o,
                                          const std::function<void(double)>& progress) {
    using Clock = std::chrono::steady_clock;
    const int oldThreads = torch::get_num_threads();
    if (o.threads > 0) torch::set_num_threads(o.threads);
    struct Restore {
        int n;
        ~Restore() { torch::set_num_threads(n); }
    } restore{oldThreads};
    torch::NoGradGuard ng;
    PretrainedBenchResult r;
    r.threads = torch::get_num_threads();
    r.device = o.device;
    const auto device = parseDevice(o.device);

    auto t0 = Clock::now();
    CausalParts p = readCausal(path);
    LoadedLm lm = buildCausal(p, path, device);
    p.tensors.clear();
    r.loadSeconds = seconds(t0, Clock::now());
    r.architecture = p.arch;
    r.name = p.name;
    r.parameters = lm.parameters;
    if (progress) progress(0.2);

    // Weights one step reads: every matrix, the output head included; an untied model's input
    // embedding is looked up one row at a time.
    double bytes = 0;
    for (const auto& t : lm.module->parameters()) bytes += double(t.numel()) * double(t.element_size());
    if (auto* llama = dynamic_cast<LlamaImpl*>(lm.module.get()); llama && !llama->config().tieEmbeddings)
        bytes -= double(llama->embedding().numel()) * double(llama->embedding().element_size());
    r.weightBytesPerToken = bytes;

    // Read bandwidth: a sum over 1 GiB (far beyond the caches), best of three.
    {
        const auto big = torch::ones({int64_t(1) << 28}, torch::TensorOptions().dtype(torch::kFloat).device(device));
        double best = 1e30;
        for (int i = 0; i < 4; ++i) {
            const auto a = Clock::now();
            const double s = big.sum().item<double>();
            const double dt = seconds(a, Clock::now());
            if (i > 0 && s > 0) best = std::min(best, dt);
        }
        r.bandwidthGBs = double(big.numel()) * 4.0 / best / 1e9;
    }
    r.boundTokensPerSecond = r.bandwidthGBs * 1e9 / r.weightBytesPerToken;
    if (progress) progress(0.3);

    TokenDecoding tokens;
    tokens.bosId = -1;
    tokens.eosId = -1;
    GenerationOptions g;
    g.maxNewTokens = std::max(1, std::min<int>(o.decodeTokens, int(lm.lm->maxPositions()) - o.promptTokens - 1));
    g.stopAtEos = false;
    g.alternatives = 5;
    std::vector<std::int32_t> prompt;
    for (int i = 0; i < std::max(1, o.promptTokens); ++i) prompt.push_back(std::int32_t((1009 * (i + 7)) % lm.lm->vocabSize()));
    std::vector<double> perToken;
    for (int run = 0; run <= std::max(1, o.runs); ++run) {
        const auto a = Clock::now();
        const auto res = larimar::generate(*lm.lm, tokens, prompt, torch::Tensor(), g);
        const double dt = seconds(a, Clock::now());
        if (run > 0) perToken.push_back(dt / double(res.tokens.size()));
        if (progress) progress(0.3 + 0.5 * double(run + 1) / double(o.runs + 1));
    }
    r.decoderMsPerToken = 1000.0 * median(perToken);
    r.decoderTokensPerSecond = 1000.0 / r.decoderMsPerToken;

    if (!o.encoderDir.empty()) {
        const auto a = Clock::now();
        const BertEncoder e = BertEncoder::load(o.encoderDir, device);
        r.encoderLoadSeconds = seconds(a, Clock::now());
        const std::vector<std::string> sentences = {"The Eiffel Tower is located in Paris.", "Who wrote Hamlet?",
                                                    "The capital of France is Paris.", "Danielle Darrieux speaks English."};
        std::vector<double> ms;
        for (int i = 0; i < 210; ++i) {
            const auto b = Clock::now();
            e.embed({sentences[std::size_t(i) % sentences.size()]});
            if (i >= 10) ms.push_back(1000.0 * seconds(b, Clock::now()));
        }
        r.encoderMsPerSentence = median(ms);
    }
    if (progress) progress(1.0);
    return r;
}

} // namespace larimar
