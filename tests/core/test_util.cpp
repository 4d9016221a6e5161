#include "core/util/binary_io.h"
#include "core/util/error.h"
#include "core/util/model_paths.h"
#include "core/util/npy.h"
#include "core/util/sha256.h"

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
    if (bundledModelCandidates().size() == 3 && !std::filesystem::exists(bundledModelCandidates()[2] + "/config.json")) {
        try {
            resolveModelDir();
            FAIL() << "expected a UserError";
        } catch (const UserError& e) {
            EXPECT_NE(std::string(e.what()).find("/nonexistent/env-model"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("--model DIR"), std::string::npos) << e.what();
        }
    }
}
