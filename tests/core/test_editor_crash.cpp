// Crash safety of the editor: a child process runs batches, single writes, forgets and undos
// through the Editor (fake model) and is killed with SIGKILL at random moments, many times.
// After every kill the workspace must open (which itself checks the restored memory against
// the last edit's digest), verify, hold only whole batches, and its memory must equal the
// least-squares memory rebuilt from scratch from the facts written now.
#include "fake_text_model.h"
#include "store_test_support.h"

#include "core/editor/editor.h"
#include "core/util/error.h"

#include <csignal>
#include <cstdio>
#include <sys/wait.h>
#include <thread>

using namespace larimar;
using namespace larimar::test;

namespace {

[[noreturn]] void editorChild(const std::string& path, unsigned seed) {
    try {
        EditorOptions o;
        o.actor = "crash-child";
        o.encodeChunk = 8;
        Editor ed(makeFakeModel(), path, o);
        std::mt19937 rng(seed);
        for (unsigned round = 0;; ++round) {
            const unsigned what = rng() % 10;
            if (what < 5) {
                std::vector<FactRecord> batch(1 + rng() % 40);
                for (std::size_t i = 0; i < batch.size(); ++i)
                    batch[i].text = "seed " + std::to_string(seed) + " round " + std::to_string(round) + " fact " +
                                    std::to_string(i);
                ed.writeBatch(batch, "crash batch");
            } else if (what < 7) {
                ed.write("single " + std::to_string(seed) + "/" + std::to_string(round));
            } else if (what < 9) {
                FactFilter f;
                f.state = FactState::Written;
                const auto written = ed.facts(f);
                if (written.empty()) continue;
                std::vector<std::int64_t> ids;
                const int count = 1 + static_cast<int>(rng() % 3);
                for (int i = 0; i < count; ++i)
                    ids.push_back(written[rng() % written.size()].id);
                ed.forget(ids, "crash forget");
            } else if (ed.lastEditId()) {
                ed.undoLast("crash undo");
            }
        }
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "editor child failed: %s\n", ex.what());
        std::_Exit(3);
    }
}

TEST(EditorCrash, KilledEditorsLeaveWholeEditsAndAConsistentMemory) {
    TempDir dir;
    const auto path = dir.file("crash.larimar");
    std::mt19937 rng(20240502);
    constexpr int kKills = 60;
    std::int64_t previousEdits = 0;
    int killsWithProgress = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int kill = 0; kill < kKills; ++kill) {
        // No workspace connection may be open in this process across fork().
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) editorChild(path, static_cast<unsigned>(rng()) + static_cast<unsigned>(kill));
        std::this_thread::sleep_for(std::chrono::milliseconds(40 + rng() % 160));
        ::kill(pid, SIGKILL);
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited by itself (status " << status
                                         << "); see its message above";

        std::unique_ptr<Editor> ed;
        ASSERT_NO_THROW(ed = std::make_unique<Editor>(makeFakeModel(), path)) << "kill " << kill;
        const AuditReport report = ed->verify();
        ASSERT_TRUE(report.ok) << "kill " << kill << ": " << report.message();

        // Whole batches only: every batch edit lists as many facts as it was given, and every
        // fact belongs to an edit.
        const auto edits = ed->edits();
        for (const Edit& e : edits) {
            if (e.op == EditOp::Batch) {
                ASSERT_EQ(static_cast<std::int64_t>(e.factIds.size()), e.payload.at("count").get<std::int64_t>());
            }
        }
        for (const Fact& f : ed->facts()) ASSERT_TRUE(f.createdEdit) << "fact " << f.id << " has no edit";

        // The restored memory equals the memory rebuilt from the committed written facts (of
        // the page the editor shows, for a paged memory).
        FactFilter f;
        f.state = FactState::Written;
        f.withVectors = true;
        std::vector<Fact> facts;
        for (auto& fact : ed->facts(f))
            if (ed->memoryBackend().pageOf(fact.id) == ed->visiblePage()) facts.push_back(std::move(fact));
        const int k = ed->slots(), c = ed->width();
        Eigen::MatrixXd keys(static_cast<Eigen::Index>(facts.size()), k),
            z(static_cast<Eigen::Index>(facts.size()), c);
        for (std::size_t i = 0; i < facts.size(); ++i) {
            for (int j = 0; j < k; ++j) keys(static_cast<Eigen::Index>(i), j) = facts[i].writeKey[static_cast<std::size_t>(j)];
            for (int j = 0; j < c; ++j) z(static_cast<Eigen::Index>(i), j) = facts[i].latent[static_cast<std::size_t>(j)];
        }
        const Eigen::MatrixXd rebuilt = EpisodicMemory::leastSquaresMemory(Eigen::MatrixXd::Zero(k, c), keys, z,
                                                                           ed->memory().effectiveLambda());
        const double scale = std::max({1e-300, rebuilt.norm(), ed->memoryMatrix().norm()});
        ASSERT_LT((ed->memoryMatrix() - rebuilt).norm() / scale, 1e-9)
            << "kill " << kill << ", " << facts.size() << " facts written, " << edits.size() << " edits";

        const auto n = static_cast<std::int64_t>(edits.size());
        if (n > previousEdits) ++killsWithProgress;
        previousEdits = n;
    }
    EXPECT_GE(killsWithProgress, kKills / 2) << "the child made too little progress to test much";
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%d kills, %lld edits in the end, %.1f s\n", kKills, static_cast<long long>(previousEdits), seconds);
}

} // namespace
