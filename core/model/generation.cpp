#include "core/model/generation.h"

#include "core/model/causal_lm.h"
#include "core/util/error.h"
#include "core/util/utf8.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace larimar {
namespace {

// Uniform double in [0, 1) from the top 53 bits: portable, unlike std::uniform_real_distribution.
double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

torch::Tensor idTensor(const std::vector<std::int32_t>& ids, torch::Device device) {
    std::vector<int64_t> v(ids.begin(), ids.end());
    return torch::tensor(v, torch::TensorOptions().dtype(torch::kLong)).view({1, int64_t(v.size())}).to(device);
}

torch::Tensor latentRow(const torch::Tensor& latent) {
    if (!latent.defined()) return latent;
    return latent.dim() == 1 ? latent.unsqueeze(0) : latent;
}


std::string decodeOne(const TokenDecoding& tokens, std::int32_t id) {
    return tokens.decode ? toValidUtf8(tokens.decode({id})) : std::string();
}

// Picks a token from logits[0, n) according to the options; ids outside are never chosen.
std::int32_t chooseToken(const float* logits, std::int32_t n, const GenerationOptions& o, std::mt19937_64& rng) {
    if (o.greedy) {
        std::int32_t best = 0;
        for (std::int32_t i = 1; i < n; ++i)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
    const double invT = 1.0 / o.temperature;
    std::vector<std::int32_t> cand;
    const bool filter = (o.topK > 0 && o.topK < n) || o.topP < 1.0;
    if (filter) {
        // Candidates in a fixed order (score desc, id asc) so the draw does not depend on the
        // standard library's sort.
        cand.resize(std::size_t(n));
        std::iota(cand.begin(), cand.end(), 0);
        auto better = [&](std::int32_t a, std::int32_t b) {
            return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
        };
        if (o.topK > 0 && o.topK < n) {
            std::nth_element(cand.begin(), cand.begin() + (o.topK - 1), cand.end(), better);
            cand.resize(std::size_t(o.topK));
        }
        std::sort(cand.begin(), cand.end(), better);
    }
    auto idAt = [&](std::size_t i) { return filter ? cand[i] : std::int32_t(i); };
    const std::size_t m = filter ? cand.size() : std::size_t(n);
    double top = logits[idAt(0)]; // the maximum: cand is sorted; otherwise scan below
    for (std::size_t i = 1; i < m && !filter; ++i) top = std::max(top, double(logits[i]));
    std::vector<double> w(m);
    double sum = 0.0;
    for (std::size_t i = 0; i < m; ++i) sum += (w[i] = std::exp((logits[idAt(i)] - top) * invT));
    std::size_t keep = m;
    if (o.topP < 1.0) { // cand is sorted: keep the smallest prefix reaching topP
        double cum = 0.0;
        for (std::size_t i = 0; i < m; ++i) {
            cum += w[i] / sum;
            if (cum >= o.topP) {
                keep = i + 1;
                break;
            }
        }
        sum = std::accumulate(w.begin(), w.begin() + std::ptrdiff_t(keep), 0.0);
    }
    const double u = uniform01(rng) * sum;
    double cum = 0.0;
    for (std::size_t i = 0; i < keep; ++i) {
        cum += w[i];
        if (u < cum) return idAt(i);
    }
    return idAt(keep - 1); // rounding at the very end of the range
}

} // namespace

void validate(const GenerationOptions& o) {
    if (o.maxNewTokens < 0) throw UserError("generation: max new tokens = " + std::to_string(o.maxNewTokens) + " must not be negative");
    if (!(o.temperature > 0.0) || !std::isfinite(o.temperature))
        throw UserError("generation: temperature = " + std::to_string(o.temperature) + " must be positive");
    if (o.topK < 0) throw UserError("generation: top-k = " + std::to_string(o.topK) + " must not be negative");
    if (!(o.topP > 0.0 && o.topP <= 1.0)) throw UserError("generation: top-p = " + std::to_string(o.topP) + " must be in (0, 1]");
    if (o.alternatives < 0 || o.alternatives > 100)
        throw UserError("generation: alternatives = " + std::to_string(o.alternatives) + " must be in 0..100");
    for (const auto& s : o.stopStrings)
        if (s.empty()) throw UserError("generation: a stop string must not be empty");
}

GenerationResult generate(CausalLm& decoder, const TokenDecoding& tokens, const std::vector<std::int32_t>& promptIds,
                          const torch::Tensor& latent, const GenerationOptions& options, const TokenCallback& onToken) {
    validate(options);
    c10::InferenceMode inference;
    const int64_t modelVocab = decoder.vocabSize(), maxPositions = decoder.maxPositions();
    const std::int32_t vocab = std::int32_t(tokens.vocabSize > 0 ? std::min<int64_t>(tokens.vocabSize, modelVocab) : modelVocab);
    std::vector<std::int32_t> ids;
    ids.reserve(promptIds.size() + 1);
    const bool bos = tokens.bosId >= 0;
    if (bos) ids.push_back(tokens.bosId);
    ids.insert(ids.end(), promptIds.begin(), promptIds.end());
    if (ids.empty()) throw UserError("generation: the prompt is empty and this model has no bos token to start from");
    for (auto id : ids)
        if (id < 0 || id >= modelVocab)
            throw UserError("generation: token id " + std::to_string(id) + " is outside the vocabulary (" +
                            std::to_string(modelVocab) + ")");
    const int64_t n = int64_t(ids.size());
    if (n >= maxPositions)
        throw UserError("generation: the prompt has " + std::to_string(promptIds.size()) + " tokens; decoder.max_positions = " +
                        std::to_string(maxPositions) + " leaves room for at most " +
                        std::to_string(maxPositions - (bos ? 2 : 1)) + (bos ? " (bos takes one, one is generated)" : " (one is generated)"));

    GenerationResult result;
    if (options.maxNewTokens == 0) return result;
    const auto device = decoder.device();
    const int64_t capacity = std::min<int64_t>(maxPositions, n + options.maxNewTokens);
    DecoderCache cache = decoder.startCache(1, capacity, latentRow(latent));
    torch::Tensor last = decoder.step(idTensor(ids, device), cache).select(1, n - 1); // [1, H]

    std::mt19937_64 rng(options.seed);
    std::vector<std::int32_t> generated;
    const std::size_t nAlt = std::size_t(std::min(options.alternatives, vocab));
    for (int i = 0; i < options.maxNewTokens; ++i) {
        const torch::Tensor logits = decoder.logits(last).to(torch::kCPU, torch::kFloat).contiguous();
        const float* l = logits.data_ptr<float>();
        const std::int32_t id = chooseToken(l, vocab, options, rng);

        // Model probabilities (temperature 1, unfiltered) for the report. logsumexp runs
        // vectorised in libtorch; a scalar exp loop over the vocabulary cost 0.3 ms per token.
        const double logNorm = torch::logsumexp(logits.narrow(-1, 0, vocab), -1).item<double>();
        auto prob = [&](std::int32_t j) { return float(std::exp(double(l[j]) - logNorm)); };

        GeneratedToken token;
        token.id = id;
        token.text = decodeOne(tokens, id);
        token.probability = prob(id);
        if (nAlt > 0) {
            std::vector<std::int32_t> best; // top nAlt, (logit desc, id asc)
            best.reserve(nAlt + 1);
            for (std::int32_t j = 0; j < vocab; ++j) {
                if (best.size() == nAlt && !(l[j] > l[best.back()])) continue;
                auto pos = std::upper_bound(best.begin(), best.end(), j,
                                            [&](std::int32_t a, std::int32_t b) { return l[a] > l[b]; });
                best.insert(pos, j);
                if (best.size() > nAlt) best.pop_back();
            }
            for (auto j : best) token.alternatives.push_back({j, decodeOne(tokens, j), prob(j)});
        }
        result.tokens.push_back(token);

        if (options.stopAtEos && id == tokens.eosId) {
            result.text = toValidUtf8(result.text);
            result.stopReason = StopReason::Eos;
            if (onToken) onToken(result.tokens.back());
            return result;
        }
        generated.push_back(id);
        result.text = tokens.decode ? tokens.decode(generated) : std::string();
        std::size_t cut = std::string::npos;
        for (const auto& s : options.stopStrings) cut = std::min(cut, result.text.find(s));
        if (cut != std::string::npos) {
            result.text = toValidUtf8(result.text.substr(0, cut));
            result.stopReason = StopReason::StopString;
            if (onToken) onToken(result.tokens.back());
            return result;
        }
        if (onToken && !onToken(result.tokens.back())) {
            result.text = toValidUtf8(result.text);
            result.stopReason = StopReason::Cancelled;
            return result;
        }
        if (i + 1 == options.maxNewTokens) break;
        if (cache.length >= cache.capacity) {
            result.text = toValidUtf8(result.text);
            result.stopReason = StopReason::MaxPositions;
            return result;
        }
        last = decoder.step(idTensor({id}, device), cache).select(1, 0);
    }
    result.text = toValidUtf8(result.text);
    result.stopReason = StopReason::MaxNewTokens;
    return result;
}

ScoreResult scoreContinuation(CausalLm& decoder, std::int32_t bosId, const std::vector<std::int32_t>& promptIds,
                              const std::vector<std::int32_t>& continuationIds, const torch::Tensor& latent) {
    if (continuationIds.empty()) throw UserError("scoring: the continuation is empty");
    c10::InferenceMode inference;
    const int64_t modelVocab = decoder.vocabSize(), maxPositions = decoder.maxPositions();
    const bool bos = bosId >= 0;
    if (!bos && promptIds.empty())
        throw UserError("scoring: the prompt is empty and this model has no bos token to predict the first token from");
    std::vector<std::int32_t> ids;
    if (bos) ids.push_back(bosId);
    ids.insert(ids.end(), promptIds.begin(), promptIds.end());
    ids.insert(ids.end(), continuationIds.begin(), continuationIds.end());
    if (int64_t(ids.size()) > maxPositions)
        throw UserError(std::string("scoring: ") + (bos ? "bos + " : "") + "prompt + continuation = " + std::to_string(ids.size()) +
                        " tokens exceed decoder.max_positions = " + std::to_string(maxPositions));
    for (auto id : ids)
        if (id < 0 || id >= modelVocab)
            throw UserError("scoring: token id " + std::to_string(id) + " is outside the vocabulary (" +
                            std::to_string(modelVocab) + ")");
    const auto device = decoder.device();
    const int64_t p = (bos ? 1 : 0) + int64_t(promptIds.size()), c = int64_t(continuationIds.size());
    const auto hidden = decoder.hiddenStates(idTensor(ids, device), {}, latentRow(latent));
    // Position p - 1 + j predicts continuation token j.
    const auto logp = torch::log_softmax(decoder.logits(hidden.narrow(1, p - 1, c)).to(torch::kFloat), -1);
    const auto targets = idTensor(continuationIds, device).unsqueeze(-1);
    const auto picked = logp.gather(-1, targets).view({c}).to(torch::kCPU).contiguous();
    ScoreResult r;
    r.tokenLogProbs.assign(picked.data_ptr<float>(), picked.data_ptr<float>() + c);
    for (float v : r.tokenLogProbs) r.sumLogProb += v;
    r.meanLogProb = r.sumLogProb / double(c);
    return r;
}

} // namespace larimar
