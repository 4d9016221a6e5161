#include "core/util/binary_io.h"
#include "core/util/csv.h"
#include "core/util/error.h"
#include "core/util/file_io.h"
#include "core/util/model_paths.h"
#include "core/util/npy.h"
#include "core/util/sha256.h"
#include "core/util/stats.h"
#include "core/util/utf8.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace larimar;

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(toHex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(toHex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    Sha256 h;
    h.update("a").update("bc");
    EXPECT_EQ(toHex(h.finish()), toHex(sha256("abc")));
}

TEST(Blob, ReaderRefusesToReadPastTheEnd) {
    BlobWriter w;
    w.u32(7);
    w.f64(2.5);
    const auto bytes = w.data();
    BlobReader r(bytes.data(), bytes.size(), "test blob");
    EXPECT_EQ(r.u32("a"), 7u);
    EXPECT_EQ(r.f64("b"), 2.5);
    try {
        r.u64("missing field");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("missing field"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("test blob is truncated"), std::string::npos);
    }
    double big[4];
    BlobReader r2(bytes.data(), bytes.size(), "x");
    EXPECT_THROW(r2.f64s(big, std::size_t(1) << 62, "huge"), Error);
}

TEST(Npy, RoundTripAndHeaderAlignment) {
    const std::string path = ::testing::TempDir() + "/a.npy";
    const double data[6] = {1, 2, 3, 4, 5, 6.5};
    writeNpy(path, data, {2, 3});
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GE(bytes.size(), 128u);
    EXPECT_EQ((bytes.size() - 48) % 64, 0u) << "data starts on a 64-byte boundary";
    const NpyArray a = readNpy(path);
    EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
    EXPECT_EQ(a.data, std::vector<double>(data, data + 6));
    writeNpy(path, data, {6}, true);
    EXPECT_EQ(readNpy(path).data, std::vector<double>(data, data + 6));
}

TEST(Npy, RejectsOtherFiles) {
    const std::string path = ::testing::TempDir() + "/bad.npy";
    std::ofstream(path) << "hello";
    EXPECT_THROW(readNpy(path), UserError);
    EXPECT_THROW(readNpy(path + ".missing"), UserError);
}

namespace {
struct EnvGuard {
    std::string name, old;
    bool had;
    explicit EnvGuard(std::string n) : name(std::move(n)), had(std::getenv(name.c_str()) != nullptr) {
        if (had) old = std::getenv(name.c_str());
    }
    ~EnvGuard() { had ? setenv(name.c_str(), old.c_str(), 1) : unsetenv(name.c_str()); }
};
} // namespace

TEST(ModelPaths, EnvironmentComesFirstThenInstalledThenSourceTree) {
    namespace fs = std::filesystem;
    EnvGuard guard("LARIMAR_MODEL_DIR");
    const fs::path dir = fs::temp_directory_path() / "larimar-model-paths-test";
    fs::create_directories(dir);
    std::ofstream(dir / "config.json") << "{}";
    setenv("LARIMAR_MODEL_DIR", dir.c_str(), 1);
    const auto c = bundledModelCandidates();
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[0], dir.string());
    // Installed layout: <bindir>/../share/larimar-workbench/models/<the bundled model>.
    EXPECT_EQ(c[1], (fs::path(executableDir()).parent_path() / "share/larimar-workbench/models/larimar-smollm2").string());
    EXPECT_EQ(resolveModelDir(), dir.string());
    EXPECT_EQ(resolveModelDir(dir.string()), dir.string());
    fs::remove_all(dir);
}

TEST(ModelPaths, MissingModelNamesWhereItLooked) {
    EnvGuard guard("LARIMAR_MODEL_DIR");
    setenv("LARIMAR_MODEL_DIR", "/nonexistent/env-model", 1);
    try {
        resolveModelDir("/nonexistent/explicit");
        FAIL() << "expected a UserError";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("no model found at /nonexistent/explicit"), std::string::npos) << e.what();
    }
    // No candidate holds a model: the message names each place, in order, and both ways out.
    // (resolveModelDir() itself finds the source tree's model here, so its candidates are given.)
    try {
        firstModelDir({"/nonexistent/env-model", "/nonexistent/installed"});
        FAIL() << "expected a UserError";
    } catch (const UserError& e) {
        EXPECT_EQ(std::string(e.what()), "no model found (looked in /nonexistent/env-model, /nonexistent/installed); "
                                         "pass --model DIR or set LARIMAR_MODEL_DIR");
    }
    // The first candidate with a config.json wins.
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / "larimar-first-model-test";
    fs::create_directories(dir);
    std::ofstream(dir / "config.json") << "{}";
    EXPECT_EQ(firstModelDir({"/nonexistent/env-model", dir.string(), LARIMAR_SOURCE_DIR "/models/larimar-smollm2"}),
              dir.string());
    fs::remove_all(dir);
}

TEST(FileIo, ReadFileReturnsTheBytesWrittenAtomically) {
    const std::string path = ::testing::TempDir() + "/read-file-test.bin";
    const std::string bytes("a\0b\xff\n\r\nlast", 11);
    writeFileAtomically(path, bytes);
    EXPECT_EQ(readFile(path), bytes);
    writeFileAtomically(path, std::string());
    EXPECT_EQ(readFile(path), "");
    // Larger than one read buffer.
    std::string big(200000, 'x');
    for (std::size_t i = 0; i < big.size(); i += 997) big[i] = char(i % 251);
    writeFileAtomically(path, big);
    EXPECT_EQ(readFile(path), big);
    std::filesystem::remove(path);
}

TEST(FileIo, ReadFileNamesThePathAndTheReason) {
    const std::string missing = ::testing::TempDir() + "/no-such-file.json";
    try {
        readFile(missing, "the model config");
        FAIL() << "expected a UserError";
    } catch (const UserError& e) {
        EXPECT_EQ(std::string(e.what()), "cannot open the model config " + missing + ": No such file or directory");
    }
    try {
        readFile(::testing::TempDir());
        FAIL() << "expected a UserError";
    } catch (const UserError& e) {
        EXPECT_EQ(std::string(e.what()), ::testing::TempDir() + " is a directory, not a file");
    }
}

TEST(Csv, FieldsAreQuotedOnlyWhenTheyMustBe) {
    EXPECT_EQ(csvField("plain text 42"), "plain text 42");
    EXPECT_EQ(csvField(""), "");
    EXPECT_EQ(csvField("a,b"), "\"a,b\"");
    EXPECT_EQ(csvField("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csvField("two\nlines"), "\"two\nlines\"");
    EXPECT_EQ(csvField("cr\r"), "\"cr\r\"");
}

TEST(Stats, MedianOfOddEvenAndEmpty) {
    EXPECT_EQ(median({3, 1, 2}), 2.0);
    EXPECT_EQ(median({4, 1, 3, 2}), 2.5); // the mean of the two middle values, not the upper one
    EXPECT_EQ(median({7}), 7.0);
    EXPECT_EQ(median({}), 0.0);
    EXPECT_EQ(median({5, 5, 1, 9}), 5.0);
}

TEST(Utf8, DecodeEncodeRoundTripAndStrictness) {
    // One character of each length, and their code points.
    const std::string s = "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; // A é € 😀
    std::vector<char32_t> cps;
    std::string again;
    for (std::size_t i = 0; i < s.size();) {
        const Utf8Char c = decodeUtf8(s, i);
        ASSERT_TRUE(c.valid) << i;
        cps.push_back(c.cp);
        appendUtf8(again, c.cp);
        i += c.len;
    }
    EXPECT_EQ(cps, (std::vector<char32_t>{0x41, 0xE9, 0x20AC, 0x1F600}));
    EXPECT_EQ(again, s);
    // Overlong forms, surrogates, beyond U+10FFFF and stray continuation bytes are single bad bytes.
    for (const char* bad : {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xff"}) {
        const Utf8Char c = decodeUtf8(bad, 0);
        EXPECT_FALSE(c.valid) << bad;
        EXPECT_EQ(c.len, 1u);
        EXPECT_EQ(c.cp, char32_t(static_cast<unsigned char>(bad[0])));
    }
    EXPECT_EQ(toValidUtf8("ok \xe2\x82"), "ok \xef\xbf\xbd\xef\xbf\xbd"); // a cut-off euro sign
    EXPECT_EQ(toValidUtf8("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(Utf8, ProblemsAreNamedWithTheirOffset) {
    EXPECT_FALSE(findUtf8Problem("caf\xc3\xa9 \xf0\x9f\x98\x80"));
    const auto nul = findUtf8Problem(std::string("ab\0c", 4));
    ASSERT_TRUE(nul);
    EXPECT_EQ(nul->offset, 2u);
    EXPECT_EQ(nul->what, "a NUL byte");
    const auto cut = findUtf8Problem("abc\xe2\x82");
    ASSERT_TRUE(cut);
    EXPECT_EQ(cut->offset, 3u);
    EXPECT_EQ(cut->what, "a truncated UTF-8 sequence");
    const auto bad = findUtf8Problem("x\xed\xa0\x80y");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->offset, 1u);
    EXPECT_EQ(bad->what, "invalid UTF-8");
}
