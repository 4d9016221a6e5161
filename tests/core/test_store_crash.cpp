// Crash safety of the workspace: a child process writes batches (and forgets, and snapshots)
// in transactions in a loop and is killed with SIGKILL at random moments, many times. After
// every kill the workspace must open, verify, and hold only whole batches.
#include "store_test_support.h"

#include "core/util/error.h"

#include <csignal>
#include <cstdlib>
#include <poll.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace larimar;
using namespace larimar::test;

namespace {

// The size of the n-th batch (1-based) is a function of n alone, so the parent knows what a
// whole batch looks like without talking to the child.
std::size_t batchSize(std::int64_t n) { return 1 + static_cast<std::size_t>((n * 7919) % 97) * 3; }

// readyFd: the child writes one byte to it after its first commit, so the parent can kill it
// mid-work however slowly a loaded machine opens the workspace.
[[noreturn]] void writerChild(const std::string& path, unsigned seed, int readyFd) {
    try {
        Workspace ws(path); // system clock, default busy timeout
        std::mt19937 rng(seed);
        EditFilter batches;
        batches.op = EditOp::Batch;
        auto seq = static_cast<std::int64_t>(ws.edits(batches).size());
        for (unsigned round = 0;; ++round) {
            const auto last = ws.lastEditId().value_or(0);
            auto tx = ws.begin();
            Edit e;
            e.actor = "crash-writer";
            e.memoryDigestBefore = "m" + std::to_string(last);
            e.memoryDigestAfter = "m" + std::to_string(last + 1);
            if (round % 5 == 4) {
                FactFilter f;
                f.state = FactState::Written;
                f.limit = 3;
                f.offset = rng() % 50;
                std::vector<std::int64_t> ids;
                for (const auto& fact : ws.facts(f)) ids.push_back(fact.id);
                ws.setFactState(ids, FactState::Forgotten);
                e.op = EditOp::Forget;
                e.factIds = ids;
            } else {
                ++seq;
                std::vector<Fact> facts;
                for (std::size_t i = 0; i < batchSize(seq); ++i)
                    facts.push_back(makeFact("batch " + std::to_string(seq) + " fact " + std::to_string(i),
                                             static_cast<int>(i)));
                e.op = EditOp::Batch;
                e.factIds = ws.insertFacts(facts);
                e.payload = {{"seq", seq}, {"batch_size", facts.size()}};
            }
            const auto stored = ws.appendEdit(e);
            if (round % 3 == 0)
                ws.putSnapshot(stored.id, std::vector<std::uint8_t>(4096, static_cast<std::uint8_t>(round)),
                               stored.memoryDigestAfter);
            tx.commit();
            if (round == 0) {
                const char byte = 1;
                (void)!::write(readyFd, &byte, 1);
                ::close(readyFd);
            }
        }
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "writer child failed: %s\n", ex.what());
        std::_Exit(3);
    }
}

} // namespace

TEST(WorkspaceCrash, KilledWritersLeaveOnlyWholeBatches) {
    TempDir dir;
    const auto path = dir.file("crash.larimar");
    std::mt19937 rng(20240501);
    constexpr int kKills = 30;
    std::int64_t previousEdits = 0;
    int roundsWithProgress = 0;
    for (int kill = 0; kill < kKills; ++kill) {
        int ready[2];
        ASSERT_EQ(::pipe(ready), 0);
        // No connection may be open in this process across fork().
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(ready[0]);
            writerChild(path, static_cast<unsigned>(kill), ready[1]);
        }
        ::close(ready[1]);
        if (kill % 5 == 0) {
            // Every fifth kill lands while the child may still be opening or migrating.
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
        } else {
            // The rest land mid-batch: after the first commit, 0-100 ms into the loop. The wait
            // for that commit is generous because CI machines run other tests beside this one.
            pollfd p{ready[0], POLLIN, 0};
            ASSERT_EQ(::poll(&p, 1, 60000), 1) << "the writer made no commit in 60 s (kill " << kill << ")";
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % 100000));
        }
        ASSERT_EQ(::kill(pid, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ::close(ready[0]); // only now: a child writing to a closed pipe would die of SIGPIPE
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "the writer ended by itself (status " << status << ") before kill " << kill;

        Workspace ws(path);
        const auto report = ws.verifyChain();
        ASSERT_TRUE(report.ok) << "after kill " << kill << ": " << report.message();

        std::int64_t seq = 0;
        std::size_t batchFacts = 0;
        const auto edits = ws.edits();
        for (const auto& e : edits) {
            if (e.op != EditOp::Batch) continue;
            ++seq;
            ASSERT_EQ(e.payload.value("seq", std::int64_t(-1)), seq) << "edit " << e.id;
            ASSERT_EQ(e.factIds.size(), batchSize(seq)) << "partial batch in edit " << e.id;
            batchFacts += e.factIds.size();
        }
        // Nothing outside whole batches: every fact belongs to one.
        ASSERT_EQ(ws.factCount(), static_cast<std::int64_t>(batchFacts)) << "after kill " << kill;
        if (const auto snap = ws.latestSnapshot()) {
            ASSERT_EQ(snap->state.size(), 4096u);
            ASSERT_EQ(snap->digest, ws.edit(snap->editId).memoryDigestAfter);
        }
        if (static_cast<std::int64_t>(edits.size()) > previousEdits) ++roundsWithProgress;
        previousEdits = static_cast<std::int64_t>(edits.size());
    }
    // The test means something only if the writer was usually killed mid-work (four kills in
    // five come after a commit of that round).
    EXPECT_GE(roundsWithProgress, kKills * 4 / 5);
    std::printf("crash test: %d kills, %lld edits committed\n", kKills,
                static_cast<long long>(previousEdits));
}
