// The torch-free parts of the external scope detector: the nearest-fact index, sentence
// splitting and the scope decision on given embeddings.
#include "core/scope/nearest_fact_index.h"
#include "core/scope/scope_decision.h"
#include "core/scope/sentence_split.h"
#include "core/util/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

using namespace larimar;

namespace {

std::vector<float> randomVector(std::mt19937& rng, int dim) {
    std::normal_distribution<float> normal;
    std::vector<float> v(static_cast<std::size_t>(dim));
    for (auto& x : v) x = normal(rng);
    return v;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        ab += double(a[i]) * b[i];
        aa += double(a[i]) * a[i];
        bb += double(b[i]) * b[i];
    }
    return ab / std::sqrt(aa * bb);
}

} // namespace

TEST(NearestFactIndex, EmptyIndexHasNoNeighbour) {
    NearestFactIndex index(4);
    EXPECT_TRUE(index.empty());
    EXPECT_FALSE(index.nearest({1, 0, 0, 0}).has_value());
}

TEST(NearestFactIndex, FindsTheMostSimilarAndNormalises) {
    NearestFactIndex index;
    index.add(1, {1, 0, 0});
    index.add(2, {0, 5, 0});  // length does not matter
    index.add(3, {0, 0, -2});
    EXPECT_EQ(index.dimension(), 3);
    auto n = index.nearest({0.1f, 3, 0});
    ASSERT_TRUE(n);
    EXPECT_EQ(n->id, 2);
    EXPECT_NEAR(n->cosine, 3 / std::sqrt(9.01), 1e-6);
    n = index.nearest({0, 0, 1});
    EXPECT_EQ(n->id, 1);  // all orthogonal or opposite: cosine 0 beats -1
    EXPECT_NEAR(n->cosine, 0.0, 1e-6);
}

TEST(NearestFactIndex, ReplaceAndRemove) {
    NearestFactIndex index;
    index.add(7, {1, 0});
    index.add(8, {0, 1});
    index.add(9, {-1, 0});
    index.add(7, {0, -1});  // replaces
    EXPECT_EQ(index.size(), 3u);
    EXPECT_EQ(index.nearest({0, -1})->id, 7);
    EXPECT_TRUE(index.remove(7));
    EXPECT_FALSE(index.remove(7));
    EXPECT_FALSE(index.contains(7));
    EXPECT_EQ(index.size(), 2u);
    EXPECT_EQ(index.nearest({0, -1})->id, 9);  // cosine 0 with (-1,0) beats -1 with (0,1)
    EXPECT_EQ(index.nearest({-1, 0.1f})->id, 9);
    EXPECT_TRUE(index.remove(9));
    EXPECT_TRUE(index.remove(8));
    EXPECT_FALSE(index.nearest({1, 1}).has_value());
}

TEST(NearestFactIndex, RejectsWrongInput) {
    NearestFactIndex index(3);
    EXPECT_THROW(index.add(1, {1, 2}), UserError);
    EXPECT_THROW(index.add(1, {0, 0, 0}), UserError);
    EXPECT_THROW(index.add(1, {NAN, 0, 1}), UserError);
    index.add(1, {1, 2, 3});
    EXPECT_THROW(index.nearest({1, 2}), UserError);
    EXPECT_THROW(index.nearest({0, 0, 0}), UserError);
    EXPECT_THROW(NearestFactIndex(-1), UserError);
}

TEST(NearestFactIndex, AgreesWithBruteForceAfterRandomEdits) {
    std::mt19937 rng(42);
    const int dim = 37;  // not a multiple of 8: exercises the tail of the dot product
    NearestFactIndex index(dim);
    std::map<std::int64_t, std::vector<float>> reference;
    std::uniform_int_distribution<int> idOf(0, 199);
    for (int step = 0; step < 600; ++step) {
        const std::int64_t id = idOf(rng);
        if (step % 3 == 2) {
            EXPECT_EQ(index.remove(id), reference.erase(id) == 1);
        } else {
            auto v = randomVector(rng, dim);
            index.add(id, v);
            reference[id] = v;
        }
    }
    ASSERT_EQ(index.size(), reference.size());
    for (int q = 0; q < 50; ++q) {
        const auto query = randomVector(rng, dim);
        double best = -2;
        std::int64_t bestId = -1;
        for (const auto& [id, v] : reference) {
            const double c = cosine(query, v);
            if (c > best) {
                best = c;
                bestId = id;
            }
        }
        const auto n = index.nearest(query);
        ASSERT_TRUE(n);
        EXPECT_EQ(n->id, bestId);
        EXPECT_NEAR(n->cosine, best, 1e-5);
    }
}

TEST(NearestFactIndex, ExactAmongNearDuplicatesDespiteTheInt8FirstPass) {
    // Rows closer to each other than the int8 quantisation error: the exact second pass must
    // still pick the float brute-force winner.
    std::mt19937 rng(5);
    const int dim = 512;
    NearestFactIndex index(dim);
    const auto base = randomVector(rng, dim);
    std::normal_distribution<float> tiny(0.0f, 1e-3f);
    std::vector<std::vector<float>> rows;
    for (int i = 0; i < 3000; ++i) {
        auto v = base;
        for (auto& x : v) x += tiny(rng);
        index.add(i, v);
        rows.push_back(v);
    }
    for (int q = 0; q < 20; ++q) {
        auto query = base;
        for (auto& x : query) x += tiny(rng);
        double best = -2;
        std::int64_t bestId = -1;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const double c = cosine(query, rows[i]);
            if (c > best) {
                best = c;
                bestId = static_cast<std::int64_t>(i);
            }
        }
        const auto n = index.nearest(query);
        ASSERT_TRUE(n);
        EXPECT_NEAR(n->cosine, best, 1e-6);
        // Float rounding may order rows within 1e-6 differently; the winner's cosine must match.
        if (n->id != bestId) {
            EXPECT_NEAR(cosine(query, rows[static_cast<std::size_t>(n->id)]), best, 1e-6);
        }
    }
}

TEST(SplitSentences, SplitsAtTerminatorsFollowedBySpaceOrEnd) {
    using V = std::vector<std::string>;
    EXPECT_EQ(splitSentences("One. Two? Three! Four"), (V{"One.", "Two?", "Three!", "Four"}));
    EXPECT_EQ(splitSentences("Really?! Yes... Fine."), (V{"Really?!", "Yes...", "Fine."}));
    EXPECT_EQ(splitSentences("  spaced   out.  \n Next line.\n"), (V{"spaced   out.", "Next line."}));
    EXPECT_EQ(splitSentences("He said \"Stop.\" Then he left."), (V{"He said \"Stop.\"", "Then he left."}));
    EXPECT_EQ(splitSentences("(It rained.) We stayed."), (V{"(It rained.)", "We stayed."}));
    EXPECT_EQ(splitSentences("The year was 1990. Then came 1991."), (V{"The year was 1990.", "Then came 1991."}));
    EXPECT_EQ(splitSentences("A single sentence without a stop"), (V{"A single sentence without a stop"}));
    EXPECT_TRUE(splitSentences("").empty());
    EXPECT_TRUE(splitSentences("   \n\t ").empty());
}

TEST(SplitSentences, KeepsAbbreviationsDecimalsAndInitialsIntact) {
    using V = std::vector<std::string>;
    EXPECT_EQ(splitSentences("Dr. Smith lives in the U.S. and works for Mr. Jones."),
              (V{"Dr. Smith lives in the U.S. and works for Mr. Jones."}));
    EXPECT_EQ(splitSentences("Pi is 3.14159. The euro costs 1.08 dollars."),
              (V{"Pi is 3.14159.", "The euro costs 1.08 dollars."}));
    EXPECT_EQ(splitSentences("J. K. Rowling wrote it. It sold well."), (V{"J. K. Rowling wrote it.", "It sold well."}));
    EXPECT_EQ(splitSentences("Fruit, e.g. apples, is healthy. Eat it at 8 a.m. every day."),
              (V{"Fruit, e.g. apples, is healthy.", "Eat it at 8 a.m. every day."}));
    EXPECT_EQ(splitSentences("Visit example.com today. It is free."), (V{"Visit example.com today.", "It is free."}));
    EXPECT_EQ(splitSentences("We bought apples, pears, etc. and went home. Then we ate."),
              (V{"We bought apples, pears, etc. and went home.", "Then we ate."}));
    EXPECT_EQ(splitSentences("He plays for St. Louis. She went to Mt. Everest."),
              (V{"He plays for St. Louis.", "She went to Mt. Everest."}));
}

TEST(ScopeDecision, EmptyIndexIsOutOfScopeForEveryQuery) {
    NearestFactIndex index(3);
    const auto d = decideScope(index, {{1, 0, 0}, {0, 1, 0}});
    EXPECT_FALSE(d.inScope);
    EXPECT_FALSE(d.nearestFactId.has_value());
    EXPECT_EQ(d.score, -1.0f);
    EXPECT_FALSE(decideScope(index, {{1, 0, 0}}, -1.0f).inScope);  // even with the lowest threshold
}

TEST(ScopeDecision, ThresholdAndBestSentence) {
    NearestFactIndex index;
    index.add(1, {1, 0, 0});
    index.add(2, {0, 1, 0});
    // cos = 0.8 to fact 2 for the second sentence, 0.6 to fact 1 for the first.
    const std::vector<std::vector<float>> query = {{0.6f, 0, 0.8f}, {0, 0.8f, 0.6f}};
    auto d = decideScope(index, query);
    EXPECT_TRUE(d.inScope);
    EXPECT_EQ(d.nearestFactId, 2);
    EXPECT_EQ(d.sentence, 1);
    EXPECT_NEAR(d.score, 0.8f, 1e-6f);
    EXPECT_EQ(kDefaultScopeThreshold, 0.7f);
    EXPECT_TRUE(decideScope(index, query, 0.8f - 1e-6f).inScope);  // score >= threshold
    EXPECT_FALSE(decideScope(index, query, 0.81f).inScope);
    EXPECT_FALSE(decideScope(index, {}).inScope);  // a query with no sentences
    EXPECT_THROW(decideScope(index, query, 1.5f), UserError);
    EXPECT_THROW(decideScope(index, query, NAN), UserError);
}
