#include "core/model/larimar_model.h"

#include "core/model/token_batch.h"
#include "core/model/torch_io.h"
#include "core/util/error.h"
#include "core/util/sha256.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace larimar {
namespace fs = std::filesystem;

namespace {

std::string shapeText(at::IntArrayRef sizes) {
    std::string s = "[";
    for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
    return s + "]";
}

/// The weights file must be a regular file whose size fits the config's parameter count (2 to
/// 8 bytes each, float16 to float64, plus its header): checked before anything is built or
/// read, so a FIFO does not hang, and a directory, a 64 GB sparse file or a config describing a
/// model the file cannot hold is refused by name.
void checkWeightsFile(const std::string& path, const ModelConfig& config) {
    std::error_code ec;
    const auto st = fs::status(path, ec);
    if (ec || !fs::exists(st)) throw UserError(path + ": the weights file (model.safetensors) is missing");
    if (!fs::is_regular_file(st))
        throw UserError(path + ": the weights file is not a regular file (" +
                        (fs::is_directory(st) ? "a directory" : fs::is_fifo(st) ? "a FIFO" : "a device or socket") +
                        ")");
    const auto size = static_cast<std::uint64_t>(fs::file_size(path, ec));
    if (ec) throw UserError(path + ": cannot read the weights file (" + ec.message() + ")");
    const auto params = static_cast<std::uint64_t>(config.parameterCount());
    const std::uint64_t slack = 100'000'000; // the header's limit
    if (size < 2 * params)
        throw UserError(path + ": the config describes " + std::to_string(params) +
                        " parameters (at least " + std::to_string(2 * params) + " bytes as float16), the file has " +
                        std::to_string(size) + " bytes");
    if (size > 8 * params + slack)
        throw UserError(path + ": the file has " + std::to_string(size) + " bytes, more than the config's " +
                        std::to_string(params) + " parameters could need (" + std::to_string(8 * params) +
                        " bytes as float64)");
}

std::vector<std::uint8_t> readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError(path + ": cannot open the weights file (model.safetensors)");
    in.seekg(0, std::ios::end);
    const auto size = in.tellg();
    if (size < 0) throw UserError(path + ": cannot read the weights file");
    in.seekg(0, std::ios::beg);
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    if (!bytes.empty() && !in.read(reinterpret_cast<char*>(bytes.data()), size))
        throw UserError(path + ": cannot read the weights file");
    return bytes;
}

const char* kModelCard = R"(# Larimar model

A Larimar model for Larimar Workbench: a BERT-style encoder, an episodic memory prior and a
GPT-2 style decoder conditioned on the memory readout.

- Files: config.json (sizes), model.safetensors (weights), vocab.json + merges.txt (tokenizer).
- Training data: (describe)
- Intended use and limits: (describe)
- License: (state)
)";

} // namespace

torch::Device parseDevice(const std::string& name) {
    std::optional<torch::Device> device;
    try {
        device.emplace(name);
    } catch (const std::exception&) {
        throw UserError("unknown device '" + name + "': use cpu, cuda or cuda:N");
    }
    if (device->is_cuda() && !torch::cuda::is_available())
        throw UserError("device '" + name + "' requested, but CUDA is not available (this libtorch has no CUDA "
                        "support or no GPU is visible); use cpu");
    if (!device->is_cpu() && !device->is_cuda())
        throw UserError("unsupported device '" + name + "': use cpu, cuda or cuda:N");
    if (device->is_cuda() && device->has_index() && device->index() >= int(torch::cuda::device_count()))
        throw UserError("device '" + name + "': only " + std::to_string(torch::cuda::device_count()) +
                        " CUDA device(s) visible");
    return *device;
}

LarimarNetImpl::LarimarNetImpl(const ModelConfig& c) {
    encoder = register_module("encoder", Encoder(c.encoder, c.featureSize(), c.decoder.hidden, c.wordSlot, c.keySlot, c.keyGain));
    decoder = register_module("decoder", Decoder(c.decoder, c.featureSize(), c.wordSlot, c.keySlot));
    // token_bag: the encoder reads the decoder's embedding table (the net owns both).
    if (c.encoder.tokenBag || c.wordSlot) encoder->setTokenTable([d = decoder.ptr().get()] { return d->wte(); });
    auto memory = register_module("memory", std::make_shared<torch::nn::Module>());
    memoryPrior = memory->register_parameter("prior", torch::empty({c.memory.slots, c.latentSize}));
}

LarimarModel::LarimarModel(ModelConfig config, torch::Device device)
    : m_config(std::move(config)), m_device(device) {
    m_config.validate();
    m_net = LarimarNet(m_config);
}

LarimarModel LarimarModel::randomInit(const ModelConfig& config, std::uint64_t seed, std::optional<Tokenizer> tokenizer,
                                      torch::Device device) {
    LarimarModel model(config, device);
    model.m_net->encoder->initialize(seed);
    model.m_net->decoder->initialize(seed);
    model.m_net->encoder->resetKeyMap(); // reads the decoder's table, so after its initialisation
    {
        torch::NoGradGuard noGrad;
        // The public code starts M0 at the identity: slot k holds the k-th unit latent.
        model.m_net->memoryPrior.copy_(torch::eye(config.memory.slots, config.latentSize));
    }
    if (tokenizer) model.setTokenizer(std::move(*tokenizer));
    model.to(device);
    return model;
}

LarimarModel LarimarModel::load(const std::string& dir, torch::Device device) {
    if (!fs::is_directory(dir)) throw UserError(dir + ": not a model directory (it does not exist or is a file)");
    const std::string weightsPath = (fs::path(dir) / "model.safetensors").string();
    const ModelConfig config = ModelConfig::load((fs::path(dir) / "config.json").string());
    std::optional<Tokenizer> tokenizer;
    try {
        tokenizer.emplace(Tokenizer::fromDirectory(dir, config.specialTokens));
    } catch (const UserError& e) {
        throw UserError(dir + ": cannot load the tokenizer: " + e.what());
    }
    checkWeightsFile(weightsPath, config);
    const auto build = [&]() {
        try {
            return LarimarModel(config, torch::kCPU);
        } catch (const c10::Error& e) {
            // Within the config's bounds, but more than this machine has.
            throw UserError(dir + ": cannot allocate the model's " + std::to_string(config.parameterCount()) +
                            " parameters (" + e.what_without_backtrace() + ")");
        }
    };
    LarimarModel model = build();
    model.setTokenizer(std::move(*tokenizer));

    auto bytes = readFile(weightsPath);
    model.m_weightsSha256 = toHex(sha256(bytes.data(), bytes.size()));
    const auto file = safetensors::File::fromBytes(std::move(bytes), weightsPath);
    torch::NoGradGuard noGrad;
    for (auto& p : model.m_net->named_parameters()) {
        const std::string& name = p.key();
        auto& param = p.value();
        if (!file.contains(name))
            throw UserError(weightsPath + ": tensor '" + name + "' is missing (expected shape " +
                            shapeText(param.sizes()) + ")");
        const auto& view = file.get(name);
        if (at::IntArrayRef(view.shape) != param.sizes())
            throw UserError(weightsPath + ": tensor '" + name + "' has shape " + shapeText(view.shape) +
                            ", expected " + shapeText(param.sizes()));
        const auto dt = view.dtype;
        using safetensors::DType;
        if (dt != DType::F32 && dt != DType::F16 && dt != DType::BF16 && dt != DType::F64)
            throw UserError(weightsPath + ": tensor '" + name + "' has dtype " + safetensors::dtypeName(dt) +
                            ", expected a floating-point type (F32, F16, BF16 or F64)");
        const auto t = toTensor(view).to(torch::kFloat);
        if (!torch::isfinite(t).all().item<bool>())
            throw UserError(weightsPath + ": tensor '" + name + "' holds NaN or infinite values");
        param.copy_(t);
    }
    model.to(device);
    return model;
}

std::string LarimarModel::findCard(const std::string& dir) {
    for (const char* name : {"MODEL_CARD.md", "README.md"}) // README.md: older model directories
        if (fs::is_regular_file(fs::path(dir) / name)) return (fs::path(dir) / name).string();
    return {};
}

void LarimarModel::save(const std::string& dir, torch::ScalarType storage) {
    if (storage != torch::kFloat && storage != torch::kHalf && storage != torch::kBFloat16)
        throw Error("model weights are stored as float32, float16 or bfloat16");
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(dir + ": cannot create the model directory (" + ec.message() + ")");
    const std::string weightsPath = (fs::path(dir) / "model.safetensors").string();
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& [name, t] : stateDict()) {
        torch::Tensor stored = t.detach().to(torch::kCPU, storage);
        if (storage != torch::kFloat && !torch::isfinite(stored).all().item<bool>())
            throw UserError("tensor '" + name + "' has values beyond the range of " +
                            std::string(c10::toString(storage)) + "; store the model as float32");
        tensors.emplace(name, std::move(stored));
    }
    saveTensors(weightsPath, tensors,
                {{"format", "pt"}, {"larimar_model", m_config.name}, {"larimar_version", m_config.version}});
    m_config.save((fs::path(dir) / "config.json").string());
    if (m_tokenizer) m_tokenizer->save(dir);
    if (findCard(dir).empty()) {
        const auto card = fs::path(dir) / "MODEL_CARD.md";
        std::ofstream out(card, std::ios::binary);
        out << kModelCard;
        if (!out) throw Error(card.string() + ": cannot write the model card stub");
    }
    m_weightsSha256 = fileSha256(weightsPath);
}

void LarimarModel::to(torch::Device device) {
    m_net->to(device);
    m_device = device;
}

const Tokenizer& LarimarModel::tokenizer() const {
    if (!m_tokenizer) throw UserError("model '" + m_config.name + "' has no tokenizer; text input is not available");
    return *m_tokenizer;
}

void LarimarModel::checkTokenizer(const Tokenizer& t) const {
    if (t.vocabSize() > m_config.encoder.vocab || t.vocabSize() > m_config.decoder.vocab)
        throw UserError("the tokenizer has " + std::to_string(t.vocabSize()) + " tokens, more than encoder.vocab = " +
                        std::to_string(m_config.encoder.vocab) + " / decoder.vocab = " +
                        std::to_string(m_config.decoder.vocab));
    if (t.bosId() < 0) throw UserError("the tokenizer has no bos token ('" + m_config.specialTokens.bos + "')");
}

void LarimarModel::setTokenizer(Tokenizer tokenizer) {
    checkTokenizer(tokenizer);
    m_tokenizer.emplace(std::move(tokenizer));
}

PinvSettings LarimarModel::pinvSettings() const {
    PinvSettings s;
    s.mode = m_config.memory.pinv == "exact" ? PinvMode::Exact : PinvMode::Iterative;
    s.alpha = m_config.memory.pinvAlpha;
    s.steps = m_config.memory.pinvSteps;
    return s;
}

std::map<std::string, torch::Tensor> LarimarModel::stateDict() const {
    std::map<std::string, torch::Tensor> out;
    for (const auto& p : m_net->named_parameters()) out.emplace(p.key(), p.value());
    return out;
}

std::vector<std::int32_t> LarimarModel::encoderTokens(const std::string& text) const {
    const Tokenizer& tok = tokenizer();
    std::vector<std::int32_t> ids{tok.bosId()};
    // A sentence's closing full stops (and spaces) are left out: the training facts have none,
    // and a word-slot model's pointer starts on the last word, which must be the answer
    // ("... located in Rome." read back "Mumbai" before, "Rome" after).
    std::size_t end = text.find_last_not_of(" \t\r\n.");
    const std::string trimmed = end == std::string::npos ? text : text.substr(0, end + 1);
    const auto body = tok.encode(trimmed);
    const std::size_t room = std::size_t(std::max(0, m_config.encoder.maxPositions - 1 - (tok.eosId() >= 0 ? 1 : 0)));
    ids.insert(ids.end(), body.begin(), body.begin() + std::ptrdiff_t(std::min(room, body.size())));
    if (tok.eosId() >= 0) ids.push_back(tok.eosId());
    return ids;
}

std::pair<torch::Tensor, torch::Tensor> LarimarModel::encoderBatch(const std::vector<std::string>& texts) const {
    std::vector<std::vector<std::int32_t>> rows;
    for (const auto& t : texts) rows.push_back(encoderTokens(t));
    const auto [ids, mask] = rightPaddedBatch(rows, std::max(0, tokenizer().padId()));
    return {ids.to(m_device), mask.to(m_device)};
}

torch::Tensor LarimarModel::encode(const std::vector<std::string>& texts) {
    c10::InferenceMode inference;
    if (texts.empty()) return torch::zeros({0, m_config.latentSize});
    std::vector<torch::Tensor> parts;
    const std::size_t batch = 64;
    for (std::size_t i = 0; i < texts.size(); i += batch) {
        const std::vector<std::string> chunk(texts.begin() + std::ptrdiff_t(i),
                                             texts.begin() + std::ptrdiff_t(std::min(texts.size(), i + batch)));
        const auto [ids, mask] = encoderBatch(chunk);
        parts.push_back(m_net->encoder->forward(ids, mask).mean.to(torch::kCPU, torch::kFloat));
    }
    return parts.size() == 1 ? parts[0] : torch::cat(parts, 0);
}

TokenDecoding LarimarModel::tokenDecoding() const {
    const Tokenizer& tok = tokenizer();
    TokenDecoding d;
    d.bosId = tok.bosId();
    d.eosId = tok.eosId();
    d.vocabSize = tok.vocabSize();
    d.decode = [tok](const std::vector<std::int32_t>& ids) { return tok.decode(ids); };
    return d;
}

GenerationResult LarimarModel::generate(const std::string& prompt, const torch::Tensor& latent,
                                        const GenerationOptions& options, const TokenCallback& onToken) {
    return larimar::generate(*m_net->decoder, tokenDecoding(), tokenizer().encode(prompt), latent, options, onToken);
}

ScoreResult LarimarModel::score(const std::string& prompt, const std::string& continuation,
                                const torch::Tensor& latent) {
    const Tokenizer& tok = tokenizer();
    return scoreContinuation(*m_net->decoder, tok.bosId(), tok.encode(prompt), tok.encode(continuation), latent);
}

} // namespace larimar
