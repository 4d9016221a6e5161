#include "core/scope/scope_classifier.h"

#include "core/model/safetensors.h"
#include "core/util/error.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace larimar {
namespace {

safetensors::TensorData f64Tensor(const std::string& name, const Eigen::VectorXd& v) {
    safetensors::TensorData t;
    t.name = name;
    t.dtype = safetensors::DType::F64;
    t.shape = {static_cast<std::int64_t>(v.size())};
    t.bytes.resize(static_cast<std::size_t>(v.size()) * sizeof(double));
    std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
    return t;
}

Eigen::VectorXd readF64(const safetensors::File& f, const std::string& name) {
    const auto& t = f.get(name);
    if (t.dtype != safetensors::DType::F64 || t.shape.size() != 1)
        throw UserError(f.name() + ": tensor '" + name + "' is not a float64 vector");
    Eigen::VectorXd v(t.shape[0]);
    std::memcpy(v.data(), t.data, t.nbytes);
    return v;
}

double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }

} // namespace

Eigen::RowVectorXd ScopeClassifier::features(const Eigen::RowVectorXd& z, const Eigen::RowVectorXd& readout,
                                             const Eigen::RowVectorXd& weights) {
    const double norm = z.norm();
    if (!(norm > 0) || readout.size() != z.size()) throw Error("ScopeClassifier::features: zero encoding or size mismatch");
    const double rnorm = readout.norm();
    const double wnorm = weights.norm();
    Eigen::RowVectorXd f(kFeatures);
    f[0] = rnorm > 0 ? z.dot(readout) / (norm * rnorm) : 0.0;
    f[1] = (readout - z).norm() / norm;
    f[2] = rnorm / norm;
    f[3] = wnorm;
    f[4] = wnorm > 0 ? weights.cwiseAbs().maxCoeff() / wnorm : 0.0;
    f[5] = wnorm > 0 ? weights.cwiseAbs().sum() / (wnorm * std::sqrt(static_cast<double>(weights.size()))) : 0.0;
    return f;
}

double ScopeClassifier::probability(const Eigen::RowVectorXd& z, const Eigen::RowVectorXd& readout,
                                    const Eigen::RowVectorXd& weights) const {
    const Eigen::RowVectorXd f = features(z, readout, weights);
    const Eigen::RowVectorXd s = ((f.transpose() - mean).array() / scale.array()).matrix().transpose();
    return sigmoid(s.dot(weight) + bias);
}

ScopeClassifier ScopeClassifier::load(const std::string& path) {
    const auto f = safetensors::File::open(path);
    ScopeClassifier c;
    c.weight = readF64(f, "weight");
    const Eigen::VectorXd b = readF64(f, "bias");
    c.mean = readF64(f, "mean");
    c.scale = readF64(f, "scale");
    if (b.size() != 1 || c.weight.size() != kFeatures || c.mean.size() != c.weight.size() ||
        c.scale.size() != c.weight.size() || !(c.scale.array() > 0).all() || !c.weight.allFinite())
        throw UserError(path + ": not a scope classifier (tensor sizes or values do not fit)");
    c.bias = b[0];
    const auto& meta = f.metadata();
    if (auto it = meta.find("model_id"); it != meta.end()) c.modelId = it->second;
    if (auto it = meta.find("model_hash"); it != meta.end()) c.modelHash = it->second;
    if (auto it = meta.find("latent_size"); it != meta.end()) c.latentSize = std::atoi(it->second.c_str());
    return c;
}

void ScopeClassifier::save(const std::string& path) const {
    Eigen::VectorXd b(1);
    b[0] = bias;
    safetensors::write(path, {f64Tensor("weight", weight), f64Tensor("bias", b), f64Tensor("mean", mean), f64Tensor("scale", scale)},
                       {{"format", "larimar-scope-classifier"},
                        {"features", "cos(z,r), |r-z|/|z|, |r|/|z|, |w|, max|w|/|w|, |w|_1/(|w| sqrt K)"},
                        {"latent_size", std::to_string(latentSize)},
                        {"model_id", modelId},
                        {"model_hash", modelHash}});
}

EpisodicMemory makeEmptyMemory(TextModel& model, double lambda) {
    const Eigen::MatrixXd reference = model.memoryPrior();
    MemorySettings s;
    s.pinv = model.pinv();
    s.lambda = lambda;
    return EpisodicMemory(Eigen::MatrixXd::Zero(reference.rows(), reference.cols()), reference, s);
}

namespace {

Eigen::MatrixXd encodeAll(TextModel& model, const std::vector<std::string>& texts, int batch,
                          const std::atomic<bool>* cancel) {
    Eigen::MatrixXd out(static_cast<Eigen::Index>(texts.size()), model.latentSize());
    for (std::size_t b = 0; b < texts.size(); b += static_cast<std::size_t>(batch)) {
        if (cancel && cancel->load()) throw UserError("cancelled");
        const std::size_t e = std::min(texts.size(), b + static_cast<std::size_t>(batch));
        const Eigen::MatrixXd z = model.encode(std::vector<std::string>(texts.begin() + b, texts.begin() + e));
        out.middleRows(static_cast<Eigen::Index>(b), z.rows()) = z;
    }
    return out;
}

} // namespace

ScopeTrainResult trainScopeClassifier(TextModel& model, const std::vector<EditCase>& allCases,
                                      const ScopeTrainOptions& options,
                                      const std::function<void(std::int64_t, std::int64_t)>& progress,
                                      const std::atomic<bool>* cancel) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<EditCase> cases = allCases;
    if (options.limit > 0 && cases.size() > static_cast<std::size_t>(options.limit)) cases.resize(options.limit);
    const int group = std::max(1, options.factsPerMemory);
    const int batch = std::max(1, options.encodeBatch);
    const auto total = static_cast<std::int64_t>(cases.size()) + options.iterations;

    std::vector<Eigen::RowVectorXd> rows;
    std::vector<double> labels;
    for (std::size_t g = 0; g < cases.size(); g += static_cast<std::size_t>(group)) {
        std::size_t end = std::min(cases.size(), g + static_cast<std::size_t>(group));
        // Paraphrases of facts NOT written into this memory are negatives too: CounterFact's
        // paraphrases and neighbourhood prompts differ in style, and without these the
        // classifier learns the style instead of reading the memory (measured: the same scores
        // with and without the facts written). They come from the next group (the last group
        // takes the previous one; a single group is split in half).
        std::size_t otherBegin = end, otherEnd = std::min(cases.size(), end + (end - g));
        if (otherBegin == otherEnd) {
            otherBegin = g >= (end - g) ? g - (end - g) : 0;
            otherEnd = g;
        }
        if (otherBegin == otherEnd && end - g >= 2) {
            otherBegin = g + (end - g) / 2;
            otherEnd = end;
            end = otherBegin;
        }
        std::vector<std::string> facts, queries;
        std::vector<double> queryLabels;
        for (std::size_t i = otherBegin; i < otherEnd; ++i)
            for (const auto& p : cases[i].paraphrasePrompts) {
                queries.push_back(p);
                queryLabels.push_back(0.0);
            }
        for (std::size_t i = g; i < end; ++i) {
            facts.push_back(cases[i].editText());
            for (const auto& p : cases[i].paraphrasePrompts) {
                queries.push_back(p);
                queryLabels.push_back(1.0);
            }
            for (const auto& p : cases[i].neighbourhoodPrompts) {
                queries.push_back(p);
                queryLabels.push_back(0.0);
            }
        }
        EpisodicMemory memory = makeEmptyMemory(model);
        memory.write(encodeAll(model, facts, batch, cancel));
        if (!queries.empty()) {
            const Eigen::MatrixXd zq = encodeAll(model, queries, batch, cancel);
            const ReadResult read = memory.read(zq);
            for (Eigen::Index i = 0; i < zq.rows(); ++i) {
                if (!(zq.row(i).norm() > 0)) continue;
                rows.push_back(ScopeClassifier::features(zq.row(i), read.readout.row(i), read.weights.row(i)));
                labels.push_back(queryLabels[static_cast<std::size_t>(i)]);
            }
        }
        if (progress) progress(static_cast<std::int64_t>(end), total);
    }

    ScopeTrainResult result;
    for (double y : labels) (y > 0.5 ? result.positives : result.negatives)++;
    if (result.positives == 0 || result.negatives == 0)
        throw UserError("training the scope classifier needs cases with paraphrase prompts (positives) and "
                        "neighbourhood prompts (negatives); got " + std::to_string(result.positives) + " and " +
                        std::to_string(result.negatives));

    const auto n = static_cast<Eigen::Index>(rows.size());
    const Eigen::Index nf = rows.front().size();
    Eigen::MatrixXd x(n, nf);
    for (Eigen::Index i = 0; i < n; ++i) x.row(i) = rows[static_cast<std::size_t>(i)];
    Eigen::VectorXd y = Eigen::Map<Eigen::VectorXd>(labels.data(), n);

    ScopeClassifier& c = result.classifier;
    c.mean = x.colwise().mean().transpose();
    x.rowwise() -= c.mean.transpose();
    c.scale = (x.colwise().squaredNorm() / static_cast<double>(n)).cwiseSqrt().transpose();
    for (Eigen::Index j = 0; j < nf; ++j)
        if (!(c.scale[j] > 1e-12)) c.scale[j] = 1.0;
    x = x.array().rowwise() / c.scale.transpose().array();

    // Class-balanced logistic regression, full-batch Adam.
    const double wPos = 0.5 * static_cast<double>(n) / static_cast<double>(result.positives);
    const double wNeg = 0.5 * static_cast<double>(n) / static_cast<double>(result.negatives);
    Eigen::VectorXd sampleWeight = y.unaryExpr([&](double v) { return v > 0.5 ? wPos : wNeg; });
    Eigen::VectorXd w = Eigen::VectorXd::Zero(nf), m = w, v = w;
    double b = 0, mb = 0, vb = 0;
    const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    for (int it = 1; it <= options.iterations; ++it) {
        if (cancel && cancel->load()) throw UserError("cancelled");
        const Eigen::VectorXd logits = (x * w).array() + b;
        const Eigen::VectorXd p = logits.unaryExpr([](double t) { return sigmoid(t); });
        const Eigen::VectorXd r = (p - y).cwiseProduct(sampleWeight) / static_cast<double>(n);
        const Eigen::VectorXd gw = x.transpose() * r + options.l2 * w;
        const double gb = r.sum();
        m = beta1 * m + (1 - beta1) * gw;
        v = beta2 * v + (1 - beta2) * gw.cwiseProduct(gw);
        mb = beta1 * mb + (1 - beta1) * gb;
        vb = beta2 * vb + (1 - beta2) * gb * gb;
        const double c1 = 1 - std::pow(beta1, it), c2 = 1 - std::pow(beta2, it);
        w -= options.learningRate * ((m / c1).array() / ((v / c2).array().sqrt() + eps)).matrix();
        b -= options.learningRate * (mb / c1) / (std::sqrt(vb / c2) + eps);
        if (progress && (it % 20 == 0 || it == options.iterations))
            progress(static_cast<std::int64_t>(cases.size()) + it, total);
    }
    c.weight = w;
    c.bias = b;
    c.modelId = model.id();
    c.modelHash = model.weightsHash();
    c.latentSize = model.latentSize();
    const Eigen::VectorXd logits = (x * w).array() + b;
    std::int64_t correct = 0;
    for (Eigen::Index i = 0; i < n; ++i) correct += ((logits[i] >= 0) == (y[i] > 0.5)) ? 1 : 0;
    result.trainAccuracy = static_cast<double>(correct) / static_cast<double>(n);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace larimar
