// In-process tests of `larimar eval counterfact|zsre|forget` with the fake model
// (tests/core/fake_text_model.h): JSON shapes, per-case CSV, plots written, schema errors named
// with file, record and field, bad options refused.
#include "../core/fake_text_model.h"

#include "app/cli/cli.h"
#include "tests/support/csv_table.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

const std::string kData = LARIMAR_TEST_DATA_DIR;

struct Result {
    int code;
    std::string out, err;
    nlohmann::json json() const { return nlohmann::json::parse(out); }
};

class CliEval : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "larimar-cli-eval-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        m_dir = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
    std::string file(const std::string& name) const { return (m_dir / name).string(); }
    Result run(std::vector<std::string> args) {
        std::ostringstream out, err;
        auto model = larimar::test::makeFakeModel();
        const int code = larimar::cli::run(args, out, err, [model](const larimar::cli::GlobalOptions&) { return model; });
        return {code, out.str(), err.str()};
    }
    static std::vector<std::string> lines(const std::string& path) {
        std::ifstream f(path);
        std::vector<std::string> v;
        for (std::string l; std::getline(f, l);) v.push_back(l);
        return v;
    }
    static std::string head(const std::string& path, std::size_t n) {
        std::ifstream f(path, std::ios::binary);
        std::string s(n, '\0');
        f.read(s.data(), static_cast<std::streamsize>(n));
        s.resize(static_cast<std::size_t>(f.gcount()));
        return s;
    }
    fs::path m_dir;
};

TEST_F(CliEval, CounterFactJsonCsvAndSettings) {
    const std::string cf = kData + "/eval/counterfact-easyedit-6.json";
    const auto r = run({"--json", "eval", "counterfact", cf, "--limit", "4", "--seed", "9", "--csv", file("cases.csv"),
                        "--json-out", file("saved.json")});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = r.json();
    EXPECT_EQ(j.at("experiment"), "counterfact");
    EXPECT_EQ(j.at("mode"), "single");
    EXPECT_EQ(j.at("format"), "easyedit");
    EXPECT_EQ(j.at("model").at("id"), "fake-model 1");
    EXPECT_EQ(j.at("settings").at("seed"), 9);
    EXPECT_EQ(j.at("settings").at("strip_paraphrase_prefix"), true);
    const auto& m = j.at("metrics");
    EXPECT_EQ(m.at("cases"), 4);
    for (const char* k : {"edit_success", "edit_magnitude", "paraphrase_success", "paraphrase_magnitude",
                          "neighbourhood_success", "neighbourhood_magnitude", "generation_accuracy", "locality_unchanged",
                          "judged_edit_success", "judged_paraphrase_success", "seconds_per_edit", "seconds_per_case"})
        EXPECT_TRUE(m.contains(k)) << k;
    EXPECT_TRUE(j.at("paper").contains("larimar_1.3b"));
    const auto rows = lines(file("cases.csv"));
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(rows[0].rfind("case_id,batch,edit_success", 0), 0u);
    EXPECT_EQ(rows[1].rfind("10,0,", 0), 0u) << rows[1]; // case_id 10 is the file's first record
    // The summary is the mean of the per-case results, metric by metric, and counts the same
    // queries in scope (the CSV's magnitudes have 6 significant digits).
    const auto table = larimar::test::readCsv(file("cases.csv"));
    ASSERT_EQ(table.rows.size(), 4u);
    larimar::test::expectSuccessRatesAreCaseMeans(m, table, {
        {"edit_success", "edit_success"},
        {"paraphrase_success", "paraphrase_success"},
        {"neighbourhood_success", "neighbourhood_success"},
        {"locality_unchanged", "locality"},
        {"judged_edit_success", "judged_edit"},
        {"judged_paraphrase_success", "judged_paraphrase"}});
    for (const char* metric : {"edit_magnitude", "paraphrase_magnitude", "neighbourhood_magnitude"})
        EXPECT_NEAR(m.at(metric).get<double>(), table.mean(metric), 1e-6) << metric;
    double edits = 0, paraphrases = 0, neighbours = 0;
    for (double v : table.numbers("edit_in_scope")) edits += v;
    for (double v : table.numbers("paraphrases_in_scope")) paraphrases += v;
    for (double v : table.numbers("neighbourhood_in_scope")) neighbours += v;
    EXPECT_EQ(m.at("in_scope").at("edit").get<double>(), edits);
    EXPECT_EQ(m.at("in_scope").at("paraphrase").get<double>(), paraphrases);
    EXPECT_EQ(m.at("in_scope").at("neighbourhood").get<double>(), neighbours);
    EXPECT_EQ(nlohmann::json::parse(std::ifstream(file("saved.json"))).at("metrics").at("cases"), 4);
}

TEST_F(CliEval, SeedAndShuffleChooseTheCases) {
    const std::string cf = kData + "/eval/counterfact-easyedit-6.json";
    auto firstCase = [&](const std::vector<std::string>& extra) {
        std::vector<std::string> args{"eval", "counterfact", cf, "--limit", "3", "--no-generation", "--csv", file("s.csv")};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto r = run(args);
        EXPECT_EQ(r.code, 0) << r.err;
        const auto rows = lines(file("s.csv"));
        return rows.size() > 3 ? rows[1].substr(0, rows[1].find(',')) + rows[2].substr(0, rows[2].find(',')) +
                                     rows[3].substr(0, rows[3].find(','))
                               : std::string();
    };
    const std::string plain = firstCase({}), a = firstCase({"--shuffle", "--seed", "5"}),
                      b = firstCase({"--shuffle", "--seed", "5"});
    EXPECT_EQ(a, b);
    EXPECT_NE(plain, a);
}

TEST_F(CliEval, CounterFactTextOutputNamesThePaper) {
    const std::vector<std::string> args{"eval", "counterfact", kData + "/datasets/counterfact-rome-3.json",
                                        "--no-generation"};
    const auto r = run(args);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.find("generation accuracy"), std::string::npos);
    // Each row shows this run's measured number (the same run's JSON) beside the paper's.
    std::vector<std::string> jsonArgs = args;
    jsonArgs.insert(jsonArgs.begin(), "--json");
    const auto m = run(jsonArgs).json().at("metrics");
    const auto row = [&](const std::string& label) {
        const auto at = r.out.find("  " + label + " ");
        return at == std::string::npos ? std::string() : r.out.substr(at, r.out.find('\n', at) - at);
    };
    const auto pct = [](double v) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%.1f%%", 100 * v);
        return std::string(buf);
    };
    const std::string edit = row("edit success"), para = row("paraphrase success"), neigh = row("neighbourhood success");
    EXPECT_NE(edit.find(pct(m.at("edit_success")) + "   (paper, Larimar-1.3B: 100%, 6B: 99.6%"), std::string::npos)
        << edit;
    EXPECT_NE(para.find(pct(m.at("paraphrase_success")) + "   ("), std::string::npos) << para;
    EXPECT_NE(neigh.find(pct(m.at("neighbourhood_success")) + "   ("), std::string::npos) << neigh;
    // Three cases: every success rate is a whole number of cases (and prompts) over the count.
    EXPECT_EQ(m.at("cases"), 3);
    EXPECT_DOUBLE_EQ(m.at("edit_success").get<double>() * 3, std::round(m.at("edit_success").get<double>() * 3));
}

TEST_F(CliEval, ReadWithFactIsRecordedNamedAndRefusedWhereItMeansNothing) {
    const std::string cf = kData + "/datasets/counterfact-rome-3.json";
    const auto r = run({"eval", "counterfact", cf, "--no-generation", "--read-with-fact"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("read with the fact's own encoding"), std::string::npos) << r.out;
    const auto j = run({"--json", "eval", "counterfact", cf, "--no-generation", "--read-with-fact"});
    ASSERT_EQ(j.code, 0) << j.err;
    EXPECT_EQ(j.json().at("settings").at("read_with_fact"), true);
    const auto bad = run({"eval", "counterfact", cf, "--read-with-fact", "--no-memory"});
    EXPECT_NE(bad.code, 0);
    EXPECT_NE(bad.err.find("--read-with-fact"), std::string::npos) << bad.err;
    EXPECT_NE(run({"eval", "zsre", kData + "/datasets/zsre-3.jsonl", "--read-with-fact"}).code, 0)
        << "a CounterFact-only option";
}

// The scope gate is on by default (the editor's detector, as the paper's table): a neighbourhood
// prompt unrelated to the written fact is answered without the memory, so its scores are the
// no-memory scores; --no-scope reads the memory for it (the raw read the paper reports as
// "memory always read"). The stand-in model scores -1 for every continuation without a latent
// and something else with one, so the neighbourhood magnitude is exactly 0 only when no latent
// was used.
TEST_F(CliEval, ScopeDetectorGatesTheMemoryByDefaultAndNoScopeReadsIt) {
    const std::string cf = file("unrelated.json");
    std::ofstream(cf) << R"([{"case_id": 1, "requested_rewrite": {"prompt": "The capital of {} is",
        "subject": "Atlantis", "target_new": {"str": "Poseidonia"}, "target_true": {"str": "Atlantica"}},
        "paraphrase_prompts": [], "neighborhood_prompts": ["Bananas are a fruit grown mostly in"]}])";
    const auto gated = run({"--json", "eval", "counterfact", cf, "--csv", file("gated.csv")});
    ASSERT_EQ(gated.code, 0) << gated.err;
    const auto g = gated.json();
    EXPECT_TRUE(g.at("scope").at("applied").get<bool>());
    EXPECT_EQ(g.at("settings").at("no_scope"), false);
    const std::string detector = g.at("scope").at("detector");
    EXPECT_TRUE(detector == "esd hybrid" || detector == "isd distance") << detector; // isd: no MiniLM assets
    EXPECT_EQ(g.at("scope").at("description").get<std::string>().rfind(detector + ", threshold ", 0), 0u);
    const auto& gm = g.at("metrics");
    EXPECT_EQ(gm.at("queries").at("neighbourhood"), 1);
    EXPECT_EQ(gm.at("in_scope").at("neighbourhood"), 0) << "bananas are not about Atlantis";
    if (detector == "esd hybrid") {
        EXPECT_EQ(gm.at("in_scope").at("edit"), 1) << "the edit prompt is the fact's own";
    }
    EXPECT_DOUBLE_EQ(gm.at("neighbourhood_magnitude").get<double>(), 0.0) << "scored without the latent";
    EXPECT_DOUBLE_EQ(gm.at("locality_unchanged").get<double>(), 1.0);
    EXPECT_NE(lines(file("gated.csv"))[0].find(",edit_in_scope,paraphrases_in_scope,neighbourhood_in_scope,"),
              std::string::npos);

    const auto baseline = run({"--json", "eval", "counterfact", cf, "--no-memory"});
    ASSERT_EQ(baseline.code, 0) << baseline.err;
    EXPECT_FALSE(baseline.json().at("scope").at("applied").get<bool>());
    EXPECT_DOUBLE_EQ(baseline.json().at("metrics").at("neighbourhood_magnitude").get<double>(),
                     gm.at("neighbourhood_magnitude").get<double>());

    const auto raw = run({"--json", "eval", "counterfact", cf, "--no-scope"});
    ASSERT_EQ(raw.code, 0) << raw.err;
    const auto r = raw.json();
    EXPECT_FALSE(r.at("scope").at("applied").get<bool>());
    EXPECT_EQ(r.at("scope").at("description"), "none (--no-scope: every query reads the memory)");
    EXPECT_EQ(r.at("settings").at("no_scope"), true);
    EXPECT_TRUE(r.at("metrics").at("in_scope").is_null());
    EXPECT_NE(r.at("metrics").at("neighbourhood_magnitude").get<double>(), 0.0) << "read with the latent";
    EXPECT_TRUE(r.at("paper").contains("larimar_6b_no_scope"));

    // The text report names the gate and counts the queries in scope.
    const auto text = run({"eval", "counterfact", cf, "--no-generation"});
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_NE(text.out.find("scope: " + detector + ", threshold "), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("neighbourhood 0/1"), std::string::npos) << text.out;
    const auto textRaw = run({"eval", "counterfact", cf, "--no-generation", "--no-scope"});
    ASSERT_EQ(textRaw.code, 0) << textRaw.err;
    EXPECT_NE(textRaw.out.find("scope: none (--no-scope"), std::string::npos) << textRaw.out;
    EXPECT_NE(textRaw.out.find("memory always read"), std::string::npos) << textRaw.out;

    // zsRE and the other modes gate too.
    const auto z = run({"--json", "eval", "zsre", kData + "/datasets/zsre-3.jsonl", "--no-generation"});
    ASSERT_EQ(z.code, 0) << z.err;
    EXPECT_TRUE(z.json().at("scope").at("applied").get<bool>());
    EXPECT_EQ(z.json().at("metrics").at("queries").at("locality"), 3);
    EXPECT_TRUE(z.json().at("metrics").at("in_scope").contains("locality"));
    const auto seq = run({"--json", "eval", "counterfact", kData + "/eval/counterfact-easyedit-6.json", "--mode", "sequential",
                          "--limit", "2", "--every", "1", "--no-generation", "--max-neighbourhood", "2"});
    ASSERT_EQ(seq.code, 0) << seq.err;
    EXPECT_FALSE(seq.json().at("points")[1].at("edit_in_scope").is_null());
    EXPECT_FALSE(seq.json().at("points")[1].at("test_in_scope").is_null());
}

// eval latents: the encoder check, as JSON (with --json-out) and as a table naming each number.
TEST_F(CliEval, LatentsReportsHowFactLatentsDiffer) {
    const std::string cf = kData + "/eval/counterfact-easyedit-6.json";
    const auto r = run({"--json", "eval", "latents", cf, "--limit", "4", "--json-out", file("lat.json")});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = r.json();
    EXPECT_EQ(j.at("experiment"), "latents");
    EXPECT_EQ(j.at("cases"), 4);
    const auto& s = j.at("stats");
    // The fake model encodes each text from its hash: unrelated unit-scale vectors, so facts are
    // told apart and a prompt's latent is not its fact's.
    EXPECT_LT(std::abs(s.at("pair_cosine").get<double>()), 0.9);
    EXPECT_GT(s.at("answer_share").get<double>(), 0.1);
    for (const char* k : {"mean_norm", "centred_pair_cosine", "shared_fraction", "spread", "prompt_own_cosine",
                          "prompt_other_cosine", "retrieval_top1", "answer_identified", "answer_cases", "answer_classes"})
        EXPECT_TRUE(s.contains(k)) << k;
    std::ifstream saved(file("lat.json"));
    EXPECT_EQ(nlohmann::json::parse(saved), j);

    const auto text = run({"eval", "latents", cf});
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_NE(text.out.find("on 6 cases"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("mean cosine between two facts"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("answer share"), std::string::npos) << text.out;
    const auto one = run({"eval", "latents", cf, "--limit", "1"});
    EXPECT_NE(one.code, 0);
    EXPECT_NE(one.err.find("at least 2 cases"), std::string::npos) << one.err;
}

TEST_F(CliEval, BatchSweepDrawsTheCurve) {
    const std::string cf = kData + "/eval/counterfact-easyedit-6.json";
    const auto r = run({"--json", "eval", "counterfact", cf, "--sweep", "1,2,3,64", "--plot", file("batch.svg"), "--csv",
                        file("sweep.csv"), "--no-generation"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = r.json();
    EXPECT_EQ(j.at("mode"), "sweep");
    ASSERT_EQ(j.at("points").size(), 3u); // 64 > 6 cases: skipped
    EXPECT_EQ(j.at("points")[2].at("batch_size"), 3);
    EXPECT_EQ(j.at("points")[2].at("cases"), 6);
    EXPECT_NE(head(file("batch.svg"), 200).find("<svg"), std::string::npos);
    EXPECT_EQ(lines(file("sweep.csv")).size(), 1u + 18u);
    EXPECT_EQ(lines(file("sweep.csv"))[0].rfind("batch_size,case_id", 0), 0u);

    const auto b = run({"--json", "eval", "counterfact", cf, "--mode", "batch", "--batch-size", "4", "--no-generation"});
    ASSERT_EQ(b.code, 0) << b.err;
    EXPECT_EQ(b.json().at("settings").at("batch_size"), 4);
    EXPECT_EQ(b.json().at("metrics").at("cases"), 4); // the incomplete second batch is left out
}

TEST_F(CliEval, SequentialRetentionCurve) {
    const auto r = run({"--json", "eval", "counterfact", kData + "/eval/counterfact-easyedit-6.json", "--mode", "sequential",
                        "--every", "2", "--limit", "4", "--plot", file("seq.png")});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = r.json();
    EXPECT_EQ(j.at("mode"), "sequential");
    const auto& p = j.at("points");
    ASSERT_EQ(p.size(), 3u); // 0, 2, 4 edits
    EXPECT_TRUE(p[0].at("edit_retention").is_null());
    EXPECT_EQ(p[2].at("edits"), 4);
    EXPECT_FALSE(j.at("unrelated_from_edits").get<bool>()); // cases 5 and 6 are held out
    EXPECT_EQ(j.at("unrelated_prompts"), 2);
    EXPECT_EQ(head(file("seq.png"), 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST_F(CliEval, ZsreTokenAccuracy) {
    const auto r = run({"--json", "eval", "zsre", kData + "/datasets/zsre-3.jsonl", "--csv", file("z.csv")});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = r.json();
    EXPECT_EQ(j.at("experiment"), "zsre");
    EXPECT_EQ(j.at("settings").at("token_unit"), "word"); // an injected model has no tokenizer files
    EXPECT_EQ(j.at("settings").at("target"), "alt");
    for (const char* k : {"edit_token_accuracy", "paraphrase_token_accuracy", "neighbourhood_token_accuracy"})
        EXPECT_TRUE(j.at("metrics").contains(k)) << k;
    EXPECT_EQ(lines(file("z.csv")).size(), 4u);
}

TEST_F(CliEval, ForgetTable) {
    const auto r = run({"--json", "eval", "forget", kData + "/eval/counterfact-easyedit-6.json", "--n", "4,6",
                        "--forget-fraction", "0.5", "--plot", file("forget.svg"), "--csv", file("f.csv")});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = r.json();
    ASSERT_EQ(j.at("rows").size(), 2u);
    EXPECT_EQ(j.at("rows")[0].at("facts"), 4);
    EXPECT_EQ(j.at("rows")[0].at("forgotten"), 2);
    EXPECT_EQ(j.at("rows")[1].at("kept"), 3);
    EXPECT_EQ(j.at("model").at("slots"), 16);
    EXPECT_TRUE(j.at("paper").contains("N=K"));
    EXPECT_EQ(lines(file("f.csv")).size(), 1u + 4u + 6u);
    EXPECT_TRUE(fs::exists(file("forget.svg")));
    // The default sizes are K and 2K: the fixture has too few facts for K = 16.
    const auto d = run({"eval", "forget", kData + "/eval/counterfact-easyedit-6.json"});
    EXPECT_EQ(d.code, 1);
    EXPECT_NE(d.err.find("needs 16 facts"), std::string::npos) << d.err;
}

TEST_F(CliEval, SchemaErrorsNameFileRecordAndField) {
    auto r = run({"eval", "counterfact", kData + "/eval/counterfact-bad-record.json"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("counterfact-bad-record.json: record 2: missing field 'target_new'"), std::string::npos) << r.err;
    r = run({"--json", "eval", "zsre", kData + "/eval/zsre-bad-record.jsonl"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.json().at("error").get<std::string>().find("zsre-bad-record.jsonl: line 2: field 'alt' must be a string"),
              std::string::npos)
        << r.out;
    // --skip-invalid leaves the bad record out, says so, and evaluates the rest.
    r = run({"--json", "eval", "counterfact", kData + "/eval/counterfact-bad-record.json", "--skip-invalid", "--no-generation"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.json().at("metrics").at("cases"), 1);
    EXPECT_EQ(r.json().at("skipped_records").at("count"), 1);
    EXPECT_NE(r.err.find("skipped 1 invalid record(s)"), std::string::npos) << r.err;
}

TEST_F(CliEval, BadOptionsAreRefused) {
    const std::string cf = kData + "/eval/counterfact-easyedit-6.json";
    auto r = run({"eval", "counterfact", cf, "--sweep", "1,x"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("'x' is not a positive whole number"), std::string::npos) << r.err;
    r = run({"eval", "counterfact", cf, "--mode", "sequential", "--sweep", "1,2"});
    EXPECT_EQ(r.code, 1);
    r = run({"eval", "counterfact", cf, "--mode", "diagonal"});
    EXPECT_EQ(r.code, 1);
    r = run({"eval", "counterfact", cf, "--plot", file("chart.bmp")});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("bmp"), std::string::npos) << r.err;
}

} // namespace

// --backend measures memories side by side on the same cases. 40 facts in one batch: one memory
// of the test model's 16 slots cannot reproduce them all, pages of 8 can (read with each fact's
// own encoding, so only the memory is measured). The stand-in model's generation names the
// remembered fact nearest to the readout, so the judged edit success counts recalls (it is
// forgiving: one memory's blurred readouts are still nearest their own fact; the bundled
// model's numbers are in docs/RESULTS.md).
TEST_F(CliEval, BackendsSideBySideOnTheSameCases) {
    nlohmann::json cases = nlohmann::json::array();
    for (int i = 0; i < 40; ++i)
        cases.push_back({{"case_id", i},
                         {"prompt", "Gadget " + std::to_string(i) + " was made in"},
                         {"target_new", "Town" + std::to_string(i)},
                         {"subject", "Gadget " + std::to_string(i)},
                         {"ground_truth", "Nowhere"},
                         {"rephrase_prompt", "Where was gadget " + std::to_string(i) + " made? In"},
                         {"locality_prompt", "The sky is"},
                         {"locality_ground_truth", "blue"}});
    std::ofstream(file("cf40.json")) << cases.dump();
    const auto r = run({"--json", "eval", "counterfact", file("cf40.json"), "--batch-size", "40", "--read-with-fact",
                        "--no-scope", "--no-locality", "--backend", "larimar,paged", "--page-facts", "8", "--plot",
                        file("side.svg")});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = r.json();
    ASSERT_EQ(j.at("backends").size(), 2u);
    EXPECT_EQ(j["backends"][0].at("backend"), "larimar");
    EXPECT_EQ(j["backends"][1].at("backend"), "paged (8 facts per page)");
    const auto& one = j["backends"][0].at("metrics");
    const auto& paged = j["backends"][1].at("metrics");
    EXPECT_EQ(one.at("cases"), 40);
    EXPECT_EQ(paged.at("cases"), 40);
    EXPECT_DOUBLE_EQ(paged.at("judged_edit_success").get<double>(), 1.0);
    EXPECT_TRUE(one.at("judged_edit_success").is_number());
    EXPECT_NE(head(file("side.svg"), 200).find("<svg"), std::string::npos);

    const auto bad = run({"eval", "counterfact", file("cf40.json"), "--backend", "larimar,hnsw"});
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.err.find("unknown memory backend 'hnsw'"), std::string::npos) << bad.err;
}
