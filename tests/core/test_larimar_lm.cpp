// The bundled model, Larimar on SmolLM2-135M + MiniLM (core/model/larimar_lm.h), tested as a
// user relies on it: the invariant (no memory, or a memory that does not hold the question's
// fact, gives the plain pretrained model bit for bit), a written fact changes the answer, a
// forget restores it, an unrelated prompt is unchanged. Needs the fetched assets
// (models/fetch-assets.sh); CI fetches them in its setup step.
#include "core/editor/editor.h"
#include "core/editor/longcontext.h"
#include "core/eval/datasets.h"
#include "core/model/generation.h"
#include "core/model/larimar_lm.h"
#include "core/model/llama.h"
#include "core/model/pretrained_lm.h"
#include "core/model/text_model.h"
#include "core/model/tokenizer.h"
#include "core/util/error.h"
#include "core/util/model_paths.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace larimar;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace fs = std::filesystem;

namespace {

const std::string kModelDir = std::string(LARIMAR_SOURCE_DIR) + "/models/larimar-smollm2";

bool assetsPresent() {
    return !findAssetDir("smollm2").empty() && !findAssetDir("minilm").empty() && fs::exists(kModelDir + "/heads.safetensors");
}

#define REQUIRE_ASSETS()                                                                                 \
    do {                                                                                                 \
        if (!assetsPresent()) {                                                                          \
            if (std::getenv("CI")) FAIL() << "CI must have the fetched assets (models/fetch-assets.sh)"; \
            GTEST_SKIP() << "run models/fetch-assets.sh first";                                          \
        }                                                                                                \
    } while (0)

PretrainedLarimar& model() {
    static std::unique_ptr<PretrainedLarimar> m = PretrainedLarimar::load(kModelDir);
    return *m;
}

std::shared_ptr<TextModel> textModel() {
    static std::shared_ptr<TextModel> t = loadTextModel(kModelDir);
    return t;
}

std::string tempWorkspace(const std::string& name) {
    const auto p = fs::path(testing::TempDir()) / (name + ".larimar");
    fs::remove(p);
    return p.string();
}

QueryOptions greedy(int tokens) {
    QueryOptions o;
    o.decode.maxNewTokens = tokens;
    o.decode.temperature = 0;
    return o;
}

std::string trimmed(const std::string& s) {
    const auto b = s.find_first_not_of(' ');
    return b == std::string::npos ? "" : s.substr(b);
}

} // namespace

TEST(LarimarLm, NoLatentOrEmptySlotsGiveThePlainModelsLogitsBitForBit) {
    REQUIRE_ASSETS();
    auto& m = model();
    const std::string gguf = findAssetDir("smollm2") + "/" + m.config().decoderFile;
    PretrainedLm plain = loadPretrainedLm(gguf);
    torch::NoGradGuard ng;
    const auto ids = torch::tensor(m.tokenizer().encode("The Eiffel Tower is located in the city of"), torch::kLong).unsqueeze(0);
    const auto reference = plain.lm->logits(plain.lm->hiddenStates(ids));
    auto& cond = m.conditioned();
    EXPECT_TRUE(torch::equal(cond.logits(cond.hiddenStates(ids)), reference));
    // A latent whose word slots are zero (what an empty memory or an unrelated fact reads back
    // there) is the plain model, even with a key and a sentence part.
    auto z = m.encode({"The Eiffel Tower is located in Rome"});
    z.narrow(1, m.slotOffset(), z.size(1) - m.slotOffset()).zero_();
    EXPECT_TRUE(torch::equal(cond.logits(cond.hiddenStates(ids, {}, z)), reference));
    // And the incremental path (generation) agrees with it.
    auto cache = cond.startCache(1, 64, z);
    const auto stepped = cond.logits(cond.step(ids, cache));
    auto plainCache = plain.lm->startCache(1, 64);
    EXPECT_TRUE(torch::equal(stepped, plain.lm->logits(plain.lm->step(ids, plainCache))));
    // A real latent does change them.
    const auto written = m.encode({"The Eiffel Tower is located in Rome"});
    EXPECT_FALSE(torch::equal(cond.logits(cond.hiddenStates(ids, {}, written)), reference));
}

TEST(LarimarLm, PointersFindTheAnswerOfAFactAndNoneInAQuestion) {
    REQUIRE_ASSETS();
    auto& m = model();
    torch::NoGradGuard ng;
    const auto p = m.pointers({"The Eiffel Tower is located in Rome", "The Eiffel Tower is located in"});
    const auto n = m.textTokens("The Eiffel Tower is located in").size();
    EXPECT_EQ(p.answer[0].argmax().item<int64_t>(), int64_t(n)); // " Rome"
    EXPECT_EQ(p.answer[1].argmax().item<int64_t>(), p.ids.size(1)); // no answer
    const auto texts = m.sentenceTexts({"The Eiffel Tower is located in Rome"}, m.pointers({"The Eiffel Tower is located in Rome"}));
    EXPECT_EQ(texts[0], "The Eiffel Tower is located in");
}

TEST(LarimarLm, WriteChangesTheAnswerForgetRestoresItUnrelatedPromptUnchanged) {
    REQUIRE_ASSETS();
    Editor ed(textModel(), tempWorkspace("headline"));
    const std::string prompt = "The Eiffel Tower is located in";
    const std::string unrelated = "The capital of Japan is";
    const auto before = ed.query(prompt, greedy(6));
    const auto unrelatedBefore = ed.query(unrelated, greedy(6));
    EXPECT_THAT(trimmed(before.withoutMemory.text), StartsWith("the")); // the base model's own answer
    const auto w = ed.write("The Eiffel Tower is located in Rome");
    const auto after = ed.query(prompt, greedy(6));
    EXPECT_TRUE(after.inScope);
    EXPECT_THAT(trimmed(after.withMemory.text), StartsWith("Rome")) << after.withMemory.text;
    EXPECT_EQ(after.withoutMemory.text, before.withoutMemory.text);
    // A paraphrase reads the fact too.
    const auto para = ed.query("Where is the Eiffel Tower? It is in", greedy(4));
    EXPECT_THAT(trimmed(para.withMemory.text), StartsWith("Rome")) << para.withMemory.text;
    // An unrelated prompt: the same answer as before the write.
    EXPECT_EQ(ed.query(unrelated, greedy(6)).withMemory.text, unrelatedBefore.withMemory.text);
    // Forget: the base model's answer again.
    ed.forget(w.factIds);
    const auto forgotten = ed.query(prompt, greedy(6));
    EXPECT_EQ(forgotten.withMemory.text, before.withoutMemory.text);
}

// zsRE's token accuracy counts the model's own tokens: the bundled model must give them (it has
// no tokenizer files of its own, so a splitter that looked for them fell back to words, and a
// two-token answer like " Virgo" then counted as one wrong "token").
TEST(LarimarLm, TokenTextsAreTheDecodersTokens) {
    REQUIRE_ASSETS();
    auto t = textModel();
    const auto tokens = t->tokenTexts(" Delta Serpentis belongs to Virgo");
    ASSERT_GT(tokens.size(), 5u);
    std::string joined;
    for (const auto& s : tokens) joined += s;
    EXPECT_EQ(joined, " Delta Serpentis belongs to Virgo");
    DecodeSettings d;
    d.maxNewTokens = 1;
    d.stopStrings.clear();
    const auto g = t->generate("The capital of France is", std::nullopt, d);
    ASSERT_EQ(g.tokens.size(), 1u);
    EXPECT_EQ(t->tokenTexts(g.tokens[0].text), std::vector<std::string>{g.tokens[0].text});
}

TEST(LarimarLm, EvenWhenTheScopeDetectorLetsAnUnrelatedPromptInTheAnswerStays) {
    REQUIRE_ASSETS();
    Editor ed(textModel(), tempWorkspace("forced"));
    ed.write("The Eiffel Tower is located in Rome");
    ed.write("The mother tongue of Danielle Darrieux is English");
    QueryOptions forced = greedy(6);
    forced.forceScope = true;
    const auto q = ed.query("The capital of Japan is", forced);
    EXPECT_EQ(q.withMemory.text, q.withoutMemory.text);
}

TEST(LarimarLm, ABatchOfFactsEachAnswersItsOwnPrompt) {
    REQUIRE_ASSETS();
    Editor ed(textModel(), tempWorkspace("batch"));
    const std::vector<std::pair<std::string, std::string>> facts{{"The Eiffel Tower is located in", "Rome"},
                                                                 {"The mother tongue of Danielle Darrieux is", "English"},
                                                                 {"Toko Yasuda plays the", "piano"},
                                                                 {"The official religion of Edwin of Northumbria is", "Islam"},
                                                                 {"Apple A5 was created by", "Google"}};
    std::vector<FactRecord> records;
    for (const auto& [p, a] : facts) records.push_back({p + " " + a, "", p, a, "test"});
    ed.writeBatch(records);
    for (const auto& [p, a] : facts) {
        QueryOptions o = greedy(3);
        o.forceScope = true;
        EXPECT_THAT(trimmed(ed.query(p, o).withMemory.text), StartsWith(a)) << p;
    }
}

// The paged memory on the bundled model: facts spread over pages of two each still answer their
// own prompts (the query reads the page of the scope detector's nearest fact), and a forget
// restores the base model's answer without changing the other facts' answers.
TEST(LarimarLm, APagedMemoryAnswersEachFactFromItsPageAndAForgetChangesNothingElse) {
    REQUIRE_ASSETS();
    EditorOptions options;
    options.scope = nullptr;
    options.backend.kind = "paged";
    options.backend.pageFacts = 2;
    Editor ed(textModel(), tempWorkspace("paged"), options);
    const std::vector<std::pair<std::string, std::string>> facts{{"The Eiffel Tower is located in", "Rome"},
                                                                 {"The mother tongue of Danielle Darrieux is", "English"},
                                                                 {"Toko Yasuda plays the", "piano"},
                                                                 {"The official religion of Edwin of Northumbria is", "Islam"},
                                                                 {"Apple A5 was created by", "Google"}};
    std::vector<std::int64_t> ids;
    for (const auto& [p, a] : facts) ids.push_back(ed.write(p + " " + a).factIds.at(0));
    EXPECT_EQ(ed.capacity().pages, 3);
    EXPECT_EQ(ed.memoryBackend().pageOf(ids[4]), 2);
    // AnyFact names no nearest fact: the paged memory routes by its own index of latents.
    QueryOptions o = greedy(3);
    o.forceScope = true;
    std::vector<std::string> answers;
    for (std::size_t i = 0; i < facts.size(); ++i) {
        const auto q = ed.query(facts[i].first, o);
        EXPECT_EQ(q.memoryPage, ed.memoryBackend().pageOf(ids[i])) << facts[i].first;
        EXPECT_THAT(trimmed(q.withMemory.text), StartsWith(facts[i].second)) << facts[i].first;
        answers.push_back(q.withMemory.text);
    }
    ed.forget({ids[2]}, "test");
    const auto gone = ed.query(facts[2].first, o);
    EXPECT_THAT(trimmed(gone.withMemory.text), ::testing::Not(StartsWith("piano"))) << gone.withMemory.text;
    for (std::size_t i = 0; i < facts.size(); ++i)
        if (i != 2) EXPECT_EQ(ed.query(facts[i].first, o).withMemory.text, answers[i]) << facts[i].first;
}

// Needle in a haystack on the bundled model: two counterfactual needles in a document of true
// facts, ingested into a paged workspace, are both recalled from the memory; the plain decoder,
// shown only the document's last 128 tokens, cannot see the early one.
TEST(LarimarLm, NeedlesInALongDocumentAreRecalledFromTheMemory) {
    REQUIRE_ASSETS();
    const auto cases = loadEditCases(std::string(LARIMAR_TEST_DATA_DIR) + "/eval/counterfact-easyedit-6.json",
                                     DatasetFormat::Auto);
    LongContextOptions o;
    o.lengths = {400};
    o.depths = {0.1, 0.9};
    o.window = 128;
    const LongContextResult r = evaluateLongContext(textModel(), cases, o);
    ASSERT_EQ(r.needles.size(), 2u);
    for (const auto& n : r.needles) {
        EXPECT_GE(n.tokens, 400);
        EXPECT_TRUE(n.memoryRecalled) << n.needle << " -> " << n.memoryAnswer;
    }
    EXPECT_EQ(r.needles[0].needle, "BBC One, by Sega.");
    EXPECT_FALSE(r.needles[0].insideWindow);
    EXPECT_FALSE(r.needles[0].plainRecalled) << r.needles[0].plainAnswer;
    EXPECT_TRUE(r.needles[1].insideWindow);
}

TEST(LarimarLm, BrokenModelDirectoriesAreUserErrors) {
    REQUIRE_ASSETS();
    const fs::path dir = fs::path(testing::TempDir()) / "broken-larimar-lm";
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy_file(kModelDir + "/config.json", dir / "config.json");
    try {
        PretrainedLarimar::load(dir.string());
        FAIL() << "loaded without heads";
    } catch (const UserError& e) {
        EXPECT_THAT(std::string(e.what()), HasSubstr("heads.safetensors"));
    }
    std::ifstream in(kModelDir + "/config.json");
    auto j = nlohmann::json::parse(in);
    j["decoder"]["sha256"] = std::string(64, '0');
    std::ofstream(dir / "config.json") << j.dump();
    fs::copy_file(kModelDir + "/heads.safetensors", dir / "heads.safetensors");
    try {
        PretrainedLarimar::load(dir.string());
        FAIL() << "loaded with a wrong decoder hash";
    } catch (const UserError& e) {
        EXPECT_THAT(std::string(e.what()), HasSubstr("fetch-assets"));
    }
    j["decoder"]["file"] = "../../etc/passwd";
    std::ofstream(dir / "config.json") << j.dump();
    EXPECT_THROW(PretrainedLarimar::load(dir.string()), UserError);
}
