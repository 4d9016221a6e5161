#include "core/train/train_config.h"

#include "core/util/error.h"
#include "core/util/file_io.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

namespace larimar {
namespace {

using nlohmann::json;

template <class T>
void read(const json& j, const char* key, T& out, const std::string& src) {
    if (!j.contains(key)) return;
    try {
        out = j.at(key).get<T>();
    } catch (const json::exception&) {
        throw UserError(src + ": field '" + key + "' has the wrong type (" + j.at(key).dump() + ")");
    }
}

} // namespace

TrainConfig TrainConfig::fromJson(const std::string& text, const std::string& src) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw UserError(src + ": not valid JSON: " + e.what());
    }
    if (!j.is_object()) throw UserError(src + ": expected a JSON object");
    TrainConfig c;
    read(j, "model", c.modelConfig, src);
    if (c.modelConfig.empty()) throw UserError(src + ": missing field 'model' (a model config.json)");
    read(j, "init_model", c.initModel, src);
    if (j.contains("tokenizer")) {
        const json& t = j["tokenizer"];
        if (!t.is_object()) throw UserError(src + ": field 'tokenizer' must be an object");
        read(t, "dir", c.tokenizerDir, src + ": tokenizer");
        read(t, "train_vocab", c.tokenizerVocab, src + ": tokenizer");
    }
    if (j.contains("data")) {
        const json& d = j["data"];
        if (!d.is_object()) throw UserError(src + ": field 'data' must be an object");
        read(d, "edit_files", c.editFiles, src + ": data");
        read(d, "wordnet_dir", c.wordnetDir, src + ": data");
        read(d, "max_plain_sentences", c.maxPlainSentences, src + ": data");
    }
    if (c.editFiles.empty()) throw UserError(src + ": data.edit_files must name at least one CounterFact or zsRE file");
    read(j, "output_dir", c.outputDir, src);
    read(j, "steps", c.steps, src);
    read(j, "episodes_per_step", c.episodesPerStep, src);
    read(j, "episode_size", c.episodeSize, src);
    read(j, "plain_per_step", c.plainPerStep, src);
    read(j, "text_episodes_per_step", c.textEpisodesPerStep, src);
    read(j, "lr", c.lr, src);
    read(j, "warmup_steps", c.warmupSteps, src);
    read(j, "min_lr_ratio", c.minLrRatio, src);
    read(j, "weight_decay", c.weightDecay, src);
    read(j, "grad_clip", c.gradClip, src);
    read(j, "answer_weight", c.answerWeight, src);
    read(j, "lm_weight", c.lmWeight, src);
    read(j, "kl_beta", c.klBeta, src);
    read(j, "bow_weight", c.bowWeight, src);
    read(j, "key_subject_weight", c.keySubjectWeight, src);
    read(j, "slot_lr_factor", c.slotLrFactor, src);
    read(j, "latent_spread_weight", c.latentSpreadWeight, src);
    read(j, "latent_spread", c.latentSpread, src);
    read(j, "counterfactual_prob", c.counterfactualProb, src);
    read(j, "neighbour_prob", c.neighbourProb, src);
    read(j, "self_prob", c.selfProb, src);
    read(j, "weight_noise", c.weightNoise, src);
    read(j, "ridge", c.ridge, src);
    read(j, "latent_noise", c.latentNoise, src);
    read(j, "checkpoint_minutes", c.checkpointMinutes, src);
    read(j, "eval_minutes", c.evalMinutes, src);
    read(j, "eval_file", c.evalFile, src);
    read(j, "eval_cases", c.evalCases, src);
    read(j, "seed", c.seed, src);
    read(j, "threads", c.threads, src);
    read(j, "device", c.device, src);
    auto positive = [&](double v, const char* name) {
        if (!(v > 0)) throw UserError(src + ": '" + std::string(name) + "' must be positive, got " + std::to_string(v));
    };
    positive(double(c.steps), "steps");
    positive(c.episodesPerStep, "episodes_per_step");
    positive(c.episodeSize, "episode_size");
    positive(c.lr, "lr");
    if (c.bowWeight < 0) throw UserError(src + ": 'bow_weight' must not be negative");
    if (c.keySubjectWeight < 0) throw UserError(src + ": 'key_subject_weight' must not be negative");
    if (!(c.slotLrFactor > 0)) throw UserError(src + ": 'slot_lr_factor' must be positive");
    if (c.latentSpreadWeight < 0) throw UserError(src + ": 'latent_spread_weight' must not be negative");
    positive(c.latentSpread, "latent_spread");
    if (c.textEpisodesPerStep < 0) throw UserError(src + ": 'text_episodes_per_step' must not be negative");
    positive(c.threads, "threads");
    positive(c.checkpointMinutes, "checkpoint_minutes");
    if (c.tokenizerDir.empty()) positive(c.tokenizerVocab, "tokenizer.train_vocab");
    for (auto [v, name] : {std::pair{c.counterfactualProb, "counterfactual_prob"}, {c.neighbourProb, "neighbour_prob"},
                           {c.selfProb, "self_prob"}, {c.minLrRatio, "min_lr_ratio"}})
        if (v < 0 || v > 1) throw UserError(src + ": '" + std::string(name) + "' must be between 0 and 1");
    if (c.device != "cpu" && c.device != "cuda") throw UserError(src + ": 'device' must be cpu or cuda");
    return c;
}

TrainConfig TrainConfig::load(const std::string& path) {
    return fromJson(readFile(path, "the training config"), path);
}

std::string TrainConfig::toJson() const {
    json j = {{"model", modelConfig},
              {"init_model", initModel},
              {"tokenizer", {{"dir", tokenizerDir}, {"train_vocab", tokenizerVocab}}},
              {"data", {{"edit_files", editFiles}, {"wordnet_dir", wordnetDir}, {"max_plain_sentences", maxPlainSentences}}},
              {"output_dir", outputDir},
              {"steps", steps},
              {"episodes_per_step", episodesPerStep},
              {"episode_size", episodeSize},
              {"plain_per_step", plainPerStep},
              {"text_episodes_per_step", textEpisodesPerStep},
              {"lr", lr},
              {"warmup_steps", warmupSteps},
              {"min_lr_ratio", minLrRatio},
              {"weight_decay", weightDecay},
              {"grad_clip", gradClip},
              {"answer_weight", answerWeight},
              {"lm_weight", lmWeight},
              {"kl_beta", klBeta},
              {"bow_weight", bowWeight},
              {"key_subject_weight", keySubjectWeight},
              {"slot_lr_factor", slotLrFactor},
              {"latent_spread_weight", latentSpreadWeight},
              {"latent_spread", latentSpread},
              {"counterfactual_prob", counterfactualProb},
              {"neighbour_prob", neighbourProb},
              {"self_prob", selfProb},
              {"weight_noise", weightNoise},
              {"ridge", ridge},
              {"latent_noise", latentNoise},
              {"checkpoint_minutes", checkpointMinutes},
              {"eval_minutes", evalMinutes},
              {"eval_file", evalFile},
              {"eval_cases", evalCases},
              {"seed", seed},
              {"threads", threads},
              {"device", device}};
    return j.dump(2);
}

double TrainConfig::learningRate(std::int64_t step) const {
    if (step < warmupSteps) return lr * double(step + 1) / double(warmupSteps);
    const double progress = std::min(1.0, double(step - warmupSteps) / double(std::max<std::int64_t>(1, steps - warmupSteps)));
    const double cosine = 0.5 * (1.0 + std::cos(3.14159265358979323846 * progress));
    return lr * (minLrRatio + (1.0 - minLrRatio) * cosine);
}

} // namespace larimar
