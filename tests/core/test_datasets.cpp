#include "core/eval/datasets.h"
#include "core/util/error.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace larimar;

namespace {

const std::string kDir = LARIMAR_TEST_DATA_DIR "/datasets/";

std::string writeTemp(const std::string& name, const std::string& content) {
    const std::string path = ::testing::TempDir() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const UserError& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Datasets, DetectsEveryFormat) {
    EXPECT_EQ(detectFormat(kDir + "counterfact-rome-3.json"), DatasetFormat::CounterFact);
    EXPECT_EQ(detectFormat(kDir + "counterfact-easyedit-3.json"), DatasetFormat::EasyEdit);
    EXPECT_EQ(detectFormat(kDir + "zsre-3.jsonl"), DatasetFormat::Zsre);
    EXPECT_EQ(detectFormat(kDir + "facts.txt"), DatasetFormat::Text);
    EXPECT_EQ(detectFormat(kDir + "facts.csv"), DatasetFormat::Csv);
    EXPECT_EQ(detectFormat(kDir + "facts.jsonl"), DatasetFormat::Jsonl);
}

TEST(Datasets, RomeCounterFactFillsSubjectIntoPrompt) {
    const auto cases = loadEditCases(kDir + "counterfact-rome-3.json");
    ASSERT_EQ(cases.size(), 3u);
    EXPECT_EQ(cases[0].subject, "Shanghai");
    EXPECT_EQ(cases[0].prompt, "What is the twin city of Shanghai? It is");
    EXPECT_EQ(cases[0].targetNew, "Dresden");
    EXPECT_EQ(cases[0].targetTrue, "Barcelona");
    EXPECT_EQ(cases[0].editText(), "What is the twin city of Shanghai? It is Dresden");
    EXPECT_EQ(cases[0].paraphrasePrompts.size(), 2u);
    EXPECT_EQ(cases[0].neighbourhoodPrompts.size(), 10u);
    EXPECT_EQ(cases[0].neighbourhoodAnswers[3], "Barcelona");
    EXPECT_EQ(cases[0].caseId, "3648");
}

TEST(Datasets, EasyEditAndZsre) {
    const auto cf = loadEditCases(kDir + "counterfact-easyedit-3.json");
    ASSERT_EQ(cf.size(), 3u);
    EXPECT_EQ(cf[0].prompt, "Toko Yasuda, the");
    EXPECT_EQ(cf[0].targetNew, "piano");
    EXPECT_EQ(cf[0].targetTrue, "guitar");
    EXPECT_EQ(cf[0].paraphrasePrompts, std::vector<std::string>{"Toko Yasuda is incredible at"});
    EXPECT_EQ(cf[0].neighbourhoodAnswers, std::vector<std::string>{"guitar"});
    const auto z = loadEditCases(kDir + "zsre-3.jsonl");
    ASSERT_EQ(z.size(), 3u);
    EXPECT_EQ(z[0].prompt, "What is the product made by UniFirst?");
    EXPECT_EQ(z[0].targetNew, "unmanned aircraft");
    EXPECT_EQ(z[0].targetTrue, "uniform");
    EXPECT_EQ(z[0].neighbourhoodPrompts[0], "john goodman's character in the big lebowski") << "'nq question: ' prefix removed";
    EXPECT_EQ(z[0].neighbourhoodAnswers[0], "Walter Sobchak");
}

TEST(Datasets, FactsFromTextCsvJsonlAndBenchmarks) {
    auto t = loadFacts(kDir + "facts.txt");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[1].text, "Danielle Darrieux's mother tongue is English.");
    EXPECT_EQ(t[1].source, "facts.txt:4");
    auto c = loadFacts(kDir + "facts.csv");
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0].text, "The Eiffel Tower is located in Rome");
    EXPECT_EQ(c[0].source, "manual");
    EXPECT_EQ(c[1].text, "Toko Yasuda, the piano");
    EXPECT_EQ(c[1].source, "facts.csv:3");
    auto j = loadFacts(kDir + "facts.jsonl");
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0].subject, "Paris");
    EXPECT_EQ(j[1].text, "The mother tongue of Danielle Darrieux is English");
    auto b = loadFacts(kDir + "counterfact-easyedit-3.json");
    ASSERT_EQ(b.size(), 3u);
    EXPECT_EQ(b[0].text, "Toko Yasuda, the piano");
    EXPECT_EQ(b[0].target, "piano");
}

TEST(Datasets, CsvQuotingKeepsCommasQuotesAndNewlines) {
    const auto p = writeTemp("q.csv", "text\n\"a, b \"\"c\"\"\nsecond line\"\nplain\n");
    const auto f = loadFacts(p);
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0].text, "a, b \"c\"\nsecond line");
    EXPECT_EQ(f[1].text, "plain");
    EXPECT_EQ(f[1].source, "q.csv:4");
}

TEST(Datasets, SqlMetacharactersAreKeptVerbatim) {
    const auto p = writeTemp("sql.txt", "Robert'); DROP TABLE facts;-- is a name\n");
    EXPECT_EQ(loadFacts(p)[0].text, "Robert'); DROP TABLE facts;-- is a name");
}

TEST(Datasets, MalformedInputsNameFileLineAndField) {
    auto msg = errorOf([] { loadEditCases(writeTemp("m.json", R"([{"prompt":"a","target_new":"b","ground_truth":"c"},{"prompt":"x","ground_truth":"y","target_new":7}])")); });
    EXPECT_NE(msg.find("m.json: record 2: field 'target_new' must be a string"), std::string::npos) << msg;
    msg = errorOf([] { loadEditCases(writeTemp("m2.json", R"([{"prompt":"a","target_new":"b"}])")); });
    EXPECT_NE(msg.find("record 1: missing field 'ground_truth'"), std::string::npos) << msg;
    msg = errorOf([] { loadEditCases(writeTemp("r.json", R"([{"requested_rewrite":{"prompt":"no placeholder","subject":"s","target_new":{"str":"a"},"target_true":{"str":"b"}}}])")); });
    EXPECT_NE(msg.find("has no {}"), std::string::npos) << msg;
    msg = errorOf([] { loadFacts(writeTemp("e.txt", "  \n\n")); });
    EXPECT_NE(msg.find("e.txt is empty"), std::string::npos) << msg;
    msg = errorOf([] { loadFacts(writeTemp("u.txt", "good line\nbad \xC3\x28 line\n")); });
    EXPECT_NE(msg.find("u.txt: line 2: invalid UTF-8 at column 5"), std::string::npos) << msg;
    msg = errorOf([] { loadFacts(writeTemp("big.txt", "ok\n" + std::string(10u << 20, 'a') + "\n")); });
    EXPECT_NE(msg.find("big.txt: line 2 is longer than 1 MiB"), std::string::npos) << msg;
    msg = errorOf([] { loadFacts(writeTemp("h.csv", "name,value\nx,y\n")); });
    EXPECT_NE(msg.find("h.csv: line 1: the header needs a 'text' column"), std::string::npos) << msg;
    msg = errorOf([] { loadFacts(writeTemp("o.csv", "text\n\"never closed\n")); });
    EXPECT_NE(msg.find("never closed"), std::string::npos) << msg;
    msg = errorOf([] { loadFacts(writeTemp("j.jsonl", "{\"text\":\"fine\"}\n{\"text\": 3}\n")); });
    EXPECT_NE(msg.find("j.jsonl: line 2: field 'text' must be a string"), std::string::npos) << msg;
    msg = errorOf([] { loadFacts(writeTemp("k.jsonl", "{\"text\":\"fine\"}\n{broken\n")); });
    EXPECT_NE(msg.find("k.jsonl: line 2: not valid JSON"), std::string::npos) << msg;
    msg = errorOf([] { loadEditCases(kDir + "facts.csv"); });
    EXPECT_NE(msg.find("evaluation needs CounterFact"), std::string::npos) << msg;
    msg = errorOf([] { loadFacts("/nonexistent/file.txt"); });
    EXPECT_NE(msg.find("cannot open /nonexistent/file.txt"), std::string::npos) << msg;
    EXPECT_THROW(formatFromName("xml"), UserError);
}

} // namespace
