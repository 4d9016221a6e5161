// In-process tests of the `larimar` command line: output captured, exit codes checked.
#include "app/cli/cli.h"

#include "core/model/larimar_model.h"
#include "tests/support/csv_table.h"
#include "tests/support/tiny_model.h"
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace {

struct Result {
    int code;
    std::string out, err;
};

Result runCli(std::vector<std::string> args) {
    std::ostringstream out, err;
    const int code = larimar::cli::run(args, out, err);
    return {code, out.str(), err.str()};
}

TEST(Cli, VersionAndHelp) {
    auto r = runCli({"--version"});
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("larimar " LARIMAR_VERSION), std::string::npos);
    r = runCli({"--help"});
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("bench"), std::string::npos);
}

TEST(Cli, UnknownCommandOrOptionIsUserError) {
    auto r = runCli({"frobnicate"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("larimar --help"), std::string::npos);
    r = runCli({"--device", "tpu", "bench", "memory"});
    EXPECT_EQ(r.code, 1);
    r = runCli({"bench", "memory", "--slots", "0"});
    EXPECT_EQ(r.code, 1);
}

TEST(Cli, BenchMemoryPrintsEveryOperation) {
    auto r = runCli({"bench", "memory", "--slots", "32", "--width", "48", "--episode", "16", "--repetitions", "5"});
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* row : {"write one fact", "forget one fact", "read one query", "one-shot write of N = 16"})
        EXPECT_NE(r.out.find(row), std::string::npos) << row << " missing in:\n" << r.out;
}

TEST(Cli, BenchMemoryJsonShape) {
    auto r =
        runCli({"--json", "bench", "memory", "--slots", "16", "--width", "24", "--episode", "8", "--repetitions", "3"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("benchmark"), "memory");
    EXPECT_EQ(j.at("slots"), 16);
    for (const char* k : {"write_one", "forget_one", "read_one", "read_one_after_change", "one_shot_write"}) {
        ASSERT_TRUE(j.at("median_ms").contains(k)) << k;
        EXPECT_GT(j["median_ms"][k].get<double>(), 0.0) << k << " was not timed";
    }
}

} // namespace

#include "core/model/bpe_trainer.h"
#include "core/model/larimar_model.h"

#include <filesystem>

namespace {

/// A tiny random-weight model directory, made once per test binary.
std::string tinyModelDir() {
    static const std::string dir = larimar::testing::makeTinyModelDir(
        "cli-tiny-model", "tiny-cli",
        "Toko Yasuda, the piano guitar. Autonomous University of Madrid, which is located in Sweden Spain.", 48);
    return dir;
}

TEST(CliModel, EvalCounterFactJsonShape) {
    const std::string csv = (std::filesystem::temp_directory_path() / "larimar-cli-model-cf.csv").string();
    auto r = runCli({"--model", tinyModelDir(), "--json", "eval", "counterfact",
                     LARIMAR_TEST_DATA_DIR "/datasets/counterfact-rome-3.json", "--limit", "2", "--csv", csv});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("metrics").at("cases"), 2);
    EXPECT_EQ(j.at("model").at("id"), "tiny-cli 0.1.0");
    // A random-weight model's scores are whatever they are; what must hold is that each summary
    // is the mean of the two cases' results (a case's paraphrase and neighbourhood successes are
    // shares of its prompts; the rest count 0 or 1).
    const auto table = larimar::test::readCsv(csv);
    ASSERT_EQ(table.rows.size(), 2u);
    larimar::test::expectSuccessRatesAreCaseMeans(j.at("metrics"), table, {
        {"edit_success", "edit_success"},
        {"paraphrase_success", "paraphrase_success"},
        {"neighbourhood_success", "neighbourhood_success"},
        {"generation_accuracy", "generation_correct"},
        {"locality_unchanged", "locality"}});
    std::filesystem::remove(csv);
}

TEST(CliModel, EvalZsreSplitsAnswersWithTheModelsTokenizer) {
    const std::string csv = (std::filesystem::temp_directory_path() / "larimar-cli-model-zsre.csv").string();
    auto r = runCli({"--model", tinyModelDir(), "--json", "eval", "zsre", LARIMAR_TEST_DATA_DIR "/datasets/zsre-3.jsonl",
                     "--limit", "1", "--no-generation", "--csv", csv});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("settings").at("token_unit"), "bpe");
    // One case: each token accuracy in the summary is that case's (the CSV has 6 digits).
    const auto table = larimar::test::readCsv(csv);
    ASSERT_EQ(table.rows.size(), 1u);
    for (const char* k : {"edit_token_accuracy", "paraphrase_token_accuracy", "neighbourhood_token_accuracy"})
        EXPECT_NEAR(j.at("metrics").at(k).get<double>(), table.mean(k), 1e-6) << k;
    EXPECT_FALSE(table.rows[0].at("edit_token_accuracy").empty());
    std::filesystem::remove(csv);
}

TEST(CliModel, EvalRefusesAFactsFileAndAMissingModel) {
    auto r = runCli({"--model", tinyModelDir(), "eval", "counterfact", LARIMAR_TEST_DATA_DIR "/datasets/facts.csv"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("evaluation needs CounterFact"), std::string::npos) << r.err;
    r = runCli({"--model", "/nonexistent/model", "eval", "counterfact",
                LARIMAR_TEST_DATA_DIR "/datasets/counterfact-rome-3.json"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("no model found at /nonexistent/model"), std::string::npos) << r.err;
}

TEST(CliModel, BenchModelReportsBothSpeeds) {
    auto r = runCli({"--model", tinyModelDir(), "--json", "bench", "model"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_GT(j.at("encoder_sentences_per_second").get<double>(), 0.0);
    EXPECT_GT(j.at("decoder_tokens_per_second").get<double>(), 0.0);
}

TEST(CliModel, TrainWithABadConfigIsAUserError) {
    const std::string path = ::testing::TempDir() + "/bad-train.json";
    std::ofstream(path) << R"({"model": "x.json", "data": {"edit_files": []}})";
    auto r = runCli({"train", path});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("edit_files"), std::string::npos) << r.err;
}

TEST(CliModel, ExportModelAsFloat16HalvesTheFileAndKeepsTheModel) {
    namespace fs = std::filesystem;
    const fs::path dest = fs::path(::testing::TempDir()) / "exported-f16";
    fs::remove_all(dest);
    auto r = runCli({"--json", "export-model", tinyModelDir(), dest.string(), "--dtype", "f16"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("dtype"), "f16");
    EXPECT_GT(j.at("max_abs_weight_change").get<double>(), 0.0); // it really was rounded
    EXPECT_LT(j.at("max_abs_weight_change").get<double>(), 1e-2);
    for (const char* f : {"config.json", "model.safetensors", "vocab.json", "merges.txt", "MODEL_CARD.md"})
        EXPECT_TRUE(fs::exists(dest / f)) << f;
    const auto srcBytes = fs::file_size(fs::path(tinyModelDir()) / "model.safetensors");
    const auto bytes = fs::file_size(dest / "model.safetensors");
    EXPECT_LT(bytes, srcBytes * 6 / 10);
    {
        std::ifstream in(dest / "model.safetensors", std::ios::binary);
        std::string head(512, '\0');
        in.read(head.data(), 512);
        EXPECT_NE(head.find("\"F16\""), std::string::npos);
        EXPECT_EQ(head.find("\"F32\""), std::string::npos);
    }
    // The float16 model loads (as float32) and encodes like the original.
    auto a = larimar::LarimarModel::load(tinyModelDir());
    auto b = larimar::LarimarModel::load(dest.string());
    const auto za = a.encode({"Toko Yasuda plays the guitar."});
    const auto zb = b.encode({"Toko Yasuda plays the guitar."});
    EXPECT_EQ(zb.scalar_type(), torch::kFloat);
    EXPECT_LT((za - zb).abs().max().item<double>(), 5e-2);
    EXPECT_EQ(a.tokenizer().encode("the guitar"), b.tokenizer().encode("the guitar"));
}

TEST(CliModel, ExportModelKeepsAnExistingCardOnlyWithForce) {
    namespace fs = std::filesystem;
    const fs::path dest = fs::path(::testing::TempDir()) / "exported-force";
    fs::remove_all(dest);
    fs::create_directories(dest);
    std::ofstream(dest / "MODEL_CARD.md") << "# curated card\n";
    std::ofstream(dest / "training-log.csv") << "step,loss\n";
    auto r = runCli({"export-model", tinyModelDir(), dest.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dest / "model.safetensors"));

    r = runCli({"export-model", tinyModelDir(), dest.string(), "--force"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("kept"), std::string::npos) << r.out;
    std::ifstream card(dest / "MODEL_CARD.md");
    std::string first;
    std::getline(card, first);
    EXPECT_EQ(first, "# curated card");
    EXPECT_TRUE(fs::exists(dest / "training-log.csv"));
    EXPECT_FALSE(fs::exists(dest.string() + ".export-tmp"));
    EXPECT_EQ(larimar::LarimarModel::load(dest.string()).weightsSha256(),
              larimar::LarimarModel::load(tinyModelDir()).weightsSha256()); // f32: the same bytes

    r = runCli({"export-model", "/nonexistent/model", dest.string(), "--force"});
    EXPECT_NE(r.code, 0);
}

} // namespace
