// The trainer on a tiny model: the loss falls, and a resumed run equals an uninterrupted one.
#include "core/model/larimar_model.h"
#include "core/model/model_config.h"
#include "core/train/trainer.h"
#include "core/util/error.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace larimar;

namespace {

TrainConfig tinyConfig(const fs::path& dir) {
    fs::create_directories(dir);
    ModelConfig m;
    m.name = "tiny";
    m.latentSize = 16;
    m.encoder.layers = 1;
    m.encoder.heads = 2;
    m.encoder.hidden = 32;
    m.encoder.intermediate = 64;
    m.encoder.vocab = 400;
    m.encoder.maxPositions = 48;
    m.decoder.layers = 1;
    m.decoder.heads = 2;
    m.decoder.hidden = 32;
    m.decoder.intermediate = 64;
    m.decoder.vocab = 400;
    m.decoder.maxPositions = 48;
    m.memory.slots = 8;
    m.memory.pinv = "exact";
    m.save((dir / "model.json").string());
    TrainConfig c;
    c.modelConfig = (dir / "model.json").string();
    c.tokenizerVocab = 400;
    c.editFiles = {LARIMAR_TEST_DATA_DIR "/datasets/counterfact-easyedit-3.json",
                   LARIMAR_TEST_DATA_DIR "/datasets/counterfact-rome-3.json"};
    c.outputDir = (dir / "run").string();
    c.steps = 150;
    c.episodesPerStep = 2;
    c.episodeSize = 2;
    c.plainPerStep = 0;
    c.lr = 3e-3;
    c.warmupSteps = 2;
    c.threads = 1;
    c.checkpointMinutes = 100;
    return c;
}

/// Column `column` (1-based) of every row of a training log.csv.
std::vector<double> losses(const std::string& csv, int column = 4) {
    std::ifstream in(csv);
    std::string line;
    std::getline(in, line);
    std::vector<double> out;
    while (std::getline(in, line)) {
        std::stringstream ss(line);
        std::string cell;
        for (int i = 0; i < column && std::getline(ss, cell, ','); ++i) {}
        out.push_back(std::stod(cell));
    }
    return out;
}

std::string bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// A finished 3-step run of the tiny config in dir (emptied first): the init model of the
/// --init-from tests.
TrainResult shortRun(const fs::path& dir) {
    fs::remove_all(dir);
    TrainConfig c = tinyConfig(dir);
    c.steps = 3;
    return runTraining(c, {});
}

/// Gives the model config of c a word slot, and a key slot too when asked, growing latent_size
/// by the decoder's hidden size for each.
void addSlots(const TrainConfig& c, bool keySlot) {
    ModelConfig m = ModelConfig::load(c.modelConfig);
    m.wordSlot = true;
    m.keySlot = keySlot;
    m.latentSize += (keySlot ? 2 : 1) * m.decoder.hidden;
    m.save(c.modelConfig);
}

TEST(Trainer, LossFallsOnAToyCorpus) {
    const fs::path dir = fs::path(::testing::TempDir()) / "trainer-loss";
    fs::remove_all(dir);
    const TrainResult r = runTraining(tinyConfig(dir), {});
    ASSERT_TRUE(r.finished);
    const auto l = losses(r.logCsv);
    ASSERT_GE(l.size(), 4u);
    // Logged every 10 steps; the toy corpus (6 cases) is learnable well within 150 steps.
    EXPECT_LT(l.back(), 0.6 * l.front()) << "first logged loss " << l.front() << ", last " << l.back();
    EXPECT_TRUE(fs::exists(r.lossPlot));
    EXPECT_TRUE(fs::exists(fs::path(r.modelDir) / "model.safetensors"));
}

TEST(Trainer, ResumeGivesTheSameWeightsAsAnUninterruptedRun) {
    const fs::path a = fs::path(::testing::TempDir()) / "trainer-a", b = fs::path(::testing::TempDir()) / "trainer-b";
    fs::remove_all(a);
    fs::remove_all(b);
    TrainConfig ca = tinyConfig(a), cb = tinyConfig(b);
    ca.steps = cb.steps = 12;
    TrainRunOptions first;
    first.maxSteps = 5;
    EXPECT_FALSE(runTraining(ca, first).finished);
    TrainRunOptions resume;
    resume.resume = true;
    EXPECT_TRUE(runTraining(ca, resume).finished);
    EXPECT_TRUE(runTraining(cb, {}).finished);
    EXPECT_EQ(bytes(a / "run/model/model.safetensors"), bytes(b / "run/model/model.safetensors"));
}

// --init-from into a config that adds a part (decoder.latent_output): the shared weights are the
// init model's, the new part starts at zero, and the run says what it initialised.
TEST(Trainer, InitFromCopiesSharedWeightsAndStartsANewPartAtZero) {
    const fs::path b = fs::path(::testing::TempDir()) / "trainer-init-b";
    fs::remove_all(b);
    const TrainResult first = shortRun(fs::path(::testing::TempDir()) / "trainer-init-a");
    ASSERT_TRUE(first.finished);

    TrainConfig cb = tinyConfig(b);
    ModelConfig m = ModelConfig::load(cb.modelConfig);
    m.decoder.latentOutput = true;
    m.save(cb.modelConfig);
    cb.initModel = first.modelDir;
    cb.steps = 1;
    std::string messages;
    TrainRunOptions opt;
    opt.onMessage = [&](const std::string& s) { messages += s + "\n"; };
    const TrainResult second = runTraining(cb, opt);
    ASSERT_TRUE(second.finished);
    EXPECT_NE(messages.find("newly initialised: decoder.transformer.linear_out.weight"), std::string::npos) << messages;

    const LarimarModel before = LarimarModel::load(first.modelDir), after = LarimarModel::load(second.modelDir);
    EXPECT_TRUE(after.config().decoder.latentOutput);
    const auto old = before.stateDict(), now = after.stateDict();
    // One AdamW step moves a weight by at most about lr.
    const double bound = 1.01 * cb.lr + 1e-6;
    for (const auto& [name, t] : old)
        EXPECT_LE((now.at(name) - t).abs().max().item<double>(), bound) << name << " was not copied";
    EXPECT_LE(now.at("decoder.transformer.linear_out.weight").abs().max().item<double>(), bound)
        << "the new part must start at zero, not at a random init";

    // Back to a config without the part: the run says which weights it leaves out.
    const fs::path c = fs::path(::testing::TempDir()) / "trainer-init-c";
    fs::remove_all(c);
    TrainConfig cc = tinyConfig(c);
    cc.initModel = second.modelDir;
    cc.steps = 1;
    messages.clear();
    ASSERT_TRUE(runTraining(cc, opt).finished);
    EXPECT_NE(messages.find("left out: decoder.transformer.linear_out.weight"), std::string::npos) << messages;
}

// A model gains a word slot by --init-from: its weights carry over (the slot's dimensions are new,
// so latent_size grows), the pointer and copy gate start as initialize() sets them, and
// copy_map starts as the whitening of the embedding table copied in, not of a random one.
TEST(Trainer, InitFromAddsAWordSlotWhitenedForTheCopiedEmbeddings) {
    const fs::path b = fs::path(::testing::TempDir()) / "trainer-slot-b";
    fs::remove_all(b);
    const TrainResult first = shortRun(fs::path(::testing::TempDir()) / "trainer-slot-a");
    ASSERT_TRUE(first.finished);

    TrainConfig cb = tinyConfig(b);
    addSlots(cb, false);
    const ModelConfig m = ModelConfig::load(cb.modelConfig);
    cb.initModel = first.modelDir;
    cb.steps = 1;
    cb.lr = 1e-6;
    std::string messages;
    TrainRunOptions opt;
    opt.onMessage = [&](const std::string& s) { messages += s + "\n"; };
    ASSERT_TRUE(runTraining(cb, opt).finished);
    EXPECT_NE(messages.find("decoder.transformer.copy_map.weight"), std::string::npos) << messages;

    const LarimarModel before = LarimarModel::load(first.modelDir);
    LarimarModel after = LarimarModel::load((b / "run/model").string());
    const auto old = before.stateDict(), now = after.stateDict();
    EXPECT_LT((now.at("encoder.latent_head.weight") - old.at("encoder.latent_head.weight")).abs().max().item<double>(), 1e-4);
    const auto wte = now.at("decoder.transformer.wte.weight"), map = now.at("decoder.transformer.copy_map.weight");
    EXPECT_NEAR((torch::matmul(wte, map) * wte).sum(1).mean().item<double>(), 1.0, 0.01);
    EXPECT_EQ(after.encode({"Paris is the capital of France"}).size(1), m.latentSize);
}

// bow_weight: the latent output path alone learns to name the answer of what was written, so
// the readout carries them; without that path the run refuses the setting by name.
TEST(Trainer, BagOfWordsTermFallsAndNeedsTheLatentOutputPath) {
    const fs::path dir = fs::path(::testing::TempDir()) / "trainer-bow";
    fs::remove_all(dir);
    TrainConfig c = tinyConfig(dir);
    c.bowWeight = 1.0;
    try {
        runTraining(c, {});
        ADD_FAILURE() << "bow_weight without latent_output must be refused";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("bow_weight"), std::string::npos) << e.what();
    }
    fs::remove_all(c.outputDir);
    ModelConfig m = ModelConfig::load(c.modelConfig);
    m.decoder.latentOutput = true;
    m.save(c.modelConfig);
    c.episodeSize = 1; // the readout is the fact's own latent: what it carries is all there is
    auto finalBow = [&](double weight) {
        fs::remove_all(c.outputDir);
        c.bowWeight = weight;
        const TrainResult r = runTraining(c, {});
        EXPECT_TRUE(r.finished);
        const auto bow = losses(r.logCsv, 14); // bow_loss, logged every 10 steps
        EXPECT_GE(bow.size(), 10u);
        return bow.empty() ? 0.0 : bow.back();
    };
    // The control logs the term at a weight too small to train it: what the other losses alone
    // teach the path. The term itself must teach it much more.
    const double trained = finalBow(5.0), control = finalBow(1e-9);
    EXPECT_GT(trained, 0.0);
    EXPECT_LT(trained, control - 0.5) << "bag-of-words loss with the term " << trained << ", without " << control;
}

// key_subject_weight: the key's pointer learns to weigh the fact's subject (the data's "subject"
// field), against a control run that only logs the term; without a key slot it is refused by name.
TEST(Trainer, KeySubjectTermPutsTheKeyOnTheSubject) {
    const fs::path dir = fs::path(::testing::TempDir()) / "trainer-key";
    fs::remove_all(dir);
    TrainConfig c = tinyConfig(dir);
    c.steps = 100;
    c.keySubjectWeight = 1.0;
    try {
        runTraining(c, {});
        ADD_FAILURE() << "key_subject_weight without a key slot must be refused";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("key_subject_weight"), std::string::npos) << e.what();
    }
    addSlots(c, true);
    auto finalKey = [&](double weight) {
        fs::remove_all(c.outputDir);
        c.keySubjectWeight = weight;
        const TrainResult r = runTraining(c, {});
        EXPECT_TRUE(r.finished);
        const auto key = losses(r.logCsv, 15); // key_loss, logged every 10 steps
        EXPECT_GE(key.size(), 5u);
        return key.empty() ? 0.0 : key.back();
    };
    const double trained = finalKey(5.0), control = finalKey(1e-9);
    EXPECT_GT(control, 1.0) << "a plain mean over the words leaves most of the weight off the subject";
    EXPECT_LT(trained, 0.5 * control) << "key loss with the term " << trained << ", without " << control;
}

// slot_lr_factor: the slots' pointers and the copy gate learn that many times faster than the
// rest (Adam's first step moves every weight by about its learning rate).
TEST(Trainer, SlotLearningRateFactorSpeedsOnlyThePointersAndTheCopyGate) {
    const fs::path a = fs::path(::testing::TempDir()) / "trainer-slotlr-a", b = fs::path(::testing::TempDir()) / "trainer-slotlr-b";
    fs::remove_all(a);
    fs::remove_all(b);
    TrainConfig ca = tinyConfig(a);
    addSlots(ca, true);
    ca.steps = 1;
    ca.warmupSteps = 0;
    ca.keySubjectWeight = 1.0;
    ASSERT_TRUE(runTraining(ca, {}).finished);
    TrainConfig cb = ca;
    cb.outputDir = (b / "run").string();
    cb.initModel = (a / "run/model").string();
    cb.slotLrFactor = 10.0;
    ASSERT_TRUE(runTraining(cb, {}).finished);
    const auto before = LarimarModel::load((a / "run/model").string()).stateDict();
    const auto after = LarimarModel::load((b / "run/model").string()).stateDict();
    auto moved = [&](const std::string& name) { return (after.at(name) - before.at(name)).abs().max().item<double>(); };
    const double lr = cb.lr;
    EXPECT_GT(moved("encoder.key_pointer.score"), 5 * lr);
    EXPECT_GT(moved("encoder.pointer.score"), 5 * lr);
    EXPECT_GT(moved("decoder.transformer.copy_gate.weight"), 5 * lr);
    EXPECT_LT(moved("encoder.latent_head.weight"), 1.5 * lr);
    EXPECT_LT(moved("decoder.transformer.wte.weight"), 1.5 * lr);
}

// latent_spread_weight: encodings of different sentences must not collapse onto one vector.
// Measured as each latent dimension's standard deviation over a set of sentences, against a
// control run without the term.
TEST(Trainer, LatentSpreadKeepsEncodingsApart) {
    const fs::path dir = fs::path(::testing::TempDir()) / "trainer-spread";
    fs::remove_all(dir);
    TrainConfig c = tinyConfig(dir);
    const std::vector<std::string> texts = {"The mother tongue of Danielle Darrieux is English",
                                            "Toko Yasuda, the piano", "Michel Denisot spoke the language Russian",
                                            "a small red house", "It is located in Sweden"};
    auto spread = [&](double weight) {
        fs::remove_all(c.outputDir);
        c.latentSpreadWeight = weight;
        const TrainResult r = runTraining(c, {});
        EXPECT_TRUE(r.finished);
        LarimarModel m = LarimarModel::load(r.modelDir);
        torch::NoGradGuard noGrad;
        return m.encode(texts).std(0).mean().item<double>();
    };
    const double control = spread(0.0), trained = spread(1.0);
    EXPECT_GT(trained, 0.5) << "target 1.0";
    EXPECT_GT(trained, 3 * control) << "with the term " << trained << ", without " << control;
}

TEST(Trainer, RefusesToOverwriteOrResumeNothing) {
    const fs::path dir = fs::path(::testing::TempDir()) / "trainer-refuse";
    fs::remove_all(dir);
    TrainConfig c = tinyConfig(dir);
    c.steps = 2;
    TrainRunOptions resume;
    resume.resume = true;
    EXPECT_THROW(runTraining(c, resume), UserError);
    runTraining(c, {});
    EXPECT_THROW(runTraining(c, {}), UserError) << "an existing checkpoint is never silently replaced";
    // A second run on the same directory while one holds it is refused.
    const int fd = ::open((dir / "run" / "lock").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    TrainRunOptions again;
    again.resume = true;
    try {
        runTraining(c, again);
        FAIL() << "a locked output directory was used";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("another training run"), std::string::npos) << e.what();
    }
    ::close(fd);
}

} // namespace
