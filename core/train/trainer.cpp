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
#include "core/util/file_io.h"
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
#include <optional>
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

/// One training run, in the phases runTraining goes through: setup (output directory, data,
/// model, optimiser and sampler), resume from the checkpoint, the steps (encode, memory,
/// decode, loss, optimise; then record and checkpoint), and the end (model, loss plot). The
/// members are the state that lives across steps; each step's tensors stay local to it.
class Trainer {
public:
    Trainer(const TrainConfig& cfg, const TrainRunOptions& opt)
        : m_cfg(cfg), m_opt(opt), m_start(Clock::now()), m_out(cfg.outputDir), m_ckpt(m_out / "checkpoint"),
          m_logPath(m_out / "log.csv") {}
    ~Trainer() {
        if (m_lockFd >= 0) ::close(m_lockFd);
    }
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    TrainResult run() {
        torch::set_num_threads(m_cfg.threads);
        torch::manual_seed(static_cast<std::uint64_t>(m_cfg.seed));
        m_device = parseDevice(m_cfg.device);
        lockOutputDirectory();
        loadData();
        buildModel();
        makeOptimiserAndSampler();
        if (m_opt.resume) restoreCheckpoint();
        openLog();
        loadEvalCases();

        m_status.steps = m_cfg.steps;
        m_lastCheckpoint = m_lastEval = m_lastProgress = m_windowStart = Clock::now();
        m_model->net()->train();
        while (m_step < m_cfg.steps) {
            const StepLosses losses = trainStep();
            if (!recordAndCheckpoint(losses)) break;
        }
        m_log.close();
        return finish();
    }

private:
    /// What one step measured, for the status, the log and the progress report.
    struct StepLosses {
        double loss = 0, memory = 0, lm = 0, kl = 0, bow = -1, key = -1, gradNorm = 0, lr = 0;
    };
    /// The encoder's output for a step: every written fact, then every query, episode by episode.
    struct Encoded {
        std::size_t texts = 0;
        torch::Tensor mean, logvar, z, kl;
        torch::Tensor keyNll; ///< summed over the rows whose subject was found
        std::int64_t keyRows = 0;
    };
    struct DecodeLosses {
        torch::Tensor memoryNll, memoryWeight, lmNll, lmWeight;
    };

    void say(const std::string& m) const {
        if (m_opt.onMessage) m_opt.onMessage(m);
    }

    // --- setup ---------------------------------------------------------------------------

    void lockOutputDirectory() {
        fs::create_directories(m_out);
        // One run per output directory: a second one would delete the first one's checkpoints.
        m_lockFd = ::open((m_out / "lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
        if (m_lockFd < 0 || ::flock(m_lockFd, LOCK_EX | LOCK_NB) != 0)
            throw UserError("another training run is using " + m_out.string() + " (its lock file is held)");
        if (m_opt.resume && !fs::exists(m_ckpt / "trainer_state.json"))
            throw UserError("nothing to resume: no checkpoint in " + m_ckpt.string());
        if (!m_opt.resume && fs::exists(m_ckpt / "trainer_state.json"))
            throw UserError(m_ckpt.string() +
                            " already holds a checkpoint: pass --resume to continue it, or choose another output_dir");
    }

    void loadData() {
        CorpusSources sources;
        sources.editFiles = m_cfg.editFiles;
        sources.wordnetDir = m_cfg.wordnetDir;
        sources.maxPlainSentences = m_cfg.maxPlainSentences;
        m_corpus = TrainingCorpus::load(sources);
        say("data: " + std::to_string(m_corpus.cases.size()) + " edit cases, " +
            std::to_string(m_corpus.plainText.size()) + " plain sentences" +
            (m_corpus.skipped.empty() ? std::string()
                                      : ", " + std::to_string(m_corpus.skipped.size()) +
                                            " invalid records skipped (first: " + m_corpus.skipped.front() + ")"));
    }

    /// The model (and its tokenizer): the checkpoint's, one built on init_model's weights, or a
    /// fresh one with a tokenizer from tokenizer_dir or trained on the corpus.
    void buildModel() {
        ModelConfig mcfg = ModelConfig::load(m_cfg.modelConfig);
        if (m_opt.resume)
            m_model = std::make_unique<LarimarModel>(LarimarModel::load(m_ckpt.string(), m_device));
        else if (!m_cfg.initModel.empty())
            startFromInitModel(mcfg);
        else
            startFresh(mcfg);
        const Tokenizer& tok = m_model->tokenizer();
        m_cache = std::make_unique<TokenCache>(tok);
        m_bos = tok.bosId(), m_eos = tok.eosId(), m_padId = tok.padId();
        m_maxDec = m_model->config().decoder.maxPositions;
        say("model: " + std::to_string(m_model->config().parameterCount()) + " parameters, vocabulary " +
            std::to_string(tok.vocabSize()));
        if (m_cfg.keySubjectWeight > 0 && !m_model->config().keySlot)
            throw UserError("'key_subject_weight' needs a model with \"key_slot\": true (" + m_cfg.modelConfig + ")");
        if (m_cfg.bowWeight > 0 && !m_model->config().decoder.latentOutput)
            throw UserError("'bow_weight' needs a model with \"latent_output\": true in its decoder (" +
                            m_cfg.modelConfig + ")");
    }

    /// The run's model config decides the architecture; the init model gives its tokenizer and
    /// every tensor whose name and shape match. What it lacks (a part the config adds, such as
    /// decoder.latent_output) keeps its fresh initialisation.
    void startFromInitModel(ModelConfig& mcfg) {
        LarimarModel init = LarimarModel::load(m_cfg.initModel, m_device);
        mcfg.encoder.vocab = init.tokenizer().vocabSize();
        mcfg.decoder.vocab = init.tokenizer().vocabSize();
        m_model = std::make_unique<LarimarModel>(LarimarModel::randomInit(mcfg, m_cfg.seed, init.tokenizer(), m_device));
        std::map<std::string, torch::Tensor> from;
        for (const auto& p : init.net()->named_parameters()) from.emplace(p.key(), p.value());
        std::string fresh, unused;
        std::size_t copied = 0;
        torch::NoGradGuard ng;
        for (auto& p : m_model->net()->named_parameters()) {
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
        if (fresh.find("copy_map") != std::string::npos) m_model->decoder()->resetCopyMap();
        if (fresh.find("key_map") != std::string::npos) m_model->encoder()->resetKeyMap();
        for (const auto& [name, t] : from) unused += (unused.empty() ? "" : ", ") + name;
        if (copied == 0)
            throw UserError(m_cfg.initModel + " shares no weights with the model config " + m_cfg.modelConfig);
        say("model: starting from the weights in " + m_cfg.initModel +
            (fresh.empty() ? std::string() : "; newly initialised: " + fresh) +
            (unused.empty() ? std::string() : "; not in " + m_cfg.modelConfig + ", left out: " + unused));
    }

    void startFresh(ModelConfig& mcfg) {
        Tokenizer tokenizer = [&] {
            if (!m_cfg.tokenizerDir.empty()) return Tokenizer::fromDirectory(m_cfg.tokenizerDir);
            BpeTrainerOptions bo;
            bo.vocabSize = m_cfg.tokenizerVocab;
            bo.special.bos = mcfg.specialTokens.bos;
            bo.special.eos = mcfg.specialTokens.eos;
            bo.special.pad = mcfg.specialTokens.pad;
            BpeTrainer bpe(bo);
            for (const auto& t : m_corpus.allTexts()) bpe.addText(t);
            say("tokenizer: training a " + std::to_string(m_cfg.tokenizerVocab) + "-token BPE on the corpus");
            return bpe.train().tokenizer;
        }();
        mcfg.encoder.vocab = tokenizer.vocabSize();
        mcfg.decoder.vocab = tokenizer.vocabSize();
        m_model = std::make_unique<LarimarModel>(LarimarModel::randomInit(mcfg, m_cfg.seed, tokenizer, m_device));
    }

    void makeOptimiserAndSampler() {
        std::vector<std::pair<std::string, torch::Tensor>> named;
        for (const auto& item : m_model->net()->named_parameters()) named.emplace_back(item.key(), item.value());
        // The slots' pointers and the copy gate are a few small vectors whose useful values lie far
        // from where they start; Adam moves a weight about lr per step, too slow for them.
        const double slotLrFactor = m_cfg.slotLrFactor;
        m_optimizer.emplace(named, m_cfg.weightDecay, [slotLrFactor](const std::string& name) {
            for (const char* prefix : {"encoder.pointer.", "encoder.key_pointer.", "decoder.transformer.copy_gate.",
                                       "decoder.transformer.copy_scale.", "decoder.transformer.copy_norm."})
                if (name.rfind(prefix, 0) == 0) return slotLrFactor;
            return 1.0;
        });
        SamplerOptions so;
        so.episodesPerStep = m_cfg.episodesPerStep;
        so.episodeSize = m_cfg.episodeSize;
        so.counterfactualProb = m_cfg.counterfactualProb;
        so.neighbourProb = m_cfg.neighbourProb;
        so.selfProb = m_cfg.selfProb;
        so.plainPerStep = m_cfg.plainPerStep;
        so.textEpisodesPerStep = m_cfg.textEpisodesPerStep;
        m_sampler.emplace(m_corpus, so, m_cfg.seed);
    }

    // --- checkpoint and resume -------------------------------------------------------------

    void restoreCheckpoint() {
        const json st = json::parse(readFile((m_ckpt / "trainer_state.json").string()));
        m_step = st.at("step").get<std::int64_t>();
        m_elapsedBefore = st.at("elapsed_seconds").get<double>();
        m_sampler->restore(st.at("sampler").get<std::string>());
        auto extra = loadTensors((m_ckpt / "optimizer.safetensors").string(), m_device);
        m_optimizer->load(extra);
        torch::Tensor rng = extra.at("rng.cpu").to(torch::kCPU).contiguous();
        at::Generator gen = at::detail::getDefaultCPUGenerator();
        gen.set_state(rng);
        say("resumed at step " + std::to_string(m_step));
    }

    /// The CSV log keeps exactly the rows up to the checkpoint's step, so a resumed run's log
    /// reads as if it had never stopped.
    void openLog() {
        std::vector<std::string> keep;
        if (m_opt.resume && fs::exists(m_logPath)) {
            std::istringstream in(readFile(m_logPath.string()));
            std::string line;
            std::getline(in, line);
            while (std::getline(in, line)) {
                const auto comma = line.find(',');
                if (comma != std::string::npos && std::stoll(line.substr(0, comma)) <= m_step) keep.push_back(line);
            }
        }
        {
            std::ofstream log(m_logPath, std::ios::trunc);
            log << "step,elapsed_s,lr,loss,memory_loss,lm_loss,kl,grad_norm,seq_per_s,edit_success,paraphrase_success,"
                   "neighbourhood_success,generation_accuracy,bow_loss,key_loss\n";
            for (auto& l : keep) log << l << "\n";
        }
        m_log.open(m_logPath, std::ios::app);
    }

    /// Written beside the old one and renamed over it, so a crash leaves one whole checkpoint.
    void saveCheckpoint(double elapsed) {
        const fs::path tmp = m_out / "checkpoint.tmp", old = m_out / "checkpoint.old";
        fs::remove_all(tmp);
        fs::create_directories(tmp);
        m_model->save(tmp.string());
        auto extra = m_optimizer->state();
        extra["rng.cpu"] = at::detail::getDefaultCPUGenerator().get_state();
        saveTensors((tmp / "optimizer.safetensors").string(), extra);
        writeFileAtomically((tmp / "trainer_state.json").string(),
                  json{{"step", m_step}, {"elapsed_seconds", elapsed}, {"sampler", m_sampler->state()},
                       {"config", json::parse(m_cfg.toJson())}}
                      .dump(2));
        fs::remove_all(old);
        if (fs::exists(m_ckpt)) fs::rename(m_ckpt, old);
        fs::rename(tmp, m_ckpt);
        fs::remove_all(old);
        m_log.flush();
    }

    // --- evaluation ------------------------------------------------------------------------

    void loadEvalCases() {
        if (m_cfg.evalFile.empty()) return;
        m_evalCases = loadEditCases(m_cfg.evalFile);
        if (m_cfg.evalCases > 0 && m_evalCases.size() > static_cast<std::size_t>(m_cfg.evalCases))
            m_evalCases.resize(static_cast<std::size_t>(m_cfg.evalCases));
    }

    CounterFactSummary evaluate() {
        torch::NoGradGuard ng;
        m_model->net()->eval();
        auto tm = wrapTextModel(*m_model);
        CounterFactEvalOptions eo;
        eo.maxNeighbourhood = 2;
        CounterFactSummary s = evaluateCounterFact(*tm, m_evalCases, eo);
        m_model->net()->train();
        return s;
    }

    // --- one step --------------------------------------------------------------------------

    StepLosses trainStep() {
        const TrainingStep batch = m_sampler->next();
        const Encoded enc = encode(batch);
        const torch::Tensor latent = readMemory(batch, enc.z); // [targets, C]
        const std::vector<DecodeExample> dec = decodeExamples(batch);
        const DecodeLosses d = decode(dec, latent);

        torch::Tensor memoryLoss = d.memoryNll / d.memoryWeight.clamp_min(1.0);
        torch::Tensor lmLoss = d.lmNll / d.lmWeight.clamp_min(1.0);
        torch::Tensor loss = memoryLoss + m_cfg.lmWeight * lmLoss + m_cfg.klBeta * enc.kl;
        if (m_cfg.latentSpreadWeight > 0 && enc.mean.size(0) > 1) {
            // Over this step's encodings, on the learned dimensions (a word slot's spread is the
            // words' own; pushing it up would only inflate the embedding table).
            const torch::Tensor features = enc.mean.narrow(1, 0, m_model->config().featureSize());
            const torch::Tensor spread = torch::sqrt(features.var(0) + 1e-4); // [C]
            loss = loss + m_cfg.latentSpreadWeight * torch::relu(m_cfg.latentSpread - spread).mean();
        }
        torch::Tensor keyLoss;
        if (m_cfg.keySubjectWeight > 0) {
            keyLoss = enc.keyNll / double(std::max<std::int64_t>(enc.keyRows, 1));
            loss = loss + m_cfg.keySubjectWeight * keyLoss;
        }
        torch::Tensor bowLoss;
        if (m_cfg.bowWeight > 0 && latent.size(0) > 0) {
            bowLoss = bagOfWordsLoss(dec, latent);
            loss = loss + m_cfg.bowWeight * bowLoss;
        }

        StepLosses r;
        r.gradNorm = optimise(loss, r.lr);
        m_seqWindow += static_cast<std::int64_t>(dec.size() + enc.texts);
        r.loss = loss.item<double>();
        r.memory = memoryLoss.item<double>();
        r.lm = lmLoss.item<double>();
        r.bow = bowLoss.defined() ? bowLoss.item<double>() : -1.0;
        r.key = keyLoss.defined() ? keyLoss.item<double>() : -1.0;
        r.kl = enc.kl.item<double>();
        return r;
    }

    /// Where a text's subject stands among its encoder tokens: [first, end) or {0, 0} when not
    /// found (the tokenizer may merge its first or last word with a neighbour).
    std::pair<std::size_t, std::size_t> subjectSpan(const std::string& text, const std::string& subject,
                                                    const std::vector<std::int64_t>& ids) {
        if (subject.empty()) return {0, 0};
        const std::string key = text + '\x1f' + subject;
        auto it = m_subjectSpans.find(key);
        if (it != m_subjectSpans.end()) return it->second;
        std::pair<std::size_t, std::size_t> span{0, 0};
        for (const std::string& variant : {" " + subject, subject}) {
            const auto& sub = m_cache->ids(variant);
            if (sub.empty() || sub.size() + 2 > ids.size()) continue;
            for (std::size_t at = 1; at + sub.size() < ids.size() && span.second == 0; ++at)
                if (std::equal(sub.begin(), sub.end(), ids.begin() + std::ptrdiff_t(at),
                               [](std::int32_t a, std::int64_t b) { return std::int64_t(a) == b; }))
                    span = {at, at + sub.size()};
            if (span.second) break;
        }
        return m_subjectSpans.emplace(key, span).first->second;
    }

    /// The encoder: every written fact and every query, bucketed by length.
    Encoded encode(const TrainingStep& batch) {
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
            auto it = m_encCache.find(encTexts[i]);
            if (it == m_encCache.end()) {
                const auto ids = m_model->encoderTokens(encTexts[i]); // bos + text + eos, cut to max positions
                it = m_encCache.emplace(encTexts[i], std::vector<std::int64_t>(ids.begin(), ids.end())).first;
            }
            v = it->second;
            encLen[i] = v.size();
        }
        Encoded enc;
        enc.texts = encTexts.size();
        std::vector<torch::Tensor> meanParts, logvarParts;
        std::vector<std::int64_t> encOrder;
        enc.keyNll = torch::zeros({}, torch::TensorOptions().device(m_device));
        for (const auto& chunk : lengthBuckets(encLen, 4096)) {
            std::vector<const std::vector<std::int64_t>*> seqs;
            for (auto i : chunk) {
                seqs.push_back(&encIds[i]);
                encOrder.push_back(static_cast<std::int64_t>(i));
            }
            Padded p = pad(seqs, m_padId);
            const LatentDistribution d = m_model->encoder()->forward(p.ids.to(m_device), p.mask.to(m_device));
            if (m_cfg.keySubjectWeight > 0 && d.keyWeights.defined()) {
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
                    const auto rows = torch::tensor(rowsWithSubject, torch::kLong).to(m_device);
                    const auto mass = (d.keyWeights.index_select(0, rows) *
                                       onSubject.to(m_device, d.keyWeights.scalar_type()).index_select(0, rows))
                                          .sum(1);
                    enc.keyNll = enc.keyNll - torch::log(mass.clamp_min(1e-6)).sum();
                    enc.keyRows += std::int64_t(rowsWithSubject.size());
                }
            }
            meanParts.push_back(d.mean);
            logvarParts.push_back(d.logvar);
        }
        torch::Tensor inverse = torch::empty({static_cast<std::int64_t>(encOrder.size())}, torch::kLong);
        for (std::size_t i = 0; i < encOrder.size(); ++i) inverse[encOrder[i]] = static_cast<std::int64_t>(i);
        inverse = inverse.to(m_device);
        enc.mean = torch::cat(meanParts).index_select(0, inverse);
        enc.logvar = torch::cat(logvarParts).index_select(0, inverse);
        enc.z = m_cfg.latentNoise ? enc.mean + torch::exp(0.5 * enc.logvar) * torch::randn_like(enc.mean) : enc.mean;
        enc.kl = (-0.5 * (1 + enc.logvar - enc.mean.pow(2) - enc.logvar.exp())).sum(1).mean();
        return enc;
    }

    /// The memory: a one-shot write per episode, read with each of its queries. [targets, C]
    torch::Tensor readMemory(const TrainingStep& batch, const torch::Tensor& z) const {
        const auto nEp = static_cast<std::int64_t>(batch.episodes.size());
        const auto nWrite = static_cast<std::int64_t>(m_cfg.episodeSize);
        std::int64_t qMax = 0;
        for (const auto& ep : batch.episodes)
            qMax = std::max<std::int64_t>(qMax, static_cast<std::int64_t>(ep.targets.size()));
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
        torch::Tensor readout =
            projectionReadout(torch::stack(writeRows), torch::stack(queryRows), m_cfg.ridge, m_cfg.weightNoise);
        std::vector<torch::Tensor> latents;
        for (std::int64_t e = 0; e < nEp; ++e)
            latents.push_back(readout[e].narrow(
                0, 0, static_cast<std::int64_t>(batch.episodes[static_cast<std::size_t>(e)].targets.size())));
        return torch::cat(latents);
    }

    /// The decoder's examples: each target conditioned on its readout (row t of the latent),
    /// then the plain text with no latent.
    std::vector<DecodeExample> decodeExamples(const TrainingStep& batch) {
        std::vector<DecodeExample> dec;
        auto makeExample = [&](const std::string& prefix, const std::string& answer, const std::string& plain,
                               std::int64_t latentRow) {
            DecodeExample ex;
            ex.latentRow = latentRow;
            std::vector<std::int32_t> toks;
            std::size_t answerStart;
            if (plain.empty()) {
                const auto& a = m_cache->ids(prefix);
                const auto& b = m_cache->ids(" " + answer);
                toks.insert(toks.end(), a.begin(), a.end());
                answerStart = toks.size();
                toks.insert(toks.end(), b.begin(), b.end());
            } else {
                const auto& a = m_cache->ids(plain);
                toks.assign(a.begin(), a.end());
                answerStart = toks.size();
            }
            const std::size_t maxText = static_cast<std::size_t>(m_maxDec - 1);
            if (toks.size() > maxText) toks.resize(maxText);
            ex.input.push_back(m_bos);
            for (auto t : toks) ex.input.push_back(t);
            for (auto t : toks) ex.labels.push_back(t);
            ex.labels.push_back(m_eos);
            for (std::size_t j = 0; j < ex.labels.size(); ++j)
                ex.weights.push_back(j >= answerStart ? static_cast<float>(m_cfg.answerWeight) : 1.0f);
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
        return dec;
    }

    /// Weighted NLL sums of the memory targets and of the plain text, bucketed by length.
    DecodeLosses decode(const std::vector<DecodeExample>& dec, const torch::Tensor& latent) {
        std::vector<std::size_t> decLen(dec.size());
        for (std::size_t i = 0; i < dec.size(); ++i)
            decLen[i] = dec[i].input.size() + (dec[i].latentRow < 0 ? 10000 : 0);
        DecodeLosses d{torch::zeros({}, latent.options()), torch::zeros({}, latent.options()),
                       torch::zeros({}, latent.options()), torch::zeros({}, latent.options())};
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
            Padded p = pad(in, m_padId, &lab, &wts);
            const bool plain = rows.front() < 0;
            torch::Tensor lat;
            if (!plain) lat = latent.index_select(0, torch::tensor(rows, torch::kLong).to(m_device));
            torch::Tensor logits = m_model->decoder()->forward(p.ids.to(m_device), p.mask.to(m_device), lat);
            torch::Tensor nll =
                -torch::log_softmax(logits, -1).gather(-1, p.labels.to(m_device).unsqueeze(-1)).squeeze(-1);
            torch::Tensor w = p.weights.to(m_device);
            if (plain) {
                d.lmNll = d.lmNll + (nll * w).sum();
                d.lmWeight = d.lmWeight + w.sum();
            } else {
                d.memoryNll = d.memoryNll + (nll * w).sum();
                d.memoryWeight = d.memoryWeight + w.sum();
            }
        }
        return d;
    }

    /// Each memory target's answer tokens as a bag: the row's target distribution for a softmax
    /// over the vocabulary from the readout alone. Only the answer: the prompt's words and eos
    /// are predictable without the memory and would drown its signal.
    torch::Tensor bagOfWordsLoss(const std::vector<DecodeExample>& dec, const torch::Tensor& latent) {
        torch::Tensor bag = torch::zeros({latent.size(0), m_model->config().decoder.vocab}, torch::kFloat);
        auto b = bag.accessor<float, 2>();
        for (const auto& ex : dec)
            if (ex.latentRow >= 0 && ex.answerInMemory)
                for (std::size_t j = ex.answerStart; j + 1 < ex.labels.size(); ++j) b[ex.latentRow][ex.labels[j]] += 1.0f;
        bag = bag.to(m_device, latent.scalar_type());
        const torch::Tensor logp = torch::log_softmax(m_model->decoder()->latentWordLogits(latent), -1);
        return -(bag * logp).sum() / bag.sum().clamp_min(1.0);
    }

    /// Backward, gradient clipping and one AdamW step at the schedule's rate; the gradient norm.
    double optimise(torch::Tensor& loss, double& lr) {
        m_optimizer->zeroGrad();
        loss.backward();
        std::vector<torch::Tensor> ps;
        for (auto& [n, p] : m_optimizer->params()) ps.push_back(p);
        const double gradNorm = torch::nn::utils::clip_grad_norm_(ps, m_cfg.gradClip);
        lr = m_cfg.learningRate(m_step);
        m_optimizer->step(lr);
        ++m_step;
        ++m_stepsThisRun;
        return gradNorm;
    }

    // --- after each step: status, evaluation, log, progress, checkpoint --------------------

    /// False when this run is to stop (time, steps, cancel), after its checkpoint.
    bool recordAndCheckpoint(const StepLosses& l) {
        m_emaLoss = m_emaLoss < 0 ? l.loss : 0.98 * m_emaLoss + 0.02 * l.loss;
        const auto now = Clock::now();
        const double elapsed = m_elapsedBefore + std::chrono::duration<double>(now - m_start).count();
        m_status.step = m_step;
        m_status.loss = m_emaLoss;
        m_status.memoryLoss = l.memory;
        m_status.lmLoss = l.lm;
        m_status.bowLoss = l.bow;
        m_status.keyLoss = l.key;
        m_status.kl = l.kl;
        m_status.gradNorm = l.gradNorm;
        m_status.lr = l.lr;
        m_status.elapsedSeconds = elapsed;

        std::string evalCols = ",,,";
        if (!m_evalCases.empty() && std::chrono::duration<double>(now - m_lastEval).count() > m_cfg.evalMinutes * 60) {
            const CounterFactSummary s = evaluate();
            std::ostringstream e;
            e << s.editSuccess << ',' << s.paraphraseSuccess << ',' << s.neighbourhoodSuccess << ','
              << s.generationAccuracy;
            evalCols = e.str();
            say("eval at step " + std::to_string(m_step) + " on " + std::to_string(s.cases) + " cases: edit " +
                std::to_string(s.editSuccess) + ", paraphrase " + std::to_string(s.paraphraseSuccess) +
                ", neighbourhood " + std::to_string(s.neighbourhoodSuccess) + ", generation " +
                std::to_string(s.generationAccuracy));
            m_lastEval = Clock::now();
        }
        if (m_step % 10 == 0 || evalCols != ",,,") {
            m_log << m_step << ',' << elapsed << ',' << l.lr << ',' << l.loss << ',' << m_status.memoryLoss << ','
                  << m_status.lmLoss << ',' << m_status.kl << ',' << l.gradNorm << ',' << m_status.sequencesPerSecond
                  << ',' << evalCols << ',';
            if (m_status.bowLoss >= 0) m_log << m_status.bowLoss;
            m_log << ',';
            if (m_status.keyLoss >= 0) m_log << m_status.keyLoss;
            m_log << '\n';
        }
        if (std::chrono::duration<double>(now - m_lastProgress).count() > 5) {
            m_status.sequencesPerSecond =
                double(m_seqWindow) / std::chrono::duration<double>(now - m_windowStart).count();
            const double stepsPerSec = double(m_stepsThisRun) / std::chrono::duration<double>(now - m_start).count();
            m_status.etaSeconds = stepsPerSec > 0 ? double(m_cfg.steps - m_step) / stepsPerSec : 0;
            if (m_opt.onProgress) m_opt.onProgress(m_status);
            m_lastProgress = now;
            m_seqWindow = 0;
            m_windowStart = now;
        }

        const bool timeUp =
            m_opt.maxMinutes > 0 && std::chrono::duration<double>(now - m_start).count() > m_opt.maxMinutes * 60;
        const bool stepsUp = m_opt.maxSteps > 0 && m_stepsThisRun >= m_opt.maxSteps;
        const bool cancelled = m_opt.cancel && m_opt.cancel->load();
        if (std::chrono::duration<double>(now - m_lastCheckpoint).count() > m_cfg.checkpointMinutes * 60 || timeUp ||
            stepsUp || cancelled || m_step == m_cfg.steps) {
            saveCheckpoint(elapsed);
            m_lastCheckpoint = Clock::now();
            say("checkpoint at step " + std::to_string(m_step));
        }
        return !(timeUp || stepsUp || cancelled);
    }

    // --- the end ---------------------------------------------------------------------------

    TrainResult finish() {
        TrainResult result;
        result.checkpointDir = m_ckpt.string();
        result.logCsv = m_logPath.string();
        result.step = m_step;
        result.last = m_status;
        result.finished = m_step >= m_cfg.steps;
        if (result.finished) {
            const fs::path modelDir = m_out / "model";
            fs::remove_all(modelDir);
            m_model->save(modelDir.string());
            result.modelDir = modelDir.string();
        }
        result.lossPlot = (m_out / "loss.png").string();
        writeLossPlot(result.lossPlot);
        return result;
    }

    /// The loss plot from the whole log.
    void writeLossPlot(const std::string& path) const {
        Chart chart;
        chart.title = "Training loss";
        chart.xLabel = "step";
        chart.yLabel = "loss (nats per token, weighted)";
        Series total{"total", {}, {}}, memory{"memory targets", {}, {}}, lm{"plain LM", {}, {}};
        std::istringstream in(readFile(m_logPath.string()));
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
        writeChart(path, chart);
    }

    const TrainConfig& m_cfg;
    const TrainRunOptions& m_opt;
    const Clock::time_point m_start;
    const fs::path m_out, m_ckpt, m_logPath;
    torch::Device m_device{torch::kCPU};
    int m_lockFd = -1;

    TrainingCorpus m_corpus;
    std::unique_ptr<LarimarModel> m_model;
    std::unique_ptr<TokenCache> m_cache; ///< the model's tokenizer's ids, per text
    std::unordered_map<std::string, std::vector<std::int64_t>> m_encCache;
    std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> m_subjectSpans;
    std::int64_t m_bos = 0, m_eos = 0, m_padId = 0, m_maxDec = 0;
    std::optional<AdamW> m_optimizer;
    std::optional<EpisodeSampler> m_sampler; ///< reads m_corpus
    std::vector<EditCase> m_evalCases;
    std::ofstream m_log;

    std::int64_t m_step = 0, m_stepsThisRun = 0, m_seqWindow = 0;
    double m_elapsedBefore = 0, m_emaLoss = -1;
    TrainStatus m_status;
    Clock::time_point m_lastCheckpoint, m_lastEval, m_lastProgress, m_windowStart;
};

} // namespace

TrainResult runTraining(const TrainConfig& cfg, const TrainRunOptions& opt) {
    return Trainer(cfg, opt).run();
}

} // namespace larimar
