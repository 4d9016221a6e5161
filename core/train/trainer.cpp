#include "core/train/trainer.h"

#include "core/eval/counterfact_eval.h"
#include "core/model/bpe_trainer.h"
#include "core/model/larimar_model.h"
#include "core/model/model_config.h"
#include "core/model/text_model.h"
#include "core/model/torch_io.h"
#include "core/train/corpus.h"
#include "core/train/episodes.h"
#include "core/train/memory_ops.h"
#include "core/util/error.h"
#include "core/util/plot.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <unordered_map>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace larimar {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

/// Token ids of texts, computed once per distinct text.
class TokenCache {
public:
    explicit TokenCache(const Tokenizer& t) : m_tok(t) {}
    const std::vector<std::int32_t>& ids(const std::string& text) {
        auto it = m_cache.find(text);
        if (it != m_cache.end()) return it->second;
        return m_cache.emplace(text, m_tok.encode(text)).first->second;
    }

private:
    const Tokenizer& m_tok;
    std::unordered_map<std::string, std::vector<std::int32_t>> m_cache;
};

/// Orders items by length and cuts them into chunks of at most `tokenBudget` padded tokens,
/// so sequences of similar length share a chunk: padding is what made a prototype twice as
/// slow. Returns chunks of indices into the input.
std::vector<std::vector<std::size_t>> lengthBuckets(const std::vector<std::size_t>& lengths, std::size_t tokenBudget) {
    std::vector<std::size_t> order(lengths.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return lengths[a] < lengths[b]; });
    std::vector<std::vector<std::size_t>> chunks;
    std::vector<std::size_t> cur;
    for (std::size_t i : order) {
        const std::size_t width = std::max(lengths[i], cur.empty() ? 0 : lengths[cur.back()]);
        if (!cur.empty() && (cur.size() + 1) * width > tokenBudget) {
            chunks.push_back(std::move(cur));
            cur.clear();
        }
        cur.push_back(i);
    }
    if (!cur.empty()) chunks.push_back(std::move(cur));
    return chunks;
}

struct DecodeExample {
    std::vector<std::int64_t> input, labels; ///< [bos] + text, text + [eos]
    std::vector<float> weights;              ///< per label
    std::int64_t latentRow = -1;             ///< row of the latent matrix; -1: no latent
    std::size_t answerStart = 0;             ///< first label of the answer (the last label is eos)
    bool answerInMemory = false;             ///< the answer is what the memory holds (not a neighbour's)
};

/// Padded tensors for a chunk of sequences.
struct Padded {
    torch::Tensor ids, mask, labels, weights;
};

Padded pad(const std::vector<const std::vector<std::int64_t>*>& seqs, std::int64_t padId,
           const std::vector<const std::vector<std::int64_t>*>* labels = nullptr,
           const std::vector<const std::vector<float>*>* weights = nullptr) {
    std::size_t width = 0;
    for (auto* s : seqs) width = std::max(width, s->size());
    const auto n = static_cast<std::int64_t>(seqs.size()), w = static_cast<std::int64_t>(width);
    Padded p;
    p.ids = torch::full({n, w}, padId, torch::kLong);
    p.mask = torch::zeros({n, w}, torch::kLong);
    if (labels) {
        p.labels = torch::zeros({n, w}, torch::kLong);
        p.weights = torch::zeros({n, w}, torch::kFloat);
    }
    auto ids = p.ids.accessor<std::int64_t, 2>();
    auto mask = p.mask.accessor<std::int64_t, 2>();
    for (std::int64_t i = 0; i < n; ++i) {
        const auto& s = *seqs[static_cast<std::size_t>(i)];
        for (std::size_t j = 0; j < s.size(); ++j) {
            ids[i][static_cast<std::int64_t>(j)] = s[j];
            mask[i][static_cast<std::int64_t>(j)] = 1;
        }
        if (labels) {
            auto lab = p.labels.accessor<std::int64_t, 2>();
            auto wt = p.weights.accessor<float, 2>();
            const auto& l = *(*labels)[static_cast<std::size_t>(i)];
            const auto& wv = *(*weights)[static_cast<std::size_t>(i)];
            for (std::size_t j = 0; j < l.size(); ++j) {
                lab[i][static_cast<std::int64_t>(j)] = l[j];
                wt[i][static_cast<std::int64_t>(j)] = wv[j];
            }
        }
    }
    return p;
}

/// AdamW written out (decoupled weight decay, bias correction), so that its whole state is
/// plain named tensors we save in our own checkpoint format: exact resume, the same on
/// libtorch 1.13 and 2.x, no pickled optimiser state.
class AdamW {
public:
    /// lrFactor(name): that parameter's learning rate relative to the schedule's.
    AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, double weightDecay,
          const std::function<double(const std::string&)>& lrFactor = {})
        : m_params(std::move(params)), m_weightDecay(weightDecay) {
        for (auto& [name, p] : m_params) {
            m_m.push_back(torch::zeros_like(p));
            m_v.push_back(torch::zeros_like(p));
            m_factor.push_back(lrFactor ? lrFactor(name) : 1.0);
        }
    }
    void step(double baseLr) {
        torch::NoGradGuard ng;
        ++m_step;
        const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        const double c1 = 1.0 - std::pow(b1, double(m_step)), c2 = 1.0 - std::pow(b2, double(m_step));
        for (std::size_t i = 0; i < m_params.size(); ++i) {
            auto& [name, p] = m_params[i];
            if (!p.grad().defined()) continue;
            const double lr = baseLr * m_factor[i];
            const torch::Tensor g = p.grad();
            m_m[i].mul_(b1).add_(g, 1.0 - b1);
            m_v[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
            // No decay on biases, LayerNorm weights and the like (1-d tensors).
            if (m_weightDecay > 0 && p.dim() >= 2) p.mul_(1.0 - lr * m_weightDecay);
            p.addcdiv_(m_m[i] / c1, (m_v[i] / c2).sqrt_().add_(eps), -lr);
        }
    }
    void zeroGrad() {
        for (auto& [name, p] : m_params)
            if (p.grad().defined()) p.grad().zero_();
    }
    std::map<std::string, torch::Tensor> state() const {
        std::map<std::string, torch::Tensor> s;
        for (std::size_t i = 0; i < m_params.size(); ++i) {
            s["adam.m." + m_params[i].first] = m_m[i];
            s["adam.v." + m_params[i].first] = m_v[i];
        }
        s["adam.step"] = torch::tensor({m_step}, torch::kLong);
        return s;
    }
    void load(const std::map<std::string, torch::Tensor>& s) {
        torch::NoGradGuard ng;
        for (std::size_t i = 0; i < m_params.size(); ++i) {
            auto m = s.find("adam.m." + m_params[i].first), v = s.find("adam.v." + m_params[i].first);
            if (m == s.end() || v == s.end())
                throw UserError("checkpoint optimiser state lacks " + m_params[i].first + " (different model size?)");
            m_m[i].copy_(m->second);
            m_v[i].copy_(v->second);
        }
        m_step = s.at("adam.step").item<std::int64_t>();
    }
    const std::vector<std::pair<std::string, torch::Tensor>>& params() const { return m_params; }

private:
    std::vector<std::pair<std::string, torch::Tensor>> m_params;
    std::vector<torch::Tensor> m_m, m_v;
    std::vector<double> m_factor;
    double m_weightDecay;
    std::int64_t m_step = 0;
};

void writeText(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw Error("cannot write " + p.string());
}

std::string readText(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw UserError("cannot read " + p.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

TrainResult runTraining(const TrainConfig& cfg, const TrainRunOptions& opt) {
    auto say = [&](const std::string& m) { if (opt.onMessage) opt.onMessage(m); };
    const auto start = Clock::now();
    torch::set_num_threads(cfg.threads);
    torch::manual_seed(static_cast<std::uint64_t>(cfg.seed));
    const torch::Device device = parseDevice(cfg.device);

    const fs::path out(cfg.outputDir);
    const fs::path ckpt = out / "checkpoint";
    fs::create_directories(out);
    // One run per output directory: a second one would delete the first one's checkpoints.
    const int lockFd = ::open((out / "lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (lockFd < 0 || ::flock(lockFd, LOCK_EX | LOCK_NB) != 0)
        throw UserError("another training run is using " + out.string() + " (its lock file is held)");
    struct LockGuard {
        int fd;
        ~LockGuard() { ::close(fd); }
    } lockGuard{lockFd};
    if (opt.resume && !fs::exists(ckpt / "trainer_state.json"))
        throw UserError("nothing to resume: no checkpoint in " + ckpt.string());
    if (!opt.resume && fs::exists(ckpt / "trainer_state.json"))
        throw UserError(ckpt.string() + " already holds a checkpoint: pass --resume to continue it, or choose another output_dir");

    // Data.
    CorpusSources sources;
    sources.editFiles = cfg.editFiles;
    sources.wordnetDir = cfg.wordnetDir;
    sources.maxPlainSentences = cfg.maxPlainSentences;
    const TrainingCorpus corpus = TrainingCorpus::load(sources);
    say("data: " + std::to_string(corpus.cases.size()) + " edit cases, " + std::to_string(corpus.plainText.size()) +
        " plain sentences" + (corpus.skipped.empty() ? std::string() : ", " + std::to_string(corpus.skipped.size()) +
        " invalid records skipped (first: " + corpus.skipped.front() + ")"));

    // Model (and its tokenizer).
    ModelConfig mcfg = ModelConfig::load(cfg.modelConfig);
    std::unique_ptr<LarimarModel> model;
    if (opt.resume) {
        model = std::make_unique<LarimarModel>(LarimarModel::load(ckpt.string(), device));
    } else if (!cfg.initModel.empty()) {
        // The run's model config decides the architecture; the init model gives its tokenizer
        // and every tensor whose name and shape match. What it lacks (a part the config adds,
        // such as decoder.latent_output) keeps its fresh initialisation.
        LarimarModel init = LarimarModel::load(cfg.initModel, device);
        mcfg.encoder.vocab = init.tokenizer().vocabSize();
        mcfg.decoder.vocab = init.tokenizer().vocabSize();
        model = std::make_unique<LarimarModel>(LarimarModel::randomInit(mcfg, cfg.seed, init.tokenizer(), device));
        std::map<std::string, torch::Tensor> from;
        for (const auto& p : init.net()->named_parameters()) from.emplace(p.key(), p.value());
        std::string fresh, unused;
        std::size_t copied = 0;
        torch::NoGradGuard ng;
        for (auto& p : model->net()->named_parameters()) {
            const auto it = from.find(p.key());
            if (it != from.end() && it->second.sizes() == p.value().sizes()) {
                p.value().copy_(it->second);
                from.erase(it);
                ++copied;
            } else {
                fresh += (fresh.empty() ? "" : ", ") + p.key();
            }
        }
        // A fresh copy_map starts as the whitening of the embedding table just copied in.
        if (fresh.find("copy_map") != std::string::npos) model->decoder()->resetCopyMap();
        if (fresh.find("key_map") != std::string::npos) model->encoder()->resetKeyMap();
        for (const auto& [name, t] : from) unused += (unused.empty() ? "" : ", ") + name;
        if (copied == 0) throw UserError(cfg.initModel + " shares no weights with the model config " + cfg.modelConfig);
        say("model: starting from the weights in " + cfg.initModel +
            (fresh.empty() ? std::string() : "; newly initialised: " + fresh) +
            (unused.empty() ? std::string() : "; not in " + cfg.modelConfig + ", left out: " + unused));
    } else {
        Tokenizer tokenizer = [&] {
            if (!cfg.tokenizerDir.empty()) return Tokenizer::fromDirectory(cfg.tokenizerDir);
            BpeTrainerOptions bo;
            bo.vocabSize = cfg.tokenizerVocab;
            bo.special.bos = mcfg.specialTokens.bos;
            bo.special.eos = mcfg.specialTokens.eos;
            bo.special.pad = mcfg.specialTokens.pad;
            BpeTrainer bpe(bo);
            for (const auto& t : corpus.allTexts()) bpe.addText(t);
            say("tokenizer: training a " + std::to_string(cfg.tokenizerVocab) + "-token BPE on the corpus");
            return bpe.train().tokenizer;
        }();
        mcfg.encoder.vocab = tokenizer.vocabSize();
        mcfg.decoder.vocab = tokenizer.vocabSize();
        model = std::make_unique<LarimarModel>(LarimarModel::randomInit(mcfg, cfg.seed, tokenizer, device));
    }
    const Tokenizer& tok = model->tokenizer();
    TokenCache cache(tok);
    std::unordered_map<std::string, std::vector<std::int64_t>> encCache;
    const std::int64_t bos = tok.bosId(), eos = tok.eosId(), padId = tok.padId();
    const std::int64_t maxDec = model->config().decoder.maxPositions;
    say("model: " + std::to_string(model->config().parameterCount()) + " parameters, vocabulary " +
        std::to_string(tok.vocabSize()));
    if (cfg.keySubjectWeight > 0 && !model->config().keySlot)
        throw UserError("'key_subject_weight' needs a model with \"key_slot\": true (" + cfg.modelConfig + ")");
    // Where a text's subject stands among its encoder tokens: [first, end) or {0, 0} when not
    // found (the tokenizer may merge its first or last word with a neighbour).
    std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> subjectSpans;
    auto subjectSpan = [&](const std::string& text, const std::string& subject,
                           const std::vector<std::int64_t>& ids) -> std::pair<std::size_t, std::size_t> {
        if (subject.empty()) return {0, 0};
        const std::string key = text + '\x1f' + subject;
        auto it = subjectSpans.find(key);
        if (it != subjectSpans.end()) return it->second;
        std::pair<std::size_t, std::size_t> span{0, 0};
        for (const std::string& variant : {" " + subject, subject}) {
            const auto& sub = cache.ids(variant);
            if (sub.empty() || sub.size() + 2 > ids.size()) continue;
            for (std::size_t at = 1; at + sub.size() < ids.size() && span.second == 0; ++at)
                if (std::equal(sub.begin(), sub.end(), ids.begin() + std::ptrdiff_t(at),
                               [](std::int32_t a, std::int64_t b) { return std::int64_t(a) == b; }))
                    span = {at, at + sub.size()};
            if (span.second) break;
        }
        return subjectSpans.emplace(key, span).first->second;
    };
    if (cfg.bowWeight > 0 && !model->config().decoder.latentOutput)
        throw UserError("'bow_weight' needs a model with \"latent_output\": true in its decoder (" + cfg.modelConfig + ")");

    std::vector<std::pair<std::string, torch::Tensor>> named;
    for (const auto& item : model->net()->named_parameters()) named.emplace_back(item.key(), item.value());
    // The slots' pointers and the copy gate are a few small vectors whose useful values lie far
    // from where they start; Adam moves a weight about lr per step, too slow for them.
    AdamW optimizer(named, cfg.weightDecay, [&](const std::string& name) {
        for (const char* prefix : {"encoder.pointer.", "encoder.key_pointer.", "decoder.transformer.copy_gate.",
                                   "decoder.transformer.copy_scale.", "decoder.transformer.copy_norm."})
            if (name.rfind(prefix, 0) == 0) return cfg.slotLrFactor;
        return 1.0;
    });
    SamplerOptions so;
    so.episodesPerStep = cfg.episodesPerStep;
    so.episodeSize = cfg.episodeSize;
    so.counterfactualProb = cfg.counterfactualProb;
    so.neighbourProb = cfg.neighbourProb;
    so.selfProb = cfg.selfProb;
    so.plainPerStep = cfg.plainPerStep;
    so.textEpisodesPerStep = cfg.textEpisodesPerStep;
    EpisodeSampler sampler(corpus, so, cfg.seed);

    std::int64_t step = 0;
    double elapsedBefore = 0;
    if (opt.resume) {
        const json st = json::parse(readText(ckpt / "trainer_state.json"));
        step = st.at("step").get<std::int64_t>();
        elapsedBefore = st.at("elapsed_seconds").get<double>();
        sampler.restore(st.at("sampler").get<std::string>());
        auto extra = loadTensors((ckpt / "optimizer.safetensors").string(), device);
        optimizer.load(extra);
        torch::Tensor rng = extra.at("rng.cpu").to(torch::kCPU).contiguous();
        at::Generator gen = at::detail::getDefaultCPUGenerator();
        gen.set_state(rng);
        say("resumed at step " + std::to_string(step));
    }

    // The CSV log keeps exactly the rows up to the checkpoint's step, so a resumed run's log
    // reads as if it had never stopped.
    const fs::path logPath = out / "log.csv";
    {
        std::vector<std::string> keep;
        if (opt.resume && fs::exists(logPath)) {
            std::istringstream in(readText(logPath));
            std::string line;
            std::getline(in, line);
            while (std::getline(in, line)) {
                const auto comma = line.find(',');
                if (comma != std::string::npos && std::stoll(line.substr(0, comma)) <= step) keep.push_back(line);
            }
        }
        std::ofstream log(logPath, std::ios::trunc);
        log << "step,elapsed_s,lr,loss,memory_loss,lm_loss,kl,grad_norm,seq_per_s,edit_success,paraphrase_success,"
               "neighbourhood_success,generation_accuracy,bow_loss,key_loss\n";
        for (auto& l : keep) log << l << "\n";
    }
    std::ofstream log(logPath, std::ios::app);

    auto saveCheckpoint = [&](double elapsed) {
        const fs::path tmp = out / "checkpoint.tmp", old = out / "checkpoint.old";
        fs::remove_all(tmp);
        fs::create_directories(tmp);
        model->save(tmp.string());
        auto extra = optimizer.state();
        extra["rng.cpu"] = at::detail::getDefaultCPUGenerator().get_state();
        saveTensors((tmp / "optimizer.safetensors").string(), extra);
        writeText(tmp / "trainer_state.json",
                  json{{"step", step}, {"elapsed_seconds", elapsed}, {"sampler", sampler.state()},
                       {"config", json::parse(cfg.toJson())}}
                      .dump(2));
        fs::remove_all(old);
        if (fs::exists(ckpt)) fs::rename(ckpt, old);
        fs::rename(tmp, ckpt);
        fs::remove_all(old);
        log.flush();
    };

    std::vector<EditCase> evalCases;
    if (!cfg.evalFile.empty()) {
        evalCases = loadEditCases(cfg.evalFile);
        if (cfg.evalCases > 0 && evalCases.size() > static_cast<std::size_t>(cfg.evalCases))
            evalCases.resize(static_cast<std::size_t>(cfg.evalCases));
    }
    auto evaluate = [&]() {
        torch::NoGradGuard ng;
        model->net()->eval();
        auto tm = wrapTextModel(*model);
        CounterFactEvalOptions eo;
        eo.maxNeighbourhood = 2;
        CounterFactSummary s = evaluateCounterFact(*tm, evalCases, eo);
        model->net()->train();
        return s;
    };

    TrainResult result;
    result.checkpointDir = ckpt.string();
    result.logCsv = logPath.string();
    TrainStatus status;
    status.steps = cfg.steps;
    auto lastCheckpoint = Clock::now(), lastEval = Clock::now(), lastProgress = Clock::now();
    double emaLoss = -1;
    std::int64_t seqWindow = 0;
    auto windowStart = Clock::now();
    std::int64_t stepsThisRun = 0;
    model->net()->train();

    while (step < cfg.steps) {
        const TrainingStep batch = sampler.next();

        // --- encoder: every written fact and every query, bucketed by length ---
        std::vector<std::string> encTexts, encSubjects;
        for (const auto& ep : batch.episodes) {
            for (std::size_t w = 0; w < ep.writes.size(); ++w) {
                encTexts.push_back(ep.writes[w]);
                encSubjects.push_back(w < ep.writeSubjects.size() ? ep.writeSubjects[w] : std::string());
            }
            for (const auto& t : ep.targets) {
                encTexts.push_back(t.query);
                encSubjects.push_back(t.subject);
            }
        }
        std::vector<std::vector<std::int64_t>> encIds(encTexts.size());
        std::vector<std::size_t> encLen(encTexts.size());
        for (std::size_t i = 0; i < encTexts.size(); ++i) {
            auto& v = encIds[i];
            auto it = encCache.find(encTexts[i]);
            if (it == encCache.end()) {
                const auto ids = model->encoderTokens(encTexts[i]); // bos + text + eos, cut to max positions
                it = encCache.emplace(encTexts[i], std::vector<std::int64_t>(ids.begin(), ids.end())).first;
            }
            v = it->second;
            encLen[i] = v.size();
        }
        std::vector<torch::Tensor> meanParts, logvarParts;
        std::vector<std::int64_t> encOrder;
        torch::Tensor keyNll = torch::zeros({}, torch::TensorOptions().device(device));
        std::int64_t keyRows = 0;
        for (const auto& chunk : lengthBuckets(encLen, 4096)) {
            std::vector<const std::vector<std::int64_t>*> seqs;
            for (auto i : chunk) {
                seqs.push_back(&encIds[i]);
                encOrder.push_back(static_cast<std::int64_t>(i));
            }
            Padded p = pad(seqs, padId);
            const LatentDistribution d = model->encoder()->forward(p.ids.to(device), p.mask.to(device));
            if (cfg.keySubjectWeight > 0 && d.keyWeights.defined()) {
                torch::Tensor onSubject = torch::zeros(d.keyWeights.sizes(), torch::kFloat);
                auto a = onSubject.accessor<float, 2>();
                std::vector<std::int64_t> rowsWithSubject;
                for (std::size_t r = 0; r < chunk.size(); ++r) {
                    const auto span = subjectSpan(encTexts[chunk[r]], encSubjects[chunk[r]], encIds[chunk[r]]);
                    if (span.second == 0) continue;
                    for (std::size_t t = span.first; t < span.second; ++t) a[std::int64_t(r)][std::int64_t(t)] = 1.0f;
                    rowsWithSubject.push_back(std::int64_t(r));
                }
                if (!rowsWithSubject.empty()) {
                    const auto rows = torch::tensor(rowsWithSubject, torch::kLong).to(device);
                    const auto mass = (d.keyWeights.index_select(0, rows) *
                                       onSubject.to(device, d.keyWeights.scalar_type()).index_select(0, rows)).sum(1);
                    keyNll = keyNll - torch::log(mass.clamp_min(1e-6)).sum();
                    keyRows += std::int64_t(rowsWithSubject.size());
                }
            }
            meanParts.push_back(d.mean);
            logvarParts.push_back(d.logvar);
        }
        torch::Tensor inverse = torch::empty({static_cast<std::int64_t>(encOrder.size())}, torch::kLong);
        for (std::size_t i = 0; i < encOrder.size(); ++i) inverse[encOrder[i]] = static_cast<std::int64_t>(i);
        inverse = inverse.to(device);
        torch::Tensor mean = torch::cat(meanParts).index_select(0, inverse);
        torch::Tensor logvar = torch::cat(logvarParts).index_select(0, inverse);
        torch::Tensor z = cfg.latentNoise ? mean + torch::exp(0.5 * logvar) * torch::randn_like(mean) : mean;
        torch::Tensor kl = (-0.5 * (1 + logvar - mean.pow(2) - logvar.exp())).sum(1).mean();

        // --- memory: one-shot write per episode, read with every query ---
        const auto nEp = static_cast<std::int64_t>(batch.episodes.size());
        const auto nWrite = static_cast<std::int64_t>(cfg.episodeSize);
        std::int64_t qMax = 0;
        for (const auto& ep : batch.episodes) qMax = std::max<std::int64_t>(qMax, static_cast<std::int64_t>(ep.targets.size()));
        const std::int64_t latentSize = z.size(1);
        std::vector<torch::Tensor> writeRows, queryRows;
        std::int64_t row = 0;
        for (const auto& ep : batch.episodes) {
            writeRows.push_back(z.narrow(0, row, nWrite));
            row += nWrite;
            const auto nq = static_cast<std::int64_t>(ep.targets.size());
            torch::Tensor q = z.narrow(0, row, nq);
            row += nq;
            if (nq < qMax) q = torch::cat({q, torch::zeros({qMax - nq, latentSize}, q.options())});
            queryRows.push_back(q);
        }
        torch::Tensor readout = projectionReadout(torch::stack(writeRows), torch::stack(queryRows), cfg.ridge,
                                                  cfg.weightNoise);
        std::vector<torch::Tensor> latents;
        for (std::int64_t e = 0; e < nEp; ++e)
            latents.push_back(readout[e].narrow(0, 0, static_cast<std::int64_t>(batch.episodes[static_cast<std::size_t>(e)].targets.size())));
        torch::Tensor latent = torch::cat(latents); // [targets, C]

        // --- decoder: targets conditioned on their readout, plain text with no latent ---
        std::vector<DecodeExample> dec;
        auto makeExample = [&](const std::string& prefix, const std::string& answer, const std::string& plain,
                               std::int64_t latentRow) {
            DecodeExample ex;
            ex.latentRow = latentRow;
            std::vector<std::int32_t> toks;
            std::size_t answerStart;
            if (plain.empty()) {
                const auto& a = cache.ids(prefix);
                const auto& b = cache.ids(" " + answer);
                toks.insert(toks.end(), a.begin(), a.end());
                answerStart = toks.size();
                toks.insert(toks.end(), b.begin(), b.end());
            } else {
                const auto& a = cache.ids(plain);
                toks.assign(a.begin(), a.end());
                answerStart = toks.size();
            }
            const std::size_t maxText = static_cast<std::size_t>(maxDec - 1);
            if (toks.size() > maxText) toks.resize(maxText);
            ex.input.push_back(bos);
            for (auto t : toks) ex.input.push_back(t);
            for (auto t : toks) ex.labels.push_back(t);
            ex.labels.push_back(eos);
            for (std::size_t j = 0; j < ex.labels.size(); ++j)
                ex.weights.push_back(j >= answerStart ? static_cast<float>(cfg.answerWeight) : 1.0f);
            ex.answerStart = answerStart;
            dec.push_back(std::move(ex));
        };
        std::int64_t t = 0;
        for (const auto& ep : batch.episodes)
            for (const auto& target : ep.targets) {
                makeExample(target.prefix, target.answer, {}, t++);
                // A neighbour's answer is its own true one, not the written fact's: the decoder
                // must ignore the memory there, so it is no bag-of-words target for the readout.
                dec.back().answerInMemory = target.kind != DecodeTarget::Kind::Neighbour;
            }
        for (const auto& plain : batch.plainText) makeExample({}, {}, plain, -1);

        std::vector<std::size_t> decLen(dec.size());
        for (std::size_t i = 0; i < dec.size(); ++i) decLen[i] = dec[i].input.size() + (dec[i].latentRow < 0 ? 10000 : 0);
        torch::Tensor memNll = torch::zeros({}, latent.options()), memW = torch::zeros({}, latent.options());
        torch::Tensor lmNll = torch::zeros({}, latent.options()), lmW = torch::zeros({}, latent.options());
        // The +10000 keeps memory targets and plain text in separate buckets: plain text runs
        // with no latent at all (the decoder's plain-LM path).
        for (const auto& chunk : lengthBuckets(decLen, 4096 + 10000)) {
            std::vector<const std::vector<std::int64_t>*> in, lab;
            std::vector<const std::vector<float>*> wts;
            std::vector<std::int64_t> rows;
            for (auto i : chunk) {
                in.push_back(&dec[i].input);
                lab.push_back(&dec[i].labels);
                wts.push_back(&dec[i].weights);
                rows.push_back(dec[i].latentRow);
            }
            Padded p = pad(in, padId, &lab, &wts);
            const bool plain = rows.front() < 0;
            torch::Tensor lat;
            if (!plain) lat = latent.index_select(0, torch::tensor(rows, torch::kLong).to(device));
            torch::Tensor logits = model->decoder()->forward(p.ids.to(device), p.mask.to(device), lat);
            torch::Tensor nll = -torch::log_softmax(logits, -1).gather(-1, p.labels.to(device).unsqueeze(-1)).squeeze(-1);
            torch::Tensor w = p.weights.to(device);
            if (plain) {
                lmNll = lmNll + (nll * w).sum();
                lmW = lmW + w.sum();
            } else {
                memNll = memNll + (nll * w).sum();
                memW = memW + w.sum();
            }
        }
        torch::Tensor memoryLoss = memNll / memW.clamp_min(1.0);
        torch::Tensor lmLoss = lmNll / lmW.clamp_min(1.0);
        torch::Tensor loss = memoryLoss + cfg.lmWeight * lmLoss + cfg.klBeta * kl;
        if (cfg.latentSpreadWeight > 0 && mean.size(0) > 1) {
            // Over this step's encodings, on the learned dimensions (a word slot's spread is the
            // words' own; pushing it up would only inflate the embedding table).
            const torch::Tensor features = mean.narrow(1, 0, model->config().featureSize());
            const torch::Tensor spread = torch::sqrt(features.var(0) + 1e-4); // [C]
            loss = loss + cfg.latentSpreadWeight * torch::relu(cfg.latentSpread - spread).mean();
        }
        torch::Tensor keyLoss;
        if (cfg.keySubjectWeight > 0) {
            keyLoss = keyNll / double(std::max<std::int64_t>(keyRows, 1));
            loss = loss + cfg.keySubjectWeight * keyLoss;
        }
        torch::Tensor bowLoss;
        if (cfg.bowWeight > 0 && latent.size(0) > 0) {
            // Each memory target's answer tokens as a bag: the row's target distribution for a
            // softmax over the vocabulary from the readout alone. Only the answer: the prompt's
            // words and eos are predictable without the memory and would drown its signal.
            torch::Tensor bag = torch::zeros({latent.size(0), model->config().decoder.vocab}, torch::kFloat);
            auto b = bag.accessor<float, 2>();
            for (const auto& ex : dec)
                if (ex.latentRow >= 0 && ex.answerInMemory)
                    for (std::size_t j = ex.answerStart; j + 1 < ex.labels.size(); ++j) b[ex.latentRow][ex.labels[j]] += 1.0f;
            bag = bag.to(device, latent.scalar_type());
            const torch::Tensor logp = torch::log_softmax(model->decoder()->latentWordLogits(latent), -1);
            bowLoss = -(bag * logp).sum() / bag.sum().clamp_min(1.0);
            loss = loss + cfg.bowWeight * bowLoss;
        }

        optimizer.zeroGrad();
        loss.backward();
        const double gradNorm = torch::nn::utils::clip_grad_norm_(
            [&] {
                std::vector<torch::Tensor> ps;
                for (auto& [n, p] : optimizer.params()) ps.push_back(p);
                return ps;
            }(),
            cfg.gradClip);
        const double lr = cfg.learningRate(step);
        optimizer.step(lr);
        ++step;
        ++stepsThisRun;
        seqWindow += static_cast<std::int64_t>(dec.size() + encTexts.size());

        const double lossV = loss.item<double>();
        emaLoss = emaLoss < 0 ? lossV : 0.98 * emaLoss + 0.02 * lossV;
        const auto now = Clock::now();
        const double elapsed = elapsedBefore + std::chrono::duration<double>(now - start).count();
        status.step = step;
        status.loss = emaLoss;
        status.memoryLoss = memoryLoss.item<double>();
        status.lmLoss = lmLoss.item<double>();
        status.bowLoss = bowLoss.defined() ? bowLoss.item<double>() : -1.0;
        status.keyLoss = keyLoss.defined() ? keyLoss.item<double>() : -1.0;
        status.kl = kl.item<double>();
        status.gradNorm = gradNorm;
        status.lr = lr;
        status.elapsedSeconds = elapsed;

        std::string evalCols = ",,,";
        if (!evalCases.empty() && std::chrono::duration<double>(now - lastEval).count() > cfg.evalMinutes * 60) {
            const CounterFactSummary s = evaluate();
            std::ostringstream e;
            e << s.editSuccess << ',' << s.paraphraseSuccess << ',' << s.neighbourhoodSuccess << ','
              << s.generationAccuracy;
            evalCols = e.str();
            say("eval at step " + std::to_string(step) + " on " + std::to_string(s.cases) + " cases: edit " +
                std::to_string(s.editSuccess) + ", paraphrase " + std::to_string(s.paraphraseSuccess) +
                ", neighbourhood " + std::to_string(s.neighbourhoodSuccess) + ", generation " +
                std::to_string(s.generationAccuracy));
            lastEval = Clock::now();
        }
        if (step % 10 == 0 || evalCols != ",,,") {
            log << step << ',' << elapsed << ',' << lr << ',' << lossV << ',' << status.memoryLoss << ','
                << status.lmLoss << ',' << status.kl << ',' << gradNorm << ',' << status.sequencesPerSecond << ','
                << evalCols << ',';
            if (status.bowLoss >= 0) log << status.bowLoss;
            log << ',';
            if (status.keyLoss >= 0) log << status.keyLoss;
            log << '\n';
        }
        if (std::chrono::duration<double>(now - lastProgress).count() > 5) {
            status.sequencesPerSecond = double(seqWindow) / std::chrono::duration<double>(now - windowStart).count();
            const double stepsPerSec = double(stepsThisRun) / std::chrono::duration<double>(now - start).count();
            status.etaSeconds = stepsPerSec > 0 ? double(cfg.steps - step) / stepsPerSec : 0;
            if (opt.onProgress) opt.onProgress(status);
            lastProgress = now;
            seqWindow = 0;
            windowStart = now;
        }

        const bool timeUp = opt.maxMinutes > 0 && std::chrono::duration<double>(now - start).count() > opt.maxMinutes * 60;
        const bool stepsUp = opt.maxSteps > 0 && stepsThisRun >= opt.maxSteps;
        const bool cancelled = opt.cancel && opt.cancel->load();
        if (std::chrono::duration<double>(now - lastCheckpoint).count() > cfg.checkpointMinutes * 60 || timeUp ||
            stepsUp || cancelled || step == cfg.steps) {
            saveCheckpoint(elapsed);
            lastCheckpoint = Clock::now();
            say("checkpoint at step " + std::to_string(step));
        }
        if (timeUp || stepsUp || cancelled) break;
    }
    log.close();

    result.step = step;
    result.last = status;
    result.finished = step >= cfg.steps;
    if (result.finished) {
        const fs::path modelDir = out / "model";
        fs::remove_all(modelDir);
        model->save(modelDir.string());
        result.modelDir = modelDir.string();
    }
    // Loss plot from the whole log.
    {
        Chart chart;
        chart.title = "Training loss";
        chart.xLabel = "step";
        chart.yLabel = "loss (nats per token, weighted)";
        Series total{"total", {}, {}}, memory{"memory targets", {}, {}}, lm{"plain LM", {}, {}};
        std::istringstream in(readText(logPath));
        std::string line;
        std::getline(in, line);
        while (std::getline(in, line)) {
            std::vector<std::string> f;
            std::stringstream ls(line);
            std::string cell;
            while (std::getline(ls, cell, ',')) f.push_back(cell);
            if (f.size() < 6) continue;
            const double s = std::stod(f[0]);
            total.x.push_back(s);
            total.y.push_back(std::stod(f[3]));
            memory.x.push_back(s);
            memory.y.push_back(std::stod(f[4]));
            lm.x.push_back(s);
            lm.y.push_back(std::stod(f[5]));
        }
        chart.series = {total, memory, lm};
        result.lossPlot = (out / "loss.png").string();
        writeChart(result.lossPlot, chart);
    }
    return result;
}

} // namespace larimar
