// Issue 20, robustness 5: hostile model directories. Every size in a model config has an upper
// bound, checked before anything is allocated; the weights file must be a regular file whose size
// fits the config's parameter count (checked before it is read, so a FIFO does not hang and a
// 64 GB sparse file is not read); a large safetensors file is judged by its header first. Each
// case is exit 1 with a message naming the field or the file, and fast. The directories are
// copies of models/larimar-small with one thing changed.
#include "cli_test_support.h"

#include "app/cli/cli.h"
#include "core/model/safetensors.h"
#include "core/util/error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

const fs::path kSmall = fs::path(LARIMAR_SOURCE_DIR) / "models" / "larimar-small";

class CliModels : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "larimar-cli-models-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        m_dir = tmpl;
        if (!fs::exists(kSmall / "model.safetensors")) GTEST_SKIP() << "no " << kSmall;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
    /// A copy of larimar-small (the weights as a symlink unless told otherwise), config changed by edit.
    fs::path modelDir(const std::function<void(nlohmann::json&)>& edit, bool linkWeights = true) {
        const fs::path d = m_dir / ("model" + std::to_string(m_models++));
        fs::create_directories(d);
        for (const char* f : {"merges.txt", "vocab.json"}) fs::copy_file(kSmall / f, d / f);
        if (linkWeights) fs::create_symlink(kSmall / "model.safetensors", d / "model.safetensors");
        nlohmann::json cfg;
        std::ifstream(kSmall / "config.json") >> cfg;
        edit(cfg);
        std::ofstream(d / "config.json") << cfg.dump(2);
        return d;
    }
    larimar::test::CliResult query(const fs::path& model) {
        std::ostringstream out, err;
        const auto t0 = std::chrono::steady_clock::now();
        const int code = larimar::cli::run(
            {"--workspace", (m_dir / "ws.larimar").string(), "--model", model.string(), "query", "The Tamsa"}, out,
            err);
        m_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return {code, out.str(), err.str()};
    }
    void expectRefused(const fs::path& model, const std::string& needle) {
        const auto r = query(model);
        EXPECT_EQ(r.code, 1) << r.err;
        EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
        EXPECT_LT(m_seconds, 5.0) << r.err;
    }

    fs::path m_dir;
    int m_models = 0;
    double m_seconds = 0;
};

} // namespace

TEST_F(CliModels, EverySizeHasAnUpperBound) {
    expectRefused(modelDir([](auto& c) { c["decoder"]["max_positions"] = 2000000; }),
                  "decoder.max_positions = 2000000 is larger than the limit of 32768");
    expectRefused(modelDir([](auto& c) { c["encoder"]["hidden"] = 1 << 20; }),
                  "encoder.hidden = 1048576 is larger than the limit of 16384");
    expectRefused(modelDir([](auto& c) { c["memory"]["pinv_steps"] = 2147483647; }),
                  "memory.pinv_steps = 2147483647 is larger than the limit of 1000");
    expectRefused(modelDir([](auto& c) { c["encoder"]["layers"] = 100000; }), "encoder.layers");
    expectRefused(modelDir([](auto& c) { c["memory"]["slots"] = 1000000; }), "memory.slots");
}

TEST_F(CliModels, TheWeightsFileMustFitTheConfig) {
    // Within every bound, but 16 times the parameters the file holds: refused before building.
    expectRefused(modelDir([](auto& c) { c["decoder"]["layers"] = 64; }), "bytes as float16), the file has");
    // A 64 GB sparse file: refused by its size, never read.
    const auto sparse = modelDir([](auto&) {}, false);
    {
        std::ofstream(sparse / "model.safetensors") << "";
        ASSERT_EQ(truncate((sparse / "model.safetensors").c_str(), 64LL << 30), 0);
    }
    expectRefused(sparse, "more than the config's");
    // A directory and a FIFO where the weights should be.
    const auto dir = modelDir([](auto&) {}, false);
    fs::create_directories(dir / "model.safetensors");
    expectRefused(dir, "is not a regular file (a directory)");
    const auto fifo = modelDir([](auto&) {}, false);
    ASSERT_EQ(mkfifo((fifo / "model.safetensors").c_str(), 0600), 0);
    expectRefused(fifo, "is not a regular file (a FIFO)"); // before the fix: blocked in open()
}

TEST(SafetensorsHostile, ALargeFileIsJudgedByItsHeaderBeforeItIsRead) {
    const auto path = (fs::temp_directory_path() / ("larimar-sparse-" + std::to_string(getpid()))).string();
    // 64 GB of zeros: a header length of 0, found without allocating 64 GB.
    {
        std::ofstream(path) << "";
        ASSERT_EQ(truncate(path.c_str(), 64LL << 30), 0);
    }
    const auto t0 = std::chrono::steady_clock::now();
    try {
        larimar::safetensors::File::open(path);
        ADD_FAILURE() << "a sparse file opened";
    } catch (const larimar::UserError& e) {
        EXPECT_NE(std::string(e.what()).find("the header is empty"), std::string::npos) << e.what();
    }
    // A valid header describing 8 bytes, followed by 100 MB more: refused by the header.
    {
        const std::string header = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        std::uint64_t n = header.size();
        out.write(reinterpret_cast<const char*>(&n), 8);
        out << header;
    }
    ASSERT_EQ(truncate(path.c_str(), 100LL << 20), 0);
    try {
        larimar::safetensors::File::open(path);
        ADD_FAILURE() << "a padded file opened";
    } catch (const larimar::UserError& e) {
        EXPECT_NE(std::string(e.what()).find("its header describes 8"), std::string::npos) << e.what();
    }
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
    fs::remove(path);
}
