// BERT's WordPiece tokenizer and the BERT encoder (core/model/wordpiece.h, bert.h) against
// Hugging Face: tests/data/bert/wordpiece.json (token ids by `tokenizers`) and minilm.json
// (all-MiniLM-L6-v2 sentence embeddings by transformers + sentence-transformers' pooling), both
// made by tests/data/bert/make_golden.py. The tests that need models/assets/minilm skip
// without it; the rest build small vocabularies and models of their own.
#include "core/model/bert.h"
#include "core/model/torch_io.h"
#include "core/model/wordpiece.h"
#include "core/util/error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace larimar;

namespace {

const std::string kMiniLm = LARIMAR_SOURCE_DIR "/models/assets/minilm";

bool haveMiniLm() { return fs::exists(fs::path(kMiniLm) / "model.safetensors") && fs::exists(fs::path(kMiniLm) / "vocab.txt"); }
#define SKIP_WITHOUT_MINILM()                                                                          \
    if (!haveMiniLm()) GTEST_SKIP() << "all-MiniLM-L6-v2 is not in " << kMiniLm << ": run models/fetch-assets.sh"

nlohmann::json readGolden(const std::string& name) {
    std::ifstream in(std::string(LARIMAR_TEST_DATA_DIR "/bert/") + name);
    if (!in) throw std::runtime_error("cannot open tests/data/bert/" + name);
    return nlohmann::json::parse(in);
}

std::string join(const std::vector<std::int32_t>& ids) {
    std::string s;
    for (auto id : ids) s += std::to_string(id) + " ";
    return s;
}

WordPieceTokenizer smallVocab() {
    return WordPieceTokenizer::fromTokens(
        {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "unaff", "want", "##want", "##ed", "runn", "##ing",
         ",", ".", "a", "##a", "cafe", "北", "京"});
}

const BertEncoder& miniLm() {
    static const BertEncoder encoder = BertEncoder::load(kMiniLm);
    return encoder;
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

// A random BERT of the given config written as a Hugging Face directory (prefix on every name).
void writeTinyBert(const fs::path& dir, const std::string& prefix, std::int64_t hidden = 16, std::int64_t layers = 2,
                   std::int64_t wordRows = 20) {
    fs::create_directories(dir);
    std::ofstream(dir / "config.json") << R"({"model_type": "bert", "hidden_act": "gelu", "vocab_size": 20,
        "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 32,
        "max_position_embeddings": 24, "type_vocab_size": 2, "layer_norm_eps": 1e-12})";
    {
        std::ofstream v(dir / "vocab.txt");
        for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "unaff", "want", "##want",
                              "##ed", "runn", "##ing", ",", ".", "a", "##a", "cafe", "北", "京"})
            v << t << "\n";
    }
    torch::manual_seed(7);
    std::map<std::string, torch::Tensor> t;
    auto r = [](std::vector<std::int64_t> s) { return torch::randn(s) * 0.3; };
    t[prefix + "embeddings.word_embeddings.weight"] = r({wordRows, hidden});
    t[prefix + "embeddings.position_embeddings.weight"] = r({24, 16});
    t[prefix + "embeddings.token_type_embeddings.weight"] = r({2, 16});
    t[prefix + "embeddings.LayerNorm.weight"] = 1 + r({16});
    t[prefix + "embeddings.LayerNorm.bias"] = r({16});
    for (std::int64_t i = 0; i < layers; ++i) {
        const std::string p = prefix + "encoder.layer." + std::to_string(i) + ".";
        for (const char* n : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
            t[p + n + ".weight"] = r({16, 16});
            t[p + n + ".bias"] = r({16});
        }
        t[p + "intermediate.dense.weight"] = r({32, 16});
        t[p + "intermediate.dense.bias"] = r({32});
        t[p + "output.dense.weight"] = r({16, 32});
        t[p + "output.dense.bias"] = r({16});
        for (const char* n : {"attention.output.LayerNorm", "output.LayerNorm"}) {
            t[p + n + ".weight"] = 1 + r({16});
            t[p + n + ".bias"] = r({16});
        }
    }
    saveTensors((dir / "model.safetensors").string(), t);
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("larimar_test_bert_" + std::to_string(::getpid()) + "_" +
                                            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

} // namespace

// ---------------------------------------------------------------------------------------
// WordPiece without the model files

TEST(WordPiece, GreedyLongestMatchFirstWithContinuations) {
    const auto tok = smallVocab();
    // "unaffable": "unaff" is longer than "un", then "##able".
    EXPECT_EQ(tok.wordPieces("unaffable"), (std::vector<std::int32_t>{7, 6}));
    EXPECT_EQ(tok.wordPieces("wanted"), (std::vector<std::int32_t>{8, 10}));
    EXPECT_EQ(tok.wordPieces("wantwanted"), (std::vector<std::int32_t>{8, 9, 10}));
    EXPECT_EQ(tok.wordPieces("aaa"), (std::vector<std::int32_t>{15, 16, 16}));
    // A word with a part that matches nothing is one [UNK], not a partial split.
    EXPECT_EQ(tok.wordPieces("wantx"), (std::vector<std::int32_t>{tok.unkId()}));
    EXPECT_EQ(tok.wordPieces("xwant"), (std::vector<std::int32_t>{tok.unkId()}));
    EXPECT_TRUE(tok.wordPieces("").empty());
}

TEST(WordPiece, WordsLongerThanAHundredCodePointsAreUnknown) {
    const auto tok = smallVocab();
    EXPECT_EQ(tok.wordPieces(std::string(100, 'a')).size(), 100u);
    EXPECT_EQ(tok.wordPieces(std::string(101, 'a')), (std::vector<std::int32_t>{tok.unkId()}));
    // Counted in code points, not bytes: 60 two-byte letters are 60, and cafe+é... stays a word.
    std::string accented;
    for (int i = 0; i < 60; ++i) accented += "\xC3\xA9"; // é, stripped to e, which the vocabulary lacks
    EXPECT_EQ(tok.tokenize(accented), (std::vector<std::int32_t>{tok.unkId()}));
}

TEST(WordPiece, NormalisesSplitsAndWrapsInClsSep) {
    const auto tok = smallVocab();
    EXPECT_EQ(tok.words("  Unaffable,RUNNING.  Café\t北京 "),
              (std::vector<std::string>{"unaffable", ",", "running", ".", "cafe", "北", "京"}));
    EXPECT_EQ(tok.encode("Unaffable, running."),
              (std::vector<std::int32_t>{tok.clsId(), 7, 6, 13, 11, 12, 14, tok.sepId()}));
    EXPECT_EQ(tok.encode(""), (std::vector<std::int32_t>{tok.clsId(), tok.sepId()}));
    // Truncation keeps [SEP] last and cuts pieces, not words.
    EXPECT_EQ(tok.encode("unaffable running", 4), (std::vector<std::int32_t>{tok.clsId(), 7, 6, tok.sepId()}));
    EXPECT_EQ(tok.encode("unaffable running", 3), (std::vector<std::int32_t>{tok.clsId(), 7, tok.sepId()}));
    EXPECT_EQ(tok.encode("unaffable", 2), (std::vector<std::int32_t>{tok.clsId(), tok.sepId()}));
    EXPECT_THROW(tok.encode("a", 1), UserError);
    // Control characters vanish (they join the words around them); a cased tokenizer keeps case.
    EXPECT_EQ(tok.words(std::string("want\0ed\x07", 8)), (std::vector<std::string>{"wanted"}));
    const auto cased = WordPieceTokenizer::fromTokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]"}, false);
    EXPECT_EQ(cased.words("Café ÀB"), (std::vector<std::string>{"Café", "ÀB"}));
}

TEST(WordPiece, RejectsInvalidInputAndBadVocabularies) {
    const auto tok = smallVocab();
    EXPECT_THROW(tok.encode("caf\xC3"), UserError);
    EXPECT_THROW(tok.encode("\xFF"), UserError);
    EXPECT_THROW(tok.token(-1), UserError);
    EXPECT_THROW(tok.token(tok.size()), UserError);
    EXPECT_EQ(tok.id("##able"), 6);
    EXPECT_EQ(tok.id("nope"), -1);
    EXPECT_TRUE(tok.isWholeToken("cafe"));
    EXPECT_FALSE(tok.isWholeToken("unaffable"));
    EXPECT_THROW(WordPieceTokenizer::fromTokens({"[PAD]", "[UNK]", "[CLS]"}), UserError); // no [SEP]
    EXPECT_THROW(WordPieceTokenizer::fromTokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "a"}), UserError);
    EXPECT_THROW(WordPieceTokenizer::fromTokens({"[PAD]", "", "[UNK]", "[CLS]", "[SEP]"}), UserError);
    try {
        WordPieceTokenizer::fromVocabFile("/nonexistent/vocab.txt");
        FAIL() << "no error for a missing file";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/vocab.txt"), std::string::npos);
    }
}

// ---------------------------------------------------------------------------------------
// WordPiece against Hugging Face tokenizers

TEST(WordPiece, MatchesHuggingFaceOnTrickyStrings) {
    SKIP_WITHOUT_MINILM();
    const auto tok = WordPieceTokenizer::fromVocabFile(kMiniLm + "/vocab.txt");
    const auto golden = readGolden("wordpiece.json");
    const auto maxLength = golden.at("max_length").get<std::size_t>();
    int cases = 0, truncated = 0, unknown = 0;
    for (const auto& c : golden.at("cases")) {
        const auto text = c.at("text").get<std::string>();
        const auto want = c.at("ids").get<std::vector<std::int32_t>>();
        const auto got = tok.encode(text, maxLength);
        EXPECT_EQ(join(got), join(want)) << "text: " << text;
        ++cases;
        truncated += want.size() == maxLength;
        unknown += std::count(want.begin(), want.end(), tok.unkId()) > 0;
    }
    EXPECT_GE(cases, 25);
    EXPECT_GE(truncated, 1); // the fixture exercises truncation and [UNK]
    EXPECT_GE(unknown, 3);
}

// ---------------------------------------------------------------------------------------
// The encoder on small random models

TEST(BertEncoder, LoadsWithOrWithoutTheBertPrefixAndPaddingChangesNothing) {
    TempDir tmp;
    writeTinyBert(tmp.path / "bare", "");
    writeTinyBert(tmp.path / "prefixed", "bert.");
    const auto a = BertEncoder::load((tmp.path / "bare").string());
    const auto b = BertEncoder::load((tmp.path / "prefixed").string());
    EXPECT_EQ(a.dimension(), 16);
    EXPECT_EQ(a.maxSequenceLength(), 24);
    const std::vector<std::string> texts{"unaffable running, wanted.", "a", "", "cafe 北京 wanted wanted"};
    const auto ea = a.embed(texts), eb = b.embed(texts);
    ASSERT_EQ(ea.size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        ASSERT_EQ(ea[i].size(), 16u);
        EXPECT_NEAR(cosine(ea[i], eb[i]), 1.0, 1e-6);
        double norm = 0;
        for (float v : ea[i]) norm += double(v) * v;
        EXPECT_NEAR(norm, 1.0, 1e-5);
        // Alone (no padding) and in the batch (padded to the longest): the same embedding.
        const auto alone = a.embed({texts[i]});
        for (std::size_t k = 0; k < 16; ++k) EXPECT_NEAR(alone[0][k], ea[i][k], 1e-5) << texts[i];
    }
    EXPECT_LT(cosine(ea[0], ea[1]), 0.999); // different texts, different embeddings
    // The pooled embedding is the masked mean of forward()'s rows.
    const auto batch = a.encodeBatch({texts[0]});
    const auto hidden = a.forward(batch);
    ASSERT_EQ(hidden.dim(), 3);
    const auto mean = hidden[0].mean(0);
    const auto manual = (mean / mean.norm()).contiguous();
    for (std::int64_t k = 0; k < 16; ++k) EXPECT_NEAR(manual[k].item<float>(), ea[0][static_cast<std::size_t>(k)], 1e-5);
    // Long texts are cut to the position table.
    std::string longText;
    for (int i = 0; i < 100; ++i) longText += "wanted ";
    EXPECT_EQ(a.encodeBatch({longText}).ids.size(1), 24);
    EXPECT_EQ(a.embed({longText})[0].size(), 16u);
}

TEST(BertEncoder, WrongShapesAndMissingFilesAreClearUserErrors) {
    TempDir tmp;
    writeTinyBert(tmp.path / "short_vocab", "", 16, 2, 19);
    try {
        BertEncoder::load((tmp.path / "short_vocab").string());
        FAIL() << "no error for a wrong shape";
    } catch (const UserError& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("embeddings.word_embeddings.weight"), std::string::npos) << m;
        EXPECT_NE(m.find("[19, 16]"), std::string::npos) << m;
    }
    writeTinyBert(tmp.path / "one_layer", "", 16, 1);
    try {
        BertEncoder::load((tmp.path / "one_layer").string());
        FAIL() << "no error for a missing layer";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("encoder.layer.1."), std::string::npos) << e.what();
    }
    writeTinyBert(tmp.path / "ok", "");
    fs::remove(tmp.path / "ok" / "vocab.txt");
    try {
        BertEncoder::load((tmp.path / "ok").string());
        FAIL() << "no error for a missing vocab.txt";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("vocab.txt"), std::string::npos) << e.what();
    }
    writeTinyBert(tmp.path / "config", "");
    std::ofstream(tmp.path / "config" / "config.json") << R"({"hidden_size": 16, "num_attention_heads": 5})";
    EXPECT_THROW(BertEncoder::load((tmp.path / "config").string()), UserError);
    std::ofstream(tmp.path / "config" / "config.json") << R"({"hidden_act": "relu"})";
    EXPECT_THROW(BertEncoder::load((tmp.path / "config").string()), UserError);
    EXPECT_THROW(BertEncoder::load((tmp.path / "nowhere").string()), UserError);
    // Ids outside the vocabulary in a hand-made batch.
    writeTinyBert(tmp.path / "good", "");
    const auto enc = BertEncoder::load((tmp.path / "good").string());
    BertBatch bad{torch::tensor({{2, 25, 3}}, torch::kLong), torch::ones({1, 3}, torch::kLong)};
    EXPECT_THROW(enc.forward(bad), UserError);
}

// ---------------------------------------------------------------------------------------
// all-MiniLM-L6-v2 against sentence-transformers

TEST(BertEncoder, MiniLmMatchesSentenceTransformers) {
    SKIP_WITHOUT_MINILM();
    const auto golden = readGolden("minilm.json");
    const BertEncoder& enc = miniLm();
    EXPECT_EQ(enc.dimension(), 384);
    EXPECT_EQ(enc.maxSequenceLength(), golden.at("max_length").get<int>());
    std::vector<std::string> texts;
    for (const auto& c : golden.at("cases")) texts.push_back(c.at("text").get<std::string>());
    ASSERT_GE(texts.size(), 5u);
    const auto got = enc.embed(texts);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto& c = golden["cases"][i];
        const auto want = c.at("embedding").get<std::vector<float>>();
        ASSERT_EQ(got[i].size(), want.size());
        double maxDiff = 0;
        for (std::size_t k = 0; k < want.size(); ++k) maxDiff = std::max(maxDiff, std::abs(double(got[i][k]) - want[k]));
        EXPECT_GT(cosine(got[i], want), 0.9999) << texts[i];
        EXPECT_LT(maxDiff, 1e-4) << texts[i];
        // Token ids and raw hidden states (first token, last real token).
        const auto ids = c.at("ids").get<std::vector<std::int32_t>>();
        EXPECT_EQ(join(enc.tokenizer().encode(texts[i], static_cast<std::size_t>(enc.maxSequenceLength()))), join(ids));
        const auto batch = enc.encodeBatch({texts[i]});
        const auto hidden = enc.forward(batch);
        const auto n = static_cast<std::int64_t>(ids.size());
        ASSERT_EQ(hidden.size(1), n);
        const auto first = c.at("hidden_first").get<std::vector<float>>();
        const auto last = c.at("hidden_last").get<std::vector<float>>();
        for (std::size_t k = 0; k < first.size(); ++k) {
            EXPECT_NEAR(hidden[0][0][static_cast<std::int64_t>(k)].item<float>(), first[k], 2e-4) << texts[i];
            EXPECT_NEAR(hidden[0][n - 1][static_cast<std::int64_t>(k)].item<float>(), last[k], 2e-4) << texts[i];
        }
    }
    // Meaning, not just numbers: a paraphrase is nearer than an unrelated sentence.
    const auto e = enc.embed({"The Eiffel Tower is in Paris.", "Where is the Eiffel Tower?", "A man plays the guitar."});
    EXPECT_GT(cosine(e[0], e[1]), cosine(e[0], e[2]) + 0.2);
}

TEST(BertEncoder, MiniLmSpeedOnShortSentences) {
    SKIP_WITHOUT_MINILM();
    const BertEncoder& enc = miniLm();
    std::vector<std::string> texts;
    for (int i = 0; i < 64; ++i) texts.push_back("The mother tongue of person number " + std::to_string(i) + " is French.");
    enc.embed({texts[0]}); // warm up
    const auto t0 = std::chrono::steady_clock::now();
    const auto out = enc.embed(texts);
    const double batched = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < 16; ++i) enc.embed({texts[static_cast<std::size_t>(i)]});
    const double single = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
    std::cout << "[ timing   ] MiniLM: " << batched / 64 << " ms per sentence in batches, " << single / 16
              << " ms one at a time (" << torch::get_num_threads() << " threads)\n";
    EXPECT_EQ(out.size(), 64u);
}
