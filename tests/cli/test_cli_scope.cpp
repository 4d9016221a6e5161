// In-process tests of `larimar scope`, `larimar eval scope` and `larimar train-scope` with the fake
// model (tests/core/fake_text_model.h) and the real USE-Lite encoder (skipped without
// models/fetch-assets.sh), on a small CounterFact fixture (tests/data/scope/counterfact-val-8.json).
#include "../core/fake_text_model.h"

#include "app/cli/cli.h"
#include "tests/support/csv_table.h"
#include "core/scope/scope_classifier.h"
#include "core/scope/scope_detectors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

const std::string kFixture = LARIMAR_TEST_DATA_DIR "/scope/counterfact-val-8.json";

struct Result {
    int code;
    std::string out, err;
    nlohmann::json json() const { return nlohmann::json::parse(out); }
};

class CliScope : public ::testing::Test {
protected:
    void SetUp() override {
        if (!larimar::sharedSentenceEncoder()) GTEST_SKIP() << "no USE-Lite assets: run models/fetch-assets.sh";
        std::string tmpl = (fs::temp_directory_path() / "larimar-cli-scope-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        m_dir = tmpl;
        m_model = larimar::test::makeFakeModel();
    }
    void TearDown() override {
        std::error_code ec;
        if (!m_dir.empty()) fs::remove_all(m_dir, ec);
    }
    std::string file(const std::string& name) const { return (m_dir / name).string(); }

    Result run(std::vector<std::string> args) {
        args.insert(args.begin(), {"--workspace", file("ws.larimar")});
        std::ostringstream out, err;
        auto model = m_model;
        const int code = larimar::cli::run(args, out, err, [model](const larimar::cli::GlobalOptions&) { return model; });
        return {code, out.str(), err.str()};
    }

    fs::path m_dir;
    std::shared_ptr<larimar::SyntheticTextModel> m_model;
};

} // namespace

TEST_F(CliScope, EmptyWorkspaceThenAWrittenFactThenItsThreshold) {
    auto r = run({"--json", "scope", "Fredville is the capital of Freedonia."});
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = r.json();
    EXPECT_FALSE(j.at("in_scope").get<bool>());
    EXPECT_EQ(j.at("detector"), "esd hybrid");
    EXPECT_TRUE(j.at("nearest_fact").is_null());
    EXPECT_FALSE(j.at("isd").at("in_scope").get<bool>());

    ASSERT_EQ(run({"write", "The capital of Freedonia is Fredville."}).code, 0);
    ASSERT_EQ(run({"write", "Bananas are rich in potassium."}).code, 0);
    r = run({"--json", "scope", "Fredville is the capital of Freedonia."});
    ASSERT_EQ(r.code, 0) << r.err;
    j = r.json();
    EXPECT_TRUE(j.at("in_scope").get<bool>());
    EXPECT_EQ(j.at("threshold"), larimar::kEsdThreshold);
    EXPECT_EQ(j.at("threshold_from"), "detector default");
    EXPECT_EQ(j.at("nearest_fact").at("id"), 1);
    EXPECT_EQ(j.at("nearest_fact").at("text"), "The capital of Freedonia is Fredville.");
    EXPECT_GT(j.at("nearest_fact").at("similarity").get<double>(), 0.8);
    EXPECT_EQ(j.at("esd").at("score"), j.at("score"));
    // The ISD scores the same prompt with the model's encoder and memory.
    EXPECT_TRUE(j.at("isd").at("available").get<bool>());
    EXPECT_TRUE(j.at("isd").contains("distance"));

    // Text output names the decision, both detectors and the nearest fact.
    r = run({"scope", "Fredville is the capital of Freedonia."});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("decision: in scope by esd hybrid"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("nearest fact 1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("ISD:"), std::string::npos) << r.out;

    // A workspace threshold, then a one-off one.
    const auto set = run({"scope", "--set-threshold", "0.999"});
    ASSERT_EQ(set.code, 0) << set.err;
    // The setting is an audited edit: the new head is printed, and it is the workspace's head.
    const auto head = run({"audit", "head"});
    ASSERT_EQ(head.code, 0) << head.err;
    ASSERT_EQ(head.out.rfind("audit head 3:", 0), 0u) << head.out; // write, write, setting
    EXPECT_NE(set.out.find(head.out), std::string::npos) << set.out << " / " << head.out;
    j = run({"--json", "scope", "Fredville is the capital of Freedonia."}).json();
    EXPECT_FALSE(j.at("in_scope").get<bool>());
    EXPECT_EQ(j.at("threshold"), 0.999);
    EXPECT_EQ(j.at("threshold_from"), "workspace setting");
    j = run({"--json", "scope", "Fredville is the capital of Freedonia.", "--threshold", "0.5"}).json();
    EXPECT_TRUE(j.at("in_scope").get<bool>());
    // The query path uses the same workspace threshold.
    j = run({"--json", "query", "Fredville is the capital of Freedonia."}).json();
    EXPECT_FALSE(j.at("in_scope").get<bool>());
    EXPECT_EQ(j.at("threshold"), 0.999);

    // --detector isd decides with the internal detector.
    j = run({"--json", "scope", "Fredville is the capital of Freedonia.", "--detector", "isd"}).json();
    EXPECT_EQ(j.at("detector"), "isd distance");
    EXPECT_TRUE(j.at("esd").at("available").get<bool>());

    EXPECT_EQ(run({"scope"}).code, 1);
    EXPECT_NE(run({"scope", "x", "--detector", "nope"}).code, 0);
}

TEST_F(CliScope, WithoutAModelTheEsdStillAnswers) {
    ASSERT_EQ(run({"write", "The capital of Freedonia is Fredville."}).code, 0);
    std::ostringstream out, err;
    // No model factory and a model directory that does not exist.
    const int code = larimar::cli::run({"--workspace", file("ws.larimar"), "--model", file("no-model"), "--json", "scope",
                                        "Fredville is the capital of Freedonia."},
                                       out, err);
    ASSERT_EQ(code, 0) << err.str();
    const auto j = nlohmann::json::parse(out.str());
    EXPECT_TRUE(j.at("in_scope").get<bool>());
    EXPECT_EQ(j.at("nearest_fact").at("id"), 1);
    EXPECT_FALSE(j.at("isd").at("available").get<bool>());
    EXPECT_NE(j.at("isd").at("reason").get<std::string>().find("no model"), std::string::npos);
}

TEST_F(CliScope, EvalScopeOnAFixtureWritesMetricsAndRoc) {
    const auto roc = file("roc.svg");
    const auto csv = file("scores.csv");
    auto r = run({"--json", "eval", "scope", kFixture, "--roc", roc, "--csv", csv});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = r.json();
    EXPECT_EQ(j.at("detector"), "esd hybrid");
    EXPECT_EQ(j.at("facts"), 8);
    EXPECT_EQ(j.at("positives"), 8);
    EXPECT_EQ(j.at("negatives"), 8);
    EXPECT_EQ(j.at("threshold"), larimar::kEsdThreshold);
    // The metrics, computed again here from the per-query scores the same run wrote.
    const auto table = larimar::test::readCsv(csv);
    std::vector<double> pos, neg;
    for (const auto& row : table.rows) (row.at("kind") == "rephrase" ? pos : neg).push_back(std::stod(row.at("score")));
    ASSERT_EQ(pos.size(), 8u);
    ASSERT_EQ(neg.size(), 8u);
    double pairs = 0;
    for (double p : pos)
        for (double n : neg) pairs += p > n ? 1.0 : p == n ? 0.5 : 0.0;
    EXPECT_NEAR(j.at("auc").get<double>(), pairs / 64.0, 1e-9);
    const double t = larimar::kEsdThreshold;
    const auto atLeast = [](const std::vector<double>& v, double x) {
        return double(std::count_if(v.begin(), v.end(), [x](double s) { return s >= x; }));
    };
    const double tp = atLeast(pos, t), fp = atLeast(neg, t);
    const double precision = tp + fp > 0 ? tp / (tp + fp) : 0.0, recall = tp / 8.0;
    EXPECT_NEAR(j.at("precision").get<double>(), precision, 1e-9);
    EXPECT_NEAR(j.at("recall").get<double>(), recall, 1e-9);
    EXPECT_NEAR(j.at("f1").get<double>(), precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0,
                1e-9);
    // EER: at the distinct score where FPR and FNR are closest (ties: the higher threshold).
    std::vector<double> thresholds = pos;
    thresholds.insert(thresholds.end(), neg.begin(), neg.end());
    std::sort(thresholds.rbegin(), thresholds.rend());
    double bestGap = 2, eer = 0;
    for (double s : thresholds) {
        const double fpr = atLeast(neg, s) / 8.0, fnr = 1.0 - atLeast(pos, s) / 8.0;
        if (std::fabs(fpr - fnr) < bestGap) bestGap = std::fabs(fpr - fnr), eer = (fpr + fnr) / 2;
    }
    EXPECT_NEAR(j.at("eer").get<double>(), eer, 1e-9);
    EXPECT_FALSE(j.at("roc").empty());
    EXPECT_GT(fs::file_size(roc), 100u);
    std::ifstream in(csv);
    std::string line;
    int rows = 0;
    while (std::getline(in, line)) ++rows;
    EXPECT_EQ(rows, 1 + 16);
    EXPECT_NE(r.err.find("eval scope:"), std::string::npos) << "no progress on stderr";

    // Text output, --limit, the ISD and a bad ROC file name.
    r = run({"eval", "scope", kFixture, "--limit", "4", "--threshold", "0.5"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("4 facts written"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("equal error rate"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("F1 at 0.500"), std::string::npos) << r.out;
    r = run({"--json", "eval", "scope", kFixture, "--detector", "isd"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.json().at("detector"), "isd distance");
    EXPECT_EQ(run({"eval", "scope", kFixture, "--roc", file("roc.txt")}).code, 1);
}

TEST_F(CliScope, TrainScopeSavesAClassifierTheEditorThenUses) {
    const auto modelDir = file("model");
    fs::create_directories(modelDir);
    auto r = run({"--json", "train-scope", "--data", kFixture, "--output", modelDir, "--facts-per-memory", "4",
                  "--iterations", "50"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.json().at("positives"), 8);
    EXPECT_EQ(r.json().at("negatives"), 8 + 8);
    const auto saved = fs::path(modelDir) / larimar::kScopeClassifierFile;
    ASSERT_TRUE(fs::exists(saved));
    EXPECT_EQ(larimar::ScopeClassifier::load(saved.string()).modelHash, m_model->weightsHash());
    EXPECT_EQ(run({"train-scope", "--data", kFixture, "--output", file("missing")}).code, 1);
}
