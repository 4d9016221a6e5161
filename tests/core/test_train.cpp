// Trainer parts that do not need a model: the differentiable memory, the episode sampler and
// the training config. (Loss falling, exact resume: tests/core/test_trainer.cpp.)
#include "core/memory/episodic_memory.h"
#include "core/train/episodes.h"
#include "core/train/memory_ops.h"
#include "core/train/train_config.h"
#include "core/util/error.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace larimar;

namespace {

Eigen::MatrixXd toEigen(const torch::Tensor& t) {
    torch::Tensor d = t.to(torch::kDouble).contiguous();
    Eigen::MatrixXd m(d.size(0), d.size(1));
    for (int64_t i = 0; i < d.size(0); ++i)
        for (int64_t j = 0; j < d.size(1); ++j) m(i, j) = d[i][j].item<double>();
    return m;
}

TEST(MemoryOps, ProjectionReadoutEqualsTheEngineMemory) {
    // Training's closed form must match what the editor's Eigen memory reads out at use time:
    // zero prior, facts written one by one, exact pseudo-inverse.
    torch::manual_seed(3);
    const int k = 32, c = 48, n = 5;
    torch::Tensor zw = torch::randn({1, n, c}, torch::kDouble), zq = torch::randn({1, 3, c}, torch::kDouble);
    torch::Tensor r = projectionReadout(zw, zq, 1e-9);
    Eigen::MatrixXd ref = Eigen::MatrixXd::Random(k, c);
    MemorySettings s;
    s.lambda = 1e-9;
    EpisodicMemory mem(Eigen::MatrixXd::Zero(k, c), ref, s);
    mem.write(toEigen(zw[0]));
    const Eigen::MatrixXd expected = mem.read(toEigen(zq[0])).readout;
    EXPECT_LT((toEigen(r[0]) - expected).norm() / expected.norm(), 1e-6);
}

TEST(MemoryOps, ReadingAWrittenFactReturnsIt) {
    torch::manual_seed(4);
    torch::Tensor zw = torch::randn({2, 4, 16});
    torch::Tensor r = projectionReadout(zw, zw, 1e-6);
    EXPECT_LT((r - zw).abs().max().item<double>(), 1e-3);
}

TEST(MemoryOps, GradientsFlowThroughWriteAndRead) {
    torch::manual_seed(5);
    torch::Tensor zw = torch::randn({2, 3, 8}, torch::requires_grad());
    torch::Tensor zq = torch::randn({2, 2, 8}, torch::requires_grad());
    torch::Tensor prior = torch::randn({6, 8}, torch::requires_grad());
    projectionReadout(zw, zq, 1e-3, 0.1).pow(2).sum().backward();
    EXPECT_GT(zw.grad().abs().sum().item<double>(), 0.0);
    EXPECT_GT(zq.grad().abs().sum().item<double>(), 0.0);
    iterativeReadout(zw, zq, prior * 0.1, 5e-4, 15).pow(2).sum().backward();
    EXPECT_GT(prior.grad().abs().sum().item<double>(), 0.0) << "the public form learns the prior M0";
}

TEST(MemoryOps, PaddedRowsDoNotChangeTheReadout) {
    torch::manual_seed(6);
    torch::Tensor zw = torch::randn({1, 3, 8});
    torch::Tensor zq = torch::randn({1, 2, 8});
    torch::Tensor padded = torch::cat({zw, torch::randn({1, 2, 8})}, 1);
    torch::Tensor mask = torch::tensor({1, 1, 1, 0, 0}, torch::kBool).unsqueeze(0);
    EXPECT_TRUE(torch::allclose(projectionReadout(zw, zq), projectionReadout(padded, zq, 1e-3, 0.0, mask), 1e-5, 1e-6));
}

TEST(MemoryOps, IterativePinvMatchesExactOnWellConditionedInput) {
    torch::Tensor a = torch::diag(torch::linspace(1, 30, 10, torch::kDouble));
    torch::Tensor x = iterativePinv(a, 5e-4, 15);
    EXPECT_LT((x - torch::linalg_pinv(a)).abs().max().item<double>(), 1e-6);
}

TrainingCorpus smallCorpus() {
    TrainingCorpus c;
    for (int i = 0; i < 10; ++i) {
        EditCase e;
        e.prompt = "Subject " + std::to_string(i) + " lives in";
        e.targetTrue = "Paris";
        e.targetNew = "Rome";
        e.paraphrasePrompts = {"The home of subject " + std::to_string(i) + " is"};
        e.neighbourhoodPrompts = {"Other " + std::to_string(i) + " lives in"};
        e.neighbourhoodAnswers = {"Paris"};
        c.cases.push_back(e);
    }
    c.plainText = {"A dog is an animal.", "A cat is an animal.", "Rain is water."};
    return c;
}

TEST(Episodes, StructureAndCounterfactualShare) {
    const TrainingCorpus c = smallCorpus();
    SamplerOptions o;
    o.episodesPerStep = 50;
    o.episodeSize = 4;
    o.counterfactualProb = 0.6;
    EpisodeSampler s(c, o, 1);
    const TrainingStep step = s.next();
    ASSERT_EQ(step.episodes.size(), 50u);
    int counterfactual = 0, writes = 0;
    for (const auto& ep : step.episodes) {
        ASSERT_EQ(ep.writes.size(), 4u);
        for (const auto& w : ep.writes) {
            ++writes;
            counterfactual += w.size() >= 4 && w.compare(w.size() - 4, 4, "Rome") == 0;
        }
        for (const auto& t : ep.targets) {
            if (t.kind == DecodeTarget::Kind::Neighbour) EXPECT_EQ(t.answer, "Paris") << "neighbours keep their true answer";
            else
                EXPECT_TRUE(std::any_of(ep.writes.begin(), ep.writes.end(), [&](const std::string& w) {
                    return w.size() > t.answer.size() && w.compare(w.size() - t.answer.size(), t.answer.size(), t.answer) == 0;
                })) << "a memory target's answer is the one written";
        }
    }
    EXPECT_NEAR(double(counterfactual) / writes, 0.6, 0.08);
    EXPECT_EQ(step.plainText.size(), 8u);
}

// Text episodes: plain sentences written, each read with itself or with its first words, and
// the target is always the written sentence, cut before one of its last three words.
TEST(Episodes, TextEpisodesWritePlainSentencesAndDecodeThem) {
    const TrainingCorpus c = smallCorpus();
    SamplerOptions o;
    o.episodesPerStep = 1;
    o.textEpisodesPerStep = 20;
    o.episodeSize = 2;
    o.plainPerStep = 0;
    EpisodeSampler s(c, o, 3);
    const TrainingStep step = s.next();
    ASSERT_EQ(step.episodes.size(), 21u);
    int self = 0, edit = 0;
    for (std::size_t e = 1; e < step.episodes.size(); ++e) {
        const Episode& ep = step.episodes[e];
        ASSERT_EQ(ep.writes.size(), 2u);
        ASSERT_EQ(ep.targets.size(), 2u);
        for (std::size_t i = 0; i < 2; ++i) {
            const DecodeTarget& t = ep.targets[i];
            EXPECT_NE(std::find(c.plainText.begin(), c.plainText.end(), ep.writes[i]), c.plainText.end());
            EXPECT_EQ(t.text(), ep.writes[i]) << "the target is the sentence written";
            EXPECT_FALSE(t.answer.empty());
            const auto words = std::count(t.answer.begin(), t.answer.end(), ' ') + 1;
            EXPECT_LE(words, 3) << t.answer;
            if (t.kind == DecodeTarget::Kind::Self) {
                ++self;
                EXPECT_EQ(t.query, ep.writes[i]);
            } else {
                ++edit;
                EXPECT_EQ(t.kind, DecodeTarget::Kind::Edit);
                EXPECT_EQ(t.query, t.prefix) << "read with the sentence's first words";
            }
        }
    }
    EXPECT_GT(self, 0);
    EXPECT_GT(edit, self) << "self_prob 0.25";
}

TEST(Episodes, StateRestoresTheExactSequence) {
    const TrainingCorpus c = smallCorpus();
    EpisodeSampler a(c, {}, 7), b(c, {}, 7);
    a.next();
    a.next();
    const std::string st = a.state();
    const TrainingStep expected = a.next();
    b.restore(st);
    const TrainingStep got = b.next();
    ASSERT_EQ(got.episodes.size(), expected.episodes.size());
    for (std::size_t i = 0; i < got.episodes.size(); ++i) EXPECT_EQ(got.episodes[i].writes, expected.episodes[i].writes);
    EXPECT_EQ(got.plainText, expected.plainText);
}

TEST(TrainConfigTest, ParsesValidatesAndSchedules) {
    const auto cfg = TrainConfig::fromJson(R"({"model":"m.json","data":{"edit_files":["a.json"]},"steps":1000,"warmup_steps":100,"lr":1e-3})", "t.json");
    EXPECT_EQ(cfg.steps, 1000);
    EXPECT_NEAR(cfg.learningRate(0), 1e-5, 1e-12);
    EXPECT_NEAR(cfg.learningRate(99), 1e-3, 1e-12);
    EXPECT_NEAR(cfg.learningRate(999), 1e-3 * cfg.minLrRatio, 1e-6);
    EXPECT_GT(cfg.learningRate(300), cfg.learningRate(600));
    EXPECT_EQ(TrainConfig::fromJson(cfg.toJson(), "x").toJson(), cfg.toJson());
    try {
        TrainConfig::fromJson(R"({"model":"m.json","data":{"edit_files":["a.json"]},"lr":"fast"})", "t.json");
        FAIL();
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("t.json: field 'lr' has the wrong type"), std::string::npos) << e.what();
    }
    EXPECT_THROW(TrainConfig::fromJson(R"({"model":"m.json"})", "t.json"), UserError);
    EXPECT_EQ(cfg.bowWeight, 0.0) << "the bag-of-words term is off unless asked for";
    EXPECT_EQ(TrainConfig::fromJson(R"({"model":"m.json","data":{"edit_files":["a.json"]},"bow_weight":0.5})", "t.json").bowWeight, 0.5);
    EXPECT_THROW(TrainConfig::fromJson(R"({"model":"m.json","data":{"edit_files":["a.json"]},"bow_weight":-1})", "t.json"), UserError);
    EXPECT_THROW(TrainConfig::fromJson(R"({"model":"m.json","data":{"edit_files":["a.json"]},"latent_spread":0})", "t.json"), UserError);
}

} // namespace
