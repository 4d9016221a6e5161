#pragma once
/// The Larimar trainer behind `larimar train CONFIG`. A synchronous call: the caller passes
/// progress and cancel; it starts no threads of its own beyond libtorch's intra-op pool.
///
/// What one step optimises (LARIMAR.md "Training" plus what a small model needs, see
/// core/train/episodes.h for the episodes):
///   loss = sum_targets w_t NLL(target | memory readout for its query) / sum w_t
///        + lm_weight * NLL(plain text | no latent)
///        + kl_beta * KL(q(z | x) || N(0, I))
/// where answer tokens weigh answer_weight and the readout is the one-shot memory of the
/// episode read with the query's encoding (core/train/memory_ops.h), noise on the read weights.
///
/// Checkpoints (every checkpoint_minutes, atomically replaced) hold the model directory, the
/// optimiser's moments, the sampler and RNG states and the step, so `--resume` continues
/// exactly: N steps + resume + M steps gives the same weights as N + M steps in one run
/// (same thread count). Output: <output_dir>/checkpoint/, log.csv, loss.png, model/ at the end.
#include "core/train/train_config.h"

#include <atomic>
#include <functional>
#include <string>

namespace larimar {

struct TrainStatus {
    std::int64_t step = 0, steps = 0;
    double loss = 0, memoryLoss = 0, lmLoss = 0, kl = 0, gradNorm = 0;
    double bowLoss = -1; ///< the bag-of-words term; -1 when the config leaves it out
    double keyLoss = -1; ///< the key-on-subject term; -1 when the config leaves it out
    double accuracy = -1; ///< larimar-pretrained: the stage's training accuracy (pointer, answer top-1); else -1
    double lr = 0;
    double sequencesPerSecond = 0;
    double elapsedSeconds = 0, etaSeconds = 0;
};

struct TrainRunOptions {
    bool resume = false;       ///< continue from <output_dir>/checkpoint (error if none)
    double maxMinutes = 0;     ///< stop (after a checkpoint) once this much wall time is used; 0: no limit
    std::int64_t maxSteps = 0; ///< stop after this many steps in this run; 0: no limit
    std::function<void(const TrainStatus&)> onProgress; ///< every few seconds
    std::function<void(const std::string&)> onMessage;   ///< milestones: data loaded, checkpoint, eval
    const std::atomic<bool>* cancel = nullptr;           ///< stops after writing a checkpoint
};

struct TrainResult {
    std::int64_t step = 0;     ///< steps done in total (including earlier runs)
    bool finished = false;     ///< reached config.steps; the final model is in modelDir
    std::string checkpointDir, modelDir, logCsv, lossPlot;
    TrainStatus last;
};

/// Runs (or resumes) a training run. Throws UserError for bad configs or data, Error otherwise.
TrainResult runTraining(const TrainConfig& config, const TrainRunOptions& options);

} // namespace larimar
