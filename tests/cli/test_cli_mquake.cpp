// `larimar eval mquake` in-process: on the fake model (JSON and CSV shapes, --no-memory,
// --skip-invalid, errors naming the record, Ctrl+C) and on the bundled model over the 20-case sample,
// where the written edits must be read back and the base model must not know them (about 30 s:
// labelled slow).
#include "../core/fake_text_model.h"
#include "cli_test_support.h"

#include "core/util/model_paths.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using larimar::test::CliResult;
using ::testing::HasSubstr;

namespace {

const std::string kSample = LARIMAR_TEST_DATA_DIR "/datasets/mquake-20.json";
const std::string kModelDir = std::string(LARIMAR_SOURCE_DIR) + "/models/larimar-smollm2";

class CliMquake : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "larimar-cli-mquake-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        m_dir = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
    std::string file(const std::string& name) const { return (m_dir / name).string(); }
    /// `larimar ARGS...` with the fake model.
    CliResult runFake(const std::vector<std::string>& args) {
        return larimar::test::runCliOn(larimar::test::makeFakeModel(), file("w.larimar"), args);
    }
    static std::vector<std::string> lines(const std::string& path) {
        std::ifstream f(path);
        std::vector<std::string> v;
        for (std::string l; std::getline(f, l);) v.push_back(l);
        return v;
    }
    fs::path m_dir;
};

TEST_F(CliMquake, JsonCsvAndPlotOnTheFakeModel) {
    const auto r = runFake({"--json", "eval", "mquake", kSample, "--limit", "3", "--csv", file("cases.csv"), "--plot",
                            file("mq.png"), "--json-out", file("saved.json")});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = r.json();
    EXPECT_EQ(j.at("experiment"), "mquake");
    EXPECT_EQ(j.at("format"), "mquake");
    EXPECT_EQ(j.at("cases"), 3);
    EXPECT_EQ(j.at("cancelled"), false);
    EXPECT_EQ(j.at("model").at("id"), "fake-model 1");
    EXPECT_EQ(j.at("settings").at("limit"), 3);
    EXPECT_EQ(j.at("settings").at("generation_tokens"), 8);
    EXPECT_EQ(j.at("settings").at("question_template"), "{}");
    EXPECT_EQ(j.at("field").at("best_multi_hop"), 0.57);
    const auto& mem = j.at("metrics").at("memory");
    EXPECT_EQ(mem.at("cases"), 3);
    EXPECT_EQ(mem.at("questions"), 9);
    EXPECT_EQ(mem.at("edits"), 12);
    EXPECT_EQ(mem.at("edit_questions"), 12);
    EXPECT_EQ(mem.at("chains"), 3);
    EXPECT_EQ(mem.at("hops"), 12);
    // The fake model's plain continuation ("plain continuation of <prompt>") names no answer.
    const auto& base = j.at("metrics").at("base");
    EXPECT_EQ(base.at("multi_hop_accuracy"), 0.0);
    EXPECT_EQ(base.at("multi_hop_old_answer"), 0.0);
    EXPECT_EQ(base.at("single_hop_prompt_accuracy"), 0.0);
    EXPECT_EQ(base.at("hop_by_hop_accuracy"), 0.0);
    ASSERT_EQ(j.at("per_case").size(), 3u);
    const auto& first = j.at("per_case")[0];
    EXPECT_EQ(first.at("case_id"), "7417");
    EXPECT_EQ(first.at("base").at("multi_hop")[0].at("generated"),
              "plain continuation of What is the official language");
    EXPECT_EQ(first.at("memory").at("hops")[0].at("prompt"), "Hey Jude was performed by");
    EXPECT_EQ(nlohmann::json::parse(std::ifstream(file("saved.json"))).at("cases"), 3);
    const auto csv = lines(file("cases.csv"));
    ASSERT_EQ(csv.size(), 4u);
    EXPECT_THAT(csv[0], HasSubstr("case_id,memory_multi_hop,"));
    EXPECT_EQ(csv[1].rfind("\"7417\",", 0), 0u) << csv[1];
    std::ifstream png(file("mq.png"), std::ios::binary);
    std::string magic(4, '\0');
    png.read(magic.data(), 4);
    EXPECT_EQ(magic, "\x89PNG");
}

TEST_F(CliMquake, TextOutputNoMemoryAndNoHops) {
    auto r = runFake({"eval", "mquake", kSample, "--limit", "2"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("MQuAKE multi-hop evaluation of fake-model 1 on 2 cases"));
    EXPECT_THAT(r.out, HasSubstr("multi-hop (case: any question)"));
    EXPECT_THAT(r.out, HasSubstr("hop by hop (2 chains"));
    EXPECT_THAT(r.out, HasSubstr("best multi-hop 57%"));

    r = runFake({"--json", "eval", "mquake", kSample, "--limit", "2", "--no-memory", "--no-hop-by-hop"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = r.json();
    EXPECT_TRUE(j.at("metrics").at("memory").is_null());
    EXPECT_EQ(j.at("metrics").at("base").at("cases"), 2);
    EXPECT_EQ(j.at("metrics").at("base").at("chains"), 0);
    EXPECT_TRUE(j.at("per_case")[0].at("memory").is_null());
    EXPECT_EQ(j.at("settings").at("memory"), false);
}

TEST_F(CliMquake, InvalidRecordsAreNamedOrSkipped) {
    std::ifstream in(kSample);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Record 2 loses its new answer.
    const auto at = data.find("\"new_answer\": \"Oderzo\"");
    ASSERT_NE(at, std::string::npos);
    data.replace(at, std::string("\"new_answer\": \"Oderzo\"").size(), "\"new_answer\": \"\"");
    std::ofstream(file("bad.json")) << data;

    auto r = runFake({"eval", "mquake", file("bad.json"), "--limit", "2"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("bad.json: record 2: field 'new_answer' is empty"));

    r = runFake({"--json", "eval", "mquake", file("bad.json"), "--limit", "2", "--skip-invalid"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("skipped 1 invalid record(s); first: bad.json: record 2"));
    const auto j = r.json();
    EXPECT_EQ(j.at("skipped_records").at("count"), 1);
    EXPECT_EQ(j.at("cases"), 2);
    EXPECT_EQ(j.at("per_case")[1].at("case_id"), "7430"); // record 3

    r = runFake({"eval", "mquake", LARIMAR_TEST_DATA_DIR "/datasets/counterfact-rome-3.json"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("is a counterfact file, not MQuAKE"));
    r = runFake({"eval", "mquake", kSample, "--question-template", "Q: A:"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("has no {} where the question goes"));
    r = runFake({"eval", "counterfact", kSample});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("is an MQuAKE file (several edits per case); measure it with larimar eval mquake"));
}

/// The fake model, raising SIGINT (as Ctrl+C does) in its first generation.
class InterruptingModel : public larimar::TextModel {
public:
    std::string id() const override { return m_inner->id(); }
    std::string weightsHash() const override { return m_inner->weightsHash(); }
    int latentSize() const override { return m_inner->latentSize(); }
    Eigen::MatrixXd memoryPrior() const override { return m_inner->memoryPrior(); }
    larimar::PinvSettings pinv() const override { return m_inner->pinv(); }
    Eigen::MatrixXd encode(const std::vector<std::string>& texts) override { return m_inner->encode(texts); }
    larimar::GeneratedText generate(const std::string& prompt, const std::optional<Eigen::RowVectorXd>& latent,
                                    const larimar::DecodeSettings& settings) override {
        if (!m_raised) {
            m_raised = true;
            std::raise(SIGINT);
        }
        return m_inner->generate(prompt, latent, settings);
    }
    double score(const std::string& prompt, const std::string& continuation,
                 const std::optional<Eigen::RowVectorXd>& latent) override {
        return m_inner->score(prompt, continuation, latent);
    }

private:
    std::shared_ptr<larimar::TextModel> m_inner = larimar::test::makeFakeModel();
    bool m_raised = false;
};

TEST_F(CliMquake, CtrlCStopsAfterTheCurrentCaseAndReportsIt) {
    auto model = std::make_shared<InterruptingModel>();
    auto r = larimar::test::runCliOn(model, file("w.larimar"), {"--json", "eval", "mquake", kSample, "--limit", "5"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("stopped after 1 case(s)"));
    const auto j = r.json();
    EXPECT_EQ(j.at("cancelled"), true);
    EXPECT_EQ(j.at("cases"), 1);
    EXPECT_EQ(j.at("metrics").at("memory").at("questions"), 3);
    // The handler is gone afterwards: the next run is not stopped by the flag.
    r = runFake({"--json", "eval", "mquake", kSample, "--limit", "2"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.json().at("cancelled"), false);
    EXPECT_EQ(r.json().at("cases"), 2);
}

bool assetsPresent() {
    return !larimar::findAssetDir("smollm2").empty() && !larimar::findAssetDir("minilm").empty() &&
           fs::exists(kModelDir + "/heads.safetensors");
}

// The bundled model on the first 4 cases of the sample (16 edits): written edits come back on
// their own prompts, the plain decoder names none of the new answers. Values measured at the
// commit that added this test (docs/RESULTS.md "MQuAKE multi-hop" has the 100-case run).
TEST_F(CliMquake, BundledModelReadsTheEditsTheBaseDoesNotKnow) {
    if (!assetsPresent()) {
        if (std::getenv("CI")) FAIL() << "CI must have the fetched assets (models/fetch-assets.sh)";
        GTEST_SKIP() << "run models/fetch-assets.sh first";
    }
    std::ostringstream out, err;
    const int code = larimar::cli::run({"--model", kModelDir, "--json", "eval", "mquake", kSample, "--limit", "4"}, out, err);
    ASSERT_EQ(code, 0) << err.str();
    const auto j = nlohmann::json::parse(out.str());
    const auto& mem = j.at("metrics").at("memory");
    const auto& base = j.at("metrics").at("base");
    EXPECT_EQ(mem.at("edits"), 16);
    EXPECT_DOUBLE_EQ(mem.at("single_hop_prompt_accuracy").get<double>(), 10.0 / 16);
    EXPECT_DOUBLE_EQ(mem.at("single_hop_question_accuracy").get<double>(), 9.0 / 16);
    EXPECT_DOUBLE_EQ(base.at("single_hop_prompt_accuracy").get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(base.at("single_hop_prompt_old_answer").get<double>(), 5.0 / 16); // the true answers
    EXPECT_DOUBLE_EQ(base.at("multi_hop_accuracy").get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(mem.at("hop_by_hop_hop_accuracy").get<double>(), 7.0 / 16);
    EXPECT_DOUBLE_EQ(base.at("hop_by_hop_hop_accuracy").get<double>(), 0.0);
    // Case 7417: the first hop read from memory names the edit's answer, the base does not.
    const auto& first = j.at("per_case")[0];
    EXPECT_EQ(first.at("memory").at("hops")[0].at("generated"), " Madonna.");
    EXPECT_EQ(first.at("memory").at("hops")[0].at("new"), true);
    EXPECT_EQ(first.at("base").at("hops")[0].at("new"), false);
}

} // namespace
