#pragma once
/// Settings of one training run: what `larimar train CONFIG` reads. Torch-free.
///
/// {
///   "model": "models/configs/larimar-small.json",     // ModelConfig file (sizes)
///   "init_model": "models/larimar-small",              // optional: start from these weights
///   "tokenizer": {"dir": "...", "train_vocab": 8192},  // an existing BPE dir, or train one
///   "data": {"edit_files": ["../shared/data/counterfact/easyedit-train.json", ...],
///            "wordnet_dir": "/usr/share/wordnet", "max_plain_sentences": 100000},
///   "output_dir": "runs/larimar-small",
///   "steps": 200000, "episodes_per_step": 8, "episode_size": 4, "plain_per_step": 8,
///   "text_episodes_per_step": 0,
///   "lr": 5e-4, "warmup_steps": 1000, "min_lr_ratio": 0.05, "weight_decay": 0.01,
///   "grad_clip": 1.0, "answer_weight": 4.0, "lm_weight": 0.5, "kl_beta": 0.0005, "bow_weight": 0,
///   "latent_spread_weight": 0, "latent_spread": 1.0,
///   "counterfactual_prob": 0.6, "neighbour_prob": 0.3, "self_prob": 0.25,
///   "weight_noise": 0.05, "ridge": 1e-3, "latent_noise": true,
///   "checkpoint_minutes": 5, "eval_minutes": 20, "eval_file": "...", "eval_cases": 200,
///   "seed": 1, "threads": 2, "device": "cpu"
/// }
/// Relative paths are relative to the working directory the trainer runs in.
#include <cstdint>
#include <string>
#include <vector>

namespace larimar {

struct TrainConfig {
    std::string modelConfig;
    /// Optional model directory to start from (its weights and tokenizer) instead of a random
    /// init: continues a model whose optimiser state is gone (e.g. the bundled one) with a fresh
    /// AdamW and the schedule of this config. The architecture is modelConfig's (vocabulary from
    /// the init model's tokenizer): tensors of the init model with the same name and shape are
    /// copied, the rest (a part modelConfig adds) starts fresh. Ignored on --resume.
    std::string initModel;
    std::string tokenizerDir;      ///< empty: train a BPE of tokenizerVocab on the corpus
    int tokenizerVocab = 8192;
    std::vector<std::string> editFiles;
    std::string wordnetDir;
    std::size_t maxPlainSentences = 100000;
    std::string outputDir = "runs/larimar";

    std::int64_t steps = 100000;
    int episodesPerStep = 8;
    int episodeSize = 4;
    int plainPerStep = 8;
    int textEpisodesPerStep = 0;   ///< extra memory episodes of plain sentences (EpisodeSampler)
    double lr = 5e-4;
    std::int64_t warmupSteps = 1000;
    double minLrRatio = 0.05;
    double weightDecay = 0.01;
    double gradClip = 1.0;
    double answerWeight = 4.0;
    double lmWeight = 0.5;
    double klBeta = 0.0005;
    /// Bag-of-words term (after Zhao et al. 2017, against a decoder that ignores its latent): the
    /// latent output path alone, linear_out(readout) through the tied lm_head, must predict the
    /// answer tokens of the memory target. Needs decoder.latent_output; 0 leaves it out.
    double bowWeight = 0;
    /// Against latents that collapse onto one shared vector (measured: the step-2,600 model's fact
    /// latents had a mean pairwise cosine of 0.996, so the decoder saw an almost constant input):
    /// a hinge that pushes each latent dimension's standard deviation over the batch's encodings
    /// up to latent_spread (VICReg's variance term). 0 leaves it out.
    double latentSpreadWeight = 0;
    /// Key slot models: the key's pointer must put its weight on the fact's subject (the words
    /// CounterFact and zsRE name as "subject"), the words a paraphrase keeps and a neighbourhood
    /// prompt (another subject, the same relation) does not: -log(pointer mass on the subject's
    /// tokens), averaged over the encoded texts whose subject is known and found. Needs the
    /// model's key_slot; 0 leaves it out.
    double keySubjectWeight = 0;
    /// Learning-rate factor for the word and key slots' pointers (encoder.pointer.*,
    /// encoder.key_pointer.*) and the copy gate and scale: a few small vectors and scalars whose
    /// useful values lie far from their start, while Adam moves a weight about lr per step
    /// (measured: at lr 3e-4 the key pointer's weights moved 0.02 rms in 160 steps, and its
    /// subject loss did not fall).
    double slotLrFactor = 1.0;
    double latentSpread = 1.0;
    double counterfactualProb = 0.6;
    double neighbourProb = 0.3;
    double selfProb = 0.25;
    double weightNoise = 0.05;
    double ridge = 1e-3;
    bool latentNoise = true;       ///< sample z = mean + sigma * eps while training
    double checkpointMinutes = 5;
    double evalMinutes = 20;
    std::string evalFile;          ///< CounterFact file watched during training (never trained on)
    int evalCases = 200;
    std::uint64_t seed = 1;
    int threads = 2;
    std::string device = "cpu";

    /// Parses the JSON text; UserError naming the field for a wrong type or value.
    static TrainConfig fromJson(const std::string& text, const std::string& sourceForMessages);
    static TrainConfig load(const std::string& path);
    std::string toJson() const;
    /// The learning rate at a step: linear warm-up, then cosine decay to lr * minLrRatio.
    double learningRate(std::int64_t step) const;
};

} // namespace larimar
