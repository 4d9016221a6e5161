#include "core/train/larimar_lm_trainer.h"

#include "core/eval/datasets.h"
#include "core/model/larimar_model.h" // parseDevice
#include "core/model/llama.h"
#include "core/model/token_batch.h"
#include "core/model/tokenizer.h"
#include "core/model/torch_io.h"
#include "core/util/error.h"
#include "core/util/file_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

namespace fs = std::filesystem;

namespace larimar {
namespace {

using Clock = std::chrono::steady_clock;

/// Token span [a, b) of subject inside text's tokens, or {-1, -1}.
std::pair<int, int> subjectSpan(const PretrainedLarimar& m, const std::string& text, const std::string& subject,
                                const std::vector<std::int32_t>& tokens) {
    if (subject.empty()) return {-1, -1};
    const auto s = text.find(subject);
    if (s == std::string::npos) return {-1, -1};
    std::string before = text.substr(0, s);
    while (!before.empty() && before.back() == ' ') before.pop_back();
    const auto& tok = m.tokenizer();
    const int a = before.empty() ? 0 : int(tok.encode(before).size());
    const auto upTo = tok.encode(text.substr(0, s + subject.size()));
    const int b = int(upTo.size());
    if (a >= b || b > int(tokens.size())) return {-1, -1};
    if (!std::equal(upTo.begin(), upTo.end(), tokens.begin())) return {-1, -1};
    return {a, b};
}

struct PointerBatch {
    torch::Tensor ids, mask, states, answerTarget, subject; ///< subject [N, T] float, rows sum to 1 or 0
};

struct RowSet {
    torch::Tensor hidden;  ///< [N, R, H]
    torch::Tensor ids;     ///< [N, R] input token at the row
    torch::Tensor targets; ///< [N, R] -1: ignored
    torch::Tensor weights; ///< [N, R]

    RowSet select(const torch::Tensor& index) const {
        return {hidden.index_select(0, index), ids.index_select(0, index), targets.index_select(0, index),
                weights.index_select(0, index)};
    }
    static RowSet cat(const std::vector<RowSet>& parts) {
        std::vector<torch::Tensor> h, i, t, w;
        for (const auto& p : parts) {
            h.push_back(p.hidden);
            i.push_back(p.ids);
            t.push_back(p.targets);
            w.push_back(p.weights);
        }
        return {torch::cat(h), torch::cat(i), torch::cat(t), torch::cat(w)};
    }
};

constexpr int kAnswerRows = 4; // answer tokens trained on (longer answers are cut)

std::string first(const std::vector<std::string>& v, const std::string& fallback) {
    return v.empty() ? fallback : v.front();
}

} // namespace

bool isLarimarLmTrainConfig(const std::string& path) {
    std::ifstream in(path);
    const auto j = nlohmann::json::parse(in, nullptr, false);
    return j.is_object() && j.value("trainer", std::string()) == "larimar-pretrained";
}

LarimarLmTrainConfig LarimarLmTrainConfig::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw UserError(path + ": cannot be read");
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw UserError(path + ": not a JSON object");
    const fs::path base = fs::path(path).parent_path();
    auto rel = [&](const std::string& p) { return fs::path(p).is_absolute() ? p : (base / p).lexically_normal().string(); };
    LarimarLmTrainConfig c;
    try {
        nlohmann::json m = j.at("model");
        m["model_type"] = "larimar-pretrained";
        c.model = PretrainedLarimarConfig::fromJson(m, path + " (model)");
        for (const auto& d : j.at("data")) c.data.push_back(rel(d.get<std::string>()));
        c.outputDir = rel(j.at("output_dir").get<std::string>());
        c.casesPerFile = j.value("cases_per_file", c.casesPerFile);
        c.holdoutZsre = j.value("holdout_zsre", c.holdoutZsre);
        c.pointerSteps = j.value("pointer_steps", c.pointerSteps);
        c.copySteps = j.value("copy_steps", c.copySteps);
        c.maxEpisode = j.value("max_episode", c.maxEpisode);
        c.queriesPerStep = j.value("queries_per_step", c.queriesPerStep);
        c.lr = j.value("lr", c.lr);
        c.seed = j.value("seed", c.seed);
        c.device = j.value("device", c.device);
    } catch (const UserError&) {
        throw;
    } catch (const std::exception& e) {
        throw UserError(path + ": " + e.what());
    }
    if (c.data.empty()) throw UserError(path + ": 'data' lists no files");
    if (c.casesPerFile < 2 || c.pointerSteps < 0 || c.copySteps < 0 || c.maxEpisode < 1 || c.queriesPerStep < 4 || !(c.lr > 0))
        throw UserError(path + ": cases_per_file >= 2, steps >= 0, max_episode >= 1, queries_per_step >= 4 and lr > 0 are needed");
    return c;
}

TrainResult runLarimarLmTraining(const LarimarLmTrainConfig& cfg, const TrainRunOptions& opt) {
    auto say = [&](const std::string& s) {
        if (opt.onMessage) opt.onMessage(s);
    };
    const auto started = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - started).count(); };
    auto cancelled = [&] {
        return (opt.cancel && opt.cancel->load()) || (opt.maxMinutes > 0 && elapsed() > opt.maxMinutes * 60.0);
    };
    const fs::path out(cfg.outputDir);
    const fs::path ckpt = out / "checkpoint", cache = out / "cache";
    fs::create_directories(ckpt);
    fs::create_directories(cache);
    const torch::Device device = parseDevice(cfg.device);
    torch::manual_seed(cfg.seed);
    std::mt19937_64 rng(cfg.seed);

    auto model = PretrainedLarimar::create(cfg.model, device);
    auto& heads = *model->heads();
    std::int64_t stage = 1, stepInStage = 0;
    if (opt.resume) {
        if (!fs::exists(ckpt / "state.json")) throw UserError("nothing to resume: " + (ckpt / "state.json").string() + " is missing");
        std::ifstream in(ckpt / "state.json");
        const auto st = nlohmann::json::parse(in);
        stage = st.at("stage").get<std::int64_t>();
        stepInStage = st.at("step").get<std::int64_t>();
        const auto t = loadTensors((ckpt / "heads.safetensors").string(), device);
        torch::NoGradGuard ng;
        for (auto& p : heads.named_parameters()) p.value().copy_(t.at(p.key()));
        say("resumed at stage " + std::to_string(stage) + ", step " + std::to_string(stepInStage));
    }
    std::ofstream log(out / "log.csv", std::ios::app);
    if (log.tellp() == 0) log << "stage,step,loss,accuracy,neighbourhood_accuracy,elapsed_s\n";
    auto checkpoint = [&] {
        std::map<std::string, torch::Tensor> t;
        for (const auto& p : heads.named_parameters()) t[p.key()] = p.value().detach().to(torch::kCPU).contiguous();
        saveTensors((ckpt / "heads.safetensors").string(), t);
        writeFileAtomically((ckpt / "state.json").string(), nlohmann::json{{"stage", stage}, {"step", stepInStage}}.dump() + "\n");
    };

    // ---- data
    std::vector<EditCase> cases;
    for (const auto& path : cfg.data) {
        std::vector<std::string> skipped;
        auto c = loadEditCases(path, DatasetFormat::Auto, &skipped);
        const bool zsre = path.find("zsre") != std::string::npos;
        // The first records are held out, so `larimar eval zsre FILE --limit N` measures unseen questions.
        if (zsre) c.erase(c.begin(), c.begin() + std::min<std::ptrdiff_t>(cfg.holdoutZsre, std::ptrdiff_t(c.size())));
        std::shuffle(c.begin(), c.end(), rng);
        if (int(c.size()) > cfg.casesPerFile) c.resize(size_t(cfg.casesPerFile));
        say(path + ": " + std::to_string(c.size()) + " cases" + (zsre ? " (the first " + std::to_string(cfg.holdoutZsre) + " records held out)" : ""));
        cases.insert(cases.end(), c.begin(), c.end());
    }
    const int64_t n = int64_t(cases.size());
    if (n < 8) throw UserError("too few training cases: " + std::to_string(n));
    const std::int64_t totalSteps = cfg.pointerSteps + cfg.copySteps;
    TrainResult result;
    result.checkpointDir = ckpt.string();
    result.logCsv = (out / "log.csv").string();
    std::int64_t firstStep = -1; // the first step this run reports: rate and ETA count from it
    double firstElapsed = 0;
    auto progress = [&](std::int64_t globalStep, double loss, double acc) {
        TrainStatus s;
        s.step = globalStep;
        s.steps = totalSteps;
        if (firstStep < 0) {
            firstStep = globalStep;
            firstElapsed = elapsed();
        } else if (globalStep > firstStep) {
            const double perStep = (elapsed() - firstElapsed) / double(globalStep - firstStep);
            s.etaSeconds = perStep * double(totalSteps - globalStep);
            // Sequences a step scores: a batch of 64 pointer sentences, or the episode's queries.
            s.sequencesPerSecond = perStep > 0 ? (stage == 1 ? 64.0 : double(cfg.queriesPerStep)) / perStep : 0;
        }
        s.loss = loss;
        s.memoryLoss = stage == 2 ? loss : 0;
        s.lmLoss = stage == 1 ? loss : 0;
        s.lr = cfg.lr;
        s.elapsedSeconds = elapsed();
        s.accuracy = acc;
        s.memoryLoss = stage == 2 ? loss : -1;
        result.last = s;
        if (opt.onProgress) opt.onProgress(s);
    };
    auto& lm = model->decoder();
    const auto& tok = model->tokenizer();

    // ---- stage 1: pointers
    if (stage == 1) {
        say("stage 1: caching the decoder's first " + std::to_string(cfg.model.pointerLayers) + " layers for " +
            std::to_string(3 * n) + " sentences");
        std::vector<PointerBatch> batches;
        {
            torch::NoGradGuard guard; // not InferenceMode: these tensors meet autograd later
            struct Item {
                std::vector<std::int32_t> ids;
                int answer; // token index, or -1: no answer
                std::pair<int, int> subject;
            };
            std::vector<Item> items;
            for (const auto& c : cases) {
                const auto p = model->textTokens(c.prompt);
                const auto f = model->textTokens(c.editText());
                if (f.size() > p.size() && std::equal(p.begin(), p.end(), f.begin()))
                    items.push_back({f, int(p.size()), subjectSpan(*model, c.editText(), c.subject, f)});
                items.push_back({p, -1, subjectSpan(*model, c.prompt, c.subject, p)});
                const std::string para = first(c.paraphrasePrompts, "");
                if (!para.empty()) {
                    const auto r = model->textTokens(para);
                    items.push_back({r, -1, subjectSpan(*model, para, c.subject, r)});
                }
            }
            std::shuffle(items.begin(), items.end(), rng);
            for (size_t b = 0; b < items.size(); b += 64) {
                const size_t e = std::min(items.size(), b + 64);
                std::vector<std::vector<std::int32_t>> seqs;
                for (size_t i = b; i < e; ++i) seqs.push_back(items[i].ids);
                auto [ids, mask] = rightPaddedBatch(seqs);
                const int64_t rows = int64_t(e - b), t = ids.size(1);
                auto target = torch::zeros({rows}, torch::kLong), subj = torch::zeros({rows, t});
                for (size_t i = b; i < e; ++i) {
                    const auto r = int64_t(i - b);
                    const auto& it = items[i];
                    target[r] = it.answer < 0 ? t : it.answer;
                    if (it.subject.first >= 0)
                        for (int k = it.subject.first; k < it.subject.second; ++k)
                            subj[r][k] = 1.0 / double(it.subject.second - it.subject.first);
                }
                ids = ids.to(device);
                mask = mask.to(device);
                batches.push_back({ids, mask, lm.layerStates(ids, mask, cfg.model.pointerLayers).clone(), target.to(device),
                                   subj.to(device)});
            }
        }
        say("stage 1: " + std::to_string(batches.size()) + " batches cached in " + std::to_string(int(elapsed())) + " s");
        std::vector<torch::Tensor> params{heads.answerScore, heads.answerEnd, heads.answerNone, heads.keyScore, heads.keyEnd};
        torch::optim::Adam adam(params, torch::optim::AdamOptions(cfg.lr));
        const size_t trainBatches = std::max<size_t>(1, batches.size() * 9 / 10); // the rest: a check
        double emaLoss = 0, emaAcc = 0;
        for (; stepInStage < cfg.pointerSteps; ++stepInStage) {
            if (cancelled()) {
                checkpoint();
                say("stopped; checkpoint written");
                result.step = stepInStage;
                return result;
            }
            const auto& b = batches[size_t(stepInStage) % trainBatches];
            const auto p = model->pointersFromStates(b.ids, b.mask, b.states);
            const auto answerLoss = torch::nll_loss(torch::log(p.answer + 1e-9), b.answerTarget);
            const auto hasSubj = b.subject.sum(1).gt(0).to(torch::kFloat);
            const auto keyLoss = (-(b.subject * torch::log(p.key + 1e-9)).sum(1) * hasSubj).sum() / hasSubj.sum().clamp_min(1.0);
            const auto loss = answerLoss + 0.5 * keyLoss;
            adam.zero_grad();
            loss.backward();
            adam.step();
            const double acc = p.answer.argmax(1).eq(b.answerTarget).to(torch::kFloat).mean().item<double>();
            emaLoss = stepInStage == 0 ? loss.item<double>() : 0.95 * emaLoss + 0.05 * loss.item<double>();
            emaAcc = stepInStage == 0 ? acc : 0.95 * emaAcc + 0.05 * acc;
            if (stepInStage % 20 == 0) {
                progress(stepInStage, emaLoss, emaAcc);
                log << 1 << "," << stepInStage << "," << emaLoss << "," << emaAcc << ",," << elapsed() << "\n" << std::flush;
            }
        }
        {
            torch::NoGradGuard ng;
            double right = 0, total = 0;
            for (size_t i = trainBatches; i < batches.size(); ++i) {
                const auto& b = batches[i];
                const auto p = model->pointersFromStates(b.ids, b.mask, b.states);
                right += p.answer.argmax(1).eq(b.answerTarget).sum().item<double>();
                total += double(b.ids.size(0));
            }
            if (total > 0) {
                say("stage 1: answer pointer exact on " + std::to_string(100.0 * right / total) + "% of " +
                    std::to_string(int(total)) + " sentences it did not train on");
                log << 1 << "," << stepInStage << ",," << right / total << ",," << elapsed() << "\n" << std::flush;
            }
        }
        stage = 2;
        stepInStage = 0;
        checkpoint();
    }

    // ---- stage 2: copy path
    const int A = cfg.model.answerTokens;
    const int R = kAnswerRows + 1;
    torch::Tensor zFact, zPrompt, zPara, zNb;
    RowSet edit, para, nb;
    const auto cacheFile = (cache / "stage2.safetensors").string();
    if (fs::exists(cacheFile)) {
        auto t = loadTensors(cacheFile, device);
        if (t.at("z_fact").size(0) != n) throw UserError(cacheFile + ": made for other data; delete it");
        zFact = t.at("z_fact"), zPrompt = t.at("z_prompt"), zPara = t.at("z_para"), zNb = t.at("z_nb");
        for (auto [name, set] : {std::pair{"edit", &edit}, {"para", &para}, {"nb", &nb}}) {
            set->hidden = t.at(std::string(name) + ".hidden");
            set->ids = t.at(std::string(name) + ".ids").to(torch::kLong);
            set->targets = t.at(std::string(name) + ".targets").to(torch::kLong);
            set->weights = t.at(std::string(name) + ".weights");
        }
        say("stage 2: cache loaded from " + cacheFile);
    } else {
        torch::NoGradGuard guard; // not InferenceMode: these tensors meet autograd later
        say("stage 2: encoding " + std::to_string(4 * n) + " sentences");
        std::vector<std::string> facts, prompts, paras, nbs;
        for (const auto& c : cases) {
            facts.push_back(c.editText());
            prompts.push_back(c.prompt);
            paras.push_back(first(c.paraphrasePrompts, c.prompt));
            nbs.push_back(first(c.neighbourhoodPrompts, c.prompt));
        }
        zFact = model->encode(facts).clone().to(device);
        zPrompt = model->encode(prompts).clone().to(device);
        zPara = model->encode(paras).clone().to(device);
        zNb = model->encode(nbs).clone().to(device);
        say("stage 2: encoded in " + std::to_string(int(elapsed())) + " s; running the frozen decoder on " +
            std::to_string(3 * n) + " scored sequences");
        const int H = model->hidden();
        auto rows = [&](const std::vector<std::string>& ps, const std::vector<std::string>& answers, bool after) -> RowSet {
            RowSet s;
            s.hidden = torch::zeros({n, R, H});
            s.ids = torch::zeros({n, R}, torch::kLong);
            s.targets = torch::full({n, R}, -1, torch::kLong);
            s.weights = torch::zeros({n, R});
            for (int64_t b = 0; b < n; b += 32) {
                const int64_t e = std::min(n, b + 32);
                std::vector<std::vector<std::int32_t>> seq(size_t(e - b));
                std::vector<int64_t> plen(size_t(e - b)), clen(size_t(e - b));
                for (int64_t i = b; i < e; ++i) {
                    auto p = tok.encode(ps[size_t(i)]);
                    if (model->addBos()) p.insert(p.begin(), tok.bosId());
                    auto c = tok.encode(" " + answers[size_t(i)]);
                    if (int(c.size()) > kAnswerRows) c.resize(kAnswerRows);
                    if (p.size() > 200) p.erase(p.begin(), p.end() - 200);
                    plen[size_t(i - b)] = int64_t(p.size());
                    clen[size_t(i - b)] = int64_t(c.size());
                    p.insert(p.end(), c.begin(), c.end());
                    seq[size_t(i - b)] = p;
                }
                const auto [ids, mask] = rightPaddedBatch(seq);
                const auto h = lm.hiddenStates(ids.to(device), mask.to(device)).to(torch::kCPU);
                for (int64_t r = 0; r < e - b; ++r) {
                    const int64_t p = plen[size_t(r)], c = clen[size_t(r)];
                    const int64_t used = std::min<int64_t>(R, c + (after ? 1 : 0));
                    for (int64_t k = 0; k < used; ++k) {
                        const int64_t pos = p - 1 + k;
                        s.hidden[b + r][k].copy_(h[r][pos]);
                        s.ids[b + r][k] = ids[r][pos];
                        if (k < c) {
                            s.targets[b + r][k] = ids[r][pos + 1];
                            s.weights[b + r][k] = 1.0;
                        } else { // right after the answer: the frozen model's own next token
                            s.targets[b + r][k] = lm.logits(h[r][pos].to(device)).argmax().item<int64_t>();
                            s.weights[b + r][k] = 0.5;
                        }
                    }
                }
                if ((b / 32) % 20 == 0)
                    say("stage 2: " + std::to_string(e) + "/" + std::to_string(n) + " sequences (" + std::to_string(int(elapsed())) + " s)");
                if (cancelled()) return s; // the caller sees cancelled() too
            }
            s.hidden = s.hidden.to(device);
            s.ids = s.ids.to(device);
            s.targets = s.targets.to(device);
            s.weights = s.weights.to(device);
            return s;
        };
        std::vector<std::string> newAnswers, nbAnswers;
        for (const auto& c : cases) {
            newAnswers.push_back(c.targetNew);
            nbAnswers.push_back(first(c.neighbourhoodAnswers, c.targetTrue));
        }
        auto stopCaching = [&] {
            checkpoint();
            say("stopped while caching; the cache is rebuilt on --resume");
            return result;
        };
        edit = rows(prompts, newAnswers, true);
        if (cancelled()) return stopCaching();
        para = rows(paras, newAnswers, true);
        if (cancelled()) return stopCaching();
        nb = rows(nbs, nbAnswers, false);
        if (cancelled()) return stopCaching();
        std::map<std::string, torch::Tensor> t{{"z_fact", zFact}, {"z_prompt", zPrompt}, {"z_para", zPara}, {"z_nb", zNb}};
        for (auto [name, set] : {std::pair{"edit", &edit}, {"para", &para}, {"nb", &nb}}) {
            t[std::string(name) + ".hidden"] = set->hidden;
            t[std::string(name) + ".ids"] = set->ids;
            t[std::string(name) + ".targets"] = set->targets;
            t[std::string(name) + ".weights"] = set->weights;
        }
        saveTensors(cacheFile, t);
        say("stage 2: cache written (" + std::to_string(int(elapsed())) + " s)");
    }

    std::vector<torch::Tensor> params{heads.gateW, heads.gateB, heads.gateNorm, heads.gateMatch, heads.gateSeen, heads.scale};
    torch::optim::Adam adam(params, torch::optim::AdamOptions(cfg.lr));
    const int slotOffset = model->slotOffset(), H = model->hidden();
    // A random tenth of the cases (the same on every resume: its own seed) is the check; the
    // rest trains. Not the last tenth: the cases come file by file, so that was all zsRE.
    const int64_t trainCases = std::max<int64_t>(2, n * 9 / 10);
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t(0));
    {
        std::mt19937_64 split(cfg.seed + 1000003);
        std::shuffle(order.begin(), order.end(), split);
    }
    std::vector<int> sizes;
    for (int s = 1; s <= cfg.maxEpisode; s *= 2) sizes.push_back(s);
    auto episodeLoss = [&](const torch::Tensor& idx, const torch::Tensor& outside, double* accEdit, double* accNb) {
        const int64_t nW = idx.size(0);
        const auto Z = zFact.index_select(0, idx);
        const auto pinv = torch::linalg_pinv(Z);
        const int64_t qe = std::min<int64_t>(nW, cfg.queriesPerStep / 3);
        const auto qi = idx.narrow(0, 0, qe);
        const int64_t qo = std::min<int64_t>(outside.size(0), cfg.queriesPerStep / 6);
        const auto nbIdx = torch::cat({qi.narrow(0, 0, std::min<int64_t>(qe, cfg.queriesPerStep / 6)), outside.narrow(0, 0, qo)});
        const auto zq = torch::cat({zPrompt.index_select(0, qi), zPara.index_select(0, qi), zNb.index_select(0, nbIdx)});
        const RowSet q = RowSet::cat({edit.select(qi), para.select(qi), nb.select(nbIdx)});
        const auto& hid = q.hidden;
        const auto& ids = q.ids;
        const auto& tgt = q.targets;
        const auto& w = q.weights;
        const auto readout = torch::matmul(torch::matmul(zq, pinv), Z);
        const auto slots = readout.narrow(1, slotOffset, A * H).reshape({zq.size(0), A, H}) * model->rowScale();
        const auto logits = lm.logits(hid + model->copyDelta(hid, ids, slots));
        const auto logp = torch::log_softmax(logits, -1);
        const auto safe = tgt.clamp_min(0);
        const auto nll = -logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1) * w;
        const auto loss = nll.sum() / w.sum().clamp_min(1.0);
        if (accEdit) {
            const auto right = logits.argmax(-1).eq(tgt).to(torch::kFloat).select(1, 0);
            *accEdit = right.narrow(0, 0, 2 * qe).mean().item<double>();
            *accNb = right.narrow(0, 2 * qe, nbIdx.size(0)).mean().item<double>();
        }
        return loss;
    };
    auto sample = [&](int64_t lo, int64_t hi, int64_t count) {
        std::vector<int64_t> all(order.begin() + lo, order.begin() + hi);
        std::shuffle(all.begin(), all.end(), rng);
        all.resize(size_t(std::min<int64_t>(count, hi - lo)));
        return torch::tensor(all, torch::kLong).to(device);
    };
    say("stage 2: training the copy path for " + std::to_string(cfg.copySteps) + " steps");
    double emaLoss = 0, emaAcc = 0, emaNb = 0;
    for (; stepInStage < cfg.copySteps; ++stepInStage) {
        if (cancelled()) {
            checkpoint();
            say("stopped; checkpoint written");
            result.step = cfg.pointerSteps + stepInStage;
            return result;
        }
        const int size = sizes[size_t(rng() % sizes.size())];
        const auto all = sample(0, trainCases, size + cfg.queriesPerStep / 6);
        const auto idx = all.narrow(0, 0, std::min<int64_t>(size, all.size(0) - 1));
        const auto outside = all.narrow(0, idx.size(0), all.size(0) - idx.size(0));
        double acc = 0, accNb = 0;
        const auto loss = episodeLoss(idx, outside, &acc, &accNb);
        adam.zero_grad();
        loss.backward();
        adam.step();
        const double l = loss.item<double>();
        emaLoss = stepInStage == 0 ? l : 0.95 * emaLoss + 0.05 * l;
        emaAcc = stepInStage == 0 ? acc : 0.95 * emaAcc + 0.05 * acc;
        emaNb = stepInStage == 0 ? accNb : 0.95 * emaNb + 0.05 * accNb;
        if (stepInStage % 10 == 0) {
            progress(cfg.pointerSteps + stepInStage, emaLoss, emaAcc);
            log << 2 << "," << stepInStage << "," << emaLoss << "," << emaAcc << "," << emaNb << "," << elapsed() << "\n" << std::flush;
        }
        if (stepInStage % 100 == 99) checkpoint();
    }
    {
        torch::NoGradGuard ng;
        double acc = 0, accNb = 0, total = 0;
        for (int s : sizes) {
            if (s > n - trainCases - 1) break;
            double a = 0, b = 0;
            const auto all = sample(trainCases, n, s + 8);
            const auto idx = all.narrow(0, 0, s);
            episodeLoss(idx, all.narrow(0, s, all.size(0) - s), &a, &b);
            acc += a;
            accNb += b;
            total += 1;
            say("check on unseen cases, " + std::to_string(s) + " facts: edit/paraphrase top-1 " + std::to_string(a) +
                ", neighbourhood top-1 " + std::to_string(b));
        }
        if (total > 0) log << 2 << "," << stepInStage << ",," << acc / total << "," << accNb / total << "," << elapsed() << "\n";
    }
    stage = 3;
    checkpoint();
    const fs::path modelDir = out / "model";
    model->save(modelDir.string());
    result.modelDir = modelDir.string();
    result.finished = true;
    result.step = totalSteps;
    say("model written to " + modelDir.string());
    return result;
}

} // namespace larimar
