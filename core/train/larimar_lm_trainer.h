#pragma once
/// The trainer of Larimar on pretrained parts (core/model/larimar_lm.h), behind
/// `larimar train CONFIG` when the config says "trainer": "larimar-pretrained". The base decoder
/// and sentence encoder stay frozen; only the heads learn, in two stages, each cheap because
/// what the frozen parts compute is computed once and cached:
///   1. pointers: the decoder's residual states after pointer_layers blocks of every training
///      sentence are cached; the answer pointer learns where a fact's answer starts (a question:
///      "no answer") and the key pointer where its subject is (cross-entropy against the
///      dataset's prompt / subject fields).
///   2. copy path: with the pointers fixed, the latents of every fact, prompt, paraphrase and
///      neighbourhood prompt are computed once, and so are the frozen decoder's final hidden
///      states where the answers are scored. Each step writes an episode of 1..max_episode facts
///      (the memory's least-squares read: the projection of a query's latent onto the episode's
///      latents), reads the queries, and minimises the answers' cross-entropy through the copy
///      path: the new answer for a written fact's prompt and paraphrase, the true answer for
///      neighbourhood prompts and prompts of facts not written, the frozen model's own next
///      token right after an answer (so the copy stops).
/// Data: the config's CounterFact / zsRE training files; the first holdout_zsre records of a zsRE
/// file are never used (`larimar eval zsre FILE --limit holdout_zsre` measures unseen questions).
///
/// Output (<output_dir>): cache/*.safetensors (what the frozen parts computed), checkpoint/
/// (heads, stage and step; --resume continues from it), log.csv, model/ at the end.
#include "core/model/larimar_lm.h"
#include "core/train/trainer.h"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace larimar {

struct LarimarLmTrainConfig {
    PretrainedLarimarConfig model;
    std::vector<std::string> data; ///< edit-case files (CounterFact, zsRE)
    std::string outputDir;
    int casesPerFile = 2000;  ///< at most this many cases from each file (a seeded sample)
    int holdoutZsre = 200;    ///< zsRE files: the first this many records are left out
    int pointerSteps = 400;
    int copySteps = 1500;
    int maxEpisode = 128;     ///< facts written in the largest episodes
    int queriesPerStep = 48;
    double lr = 0.01;
    std::uint64_t seed = 1;
    std::string device = "cpu";

    /// Reads a JSON config file; relative paths are relative to the file's directory.
    static LarimarLmTrainConfig load(const std::string& path);
};

/// Whether the JSON config file at path is one for this trainer ("trainer": "larimar-pretrained").
bool isLarimarLmTrainConfig(const std::string& path);

TrainResult runLarimarLmTraining(const LarimarLmTrainConfig& config, const TrainRunOptions& options);

} // namespace larimar
