#pragma once
/// The paper's internal scope detector: a binary classifier on Larimar encodings, trained with
/// positives = paraphrases of written facts and negatives = nearby but different facts
/// (CounterFact neighbourhood prompts) and paraphrases of facts not written, each read against
/// a memory holding the written facts.
///
/// It is a logistic regression on how the memory answers the query, not on the query alone:
/// with z the query's encoding, r = read(z) its readout and w its read weights, the features are
/// cos(z, r), |r - z| / |z|, |r| / |z|, |w|, max|w_k| / |w| and |w|_1 / (|w| sqrt(K)),
/// standardised with the training set's mean and spread. (A first version also took z * r and
/// (z - r)^2 elementwise; it learned CounterFact's paraphrase wording and scored queries the same
/// with or without their facts written: `larimar eval scope --control`.) Six weights; O(K + C)
/// per query after the encode and the read.
///
/// Saved beside the model as kScopeClassifierFile (safetensors: "weight", "bias", "mean",
/// "scale"; metadata: the model's id, weights hash and latent size, which must match to be used).
/// Thread-safety: immutable after construction.
#include "core/eval/datasets.h"
#include "core/memory/episodic_memory.h"
#include "core/model/text_model.h"

#include <Eigen/Dense>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace larimar {

inline constexpr const char* kScopeClassifierFile = "scope_classifier.safetensors";

struct ScopeClassifier {
    Eigen::VectorXd weight;  ///< kFeatures
    double bias = 0;
    Eigen::VectorXd mean;    ///< feature standardisation
    Eigen::VectorXd scale;
    std::string modelId, modelHash;
    int latentSize = 0;      ///< C of the model it was trained for

    static constexpr int kFeatures = 6;
    /// The features of one query (1 x kFeatures). z must be non-zero.
    static Eigen::RowVectorXd features(const Eigen::RowVectorXd& z, const Eigen::RowVectorXd& readout,
                                       const Eigen::RowVectorXd& weights);
    /// P(in scope).
    double probability(const Eigen::RowVectorXd& z, const Eigen::RowVectorXd& readout,
                       const Eigen::RowVectorXd& weights) const;

    /// Reads a classifier file. UserError naming the file when it is missing or malformed.
    static ScopeClassifier load(const std::string& path);
    /// Writes it atomically.
    void save(const std::string& path) const;
};

/// An empty memory like the editor's (prior 0, reference = the model's prior, the model's
/// pseudo-inverse, lambda 1e-3): what a fresh workspace holds.
EpisodicMemory makeEmptyMemory(TextModel& model, double lambda = 1e-3);

struct ScopeTrainOptions {
    int limit = 0;              ///< use only the first N cases (0: all)
    int factsPerMemory = 1000;  ///< facts written into each memory (like the evaluation)
    int iterations = 400;       ///< full-batch gradient steps (Adam)
    double learningRate = 0.05;
    double l2 = 1e-3;
    int encodeBatch = 64;
};

struct ScopeTrainResult {
    ScopeClassifier classifier;
    std::int64_t positives = 0, negatives = 0;
    double trainAccuracy = 0;   ///< at probability 0.5
    double seconds = 0;
};

/// Trains the classifier on CounterFact-style cases: the cases are cut into groups of
/// factsPerMemory; each group's edit texts are written into a fresh memory, then every
/// paraphrase prompt of the group is a positive, and every neighbourhood prompt of the group
/// and every paraphrase prompt of the next group (facts not written) a negative. The last
/// kind keeps it from learning CounterFact's paraphrase style instead of reading the memory.
/// progress(done, total) counts cases (encoding), then iterations. cancel is checked between
/// batches (throws UserError "cancelled"). UserError when the cases give no positive or no
/// negative. Cost: about 3 encodes per case, one memory write per group, O(iterations * n * C).
ScopeTrainResult trainScopeClassifier(TextModel& model, const std::vector<EditCase>& cases,
                                      const ScopeTrainOptions& options = {},
                                      const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                                      const std::atomic<bool>* cancel = nullptr);

} // namespace larimar
