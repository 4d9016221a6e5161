#pragma once
// A tiny random-weight Larimar model directory (K = 8, C = 8, one layer each side) for tests that
// need the real loading and generation path (libtorch), not a test double. One definition for
// the CLI, UI and core tests.
// Qt's `slots` keyword macro would eat ModelConfig's memory.slots in the UI tests.
#pragma push_macro("slots")
#undef slots
#include "core/model/bpe_trainer.h"
#include "core/model/larimar_model.h"
#include "core/model/model_config.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace larimar::testing {

/// Writes the model `modelName` to <gtest TempDir>/<dirName>-<process id> and returns the path;
/// the directory is removed when the process exits (LARIMAR_KEEP_TINY_MODEL=1 keeps it). The
/// process id matters: ctest runs each test of a binary as its own process, in parallel, and a
/// shared directory was replaced under a test that was reading it. The BPE vocabulary is learnt from `text`; maxPositions bounds the encoder
/// and decoder input.
inline std::string makeTinyModelDir(const std::string& dirName, const std::string& modelName, const std::string& text,
                                    int maxPositions = 48) {
    const std::string d = ::testing::TempDir() + "/" + dirName + "-" + std::to_string(::getpid());
    std::filesystem::remove_all(d);
    struct RemoveAtExit {
        std::string path;
        ~RemoveAtExit() {
            std::error_code ec;
            if (!std::getenv("LARIMAR_KEEP_TINY_MODEL")) std::filesystem::remove_all(path, ec);
        }
    };
    static std::vector<RemoveAtExit> made;
    made.push_back({d});
    BpeTrainerOptions bo;
    bo.vocabSize = 300;
    BpeTrainer bpe(bo);
    bpe.addText(text);
    ModelConfig c;
    c.name = modelName;
    c.latentSize = 8;
    c.encoder = {1, 2, 16, 32, 400, maxPositions};
    c.decoder.layers = 1;
    c.decoder.heads = 2;
    c.decoder.hidden = 16;
    c.decoder.intermediate = 32;
    c.decoder.vocab = 400;
    c.decoder.maxPositions = maxPositions;
    c.memory.slots = 8;
    c.memory.pinv = "exact";
    LarimarModel::randomInit(c, 1, bpe.train().tokenizer).save(d);
    return d;
}

} // namespace larimar::testing

#pragma pop_macro("slots")
