// Issue 20, robustness 8: memory snapshots are pruned to a bounded set (the newest few, then
// exponentially spaced older ones), and every replay from what is left stays exact: reopening,
// rolling back to an old edit and the audit all reproduce the digests the edits recorded.
#include "fake_text_model.h"
#include "store_test_support.h"

#include "core/editor/editor.h"
#include "core/store/workspace.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

using namespace larimar;
using larimar::test::TempDir;

TEST(SnapshotPruning, KeepsTheNewestAndExponentiallySpacedOlderOnes) {
    std::vector<std::int64_t> ids;
    for (std::int64_t e = 25; e <= 2000; e += 25) ids.push_back(e); // 80 snapshots, every 25 edits
    const auto drop = snapshotsToDrop(ids);
    std::set<std::int64_t> kept(ids.begin(), ids.end());
    for (auto id : drop) kept.erase(id);
    // Newest 4, then the oldest of each age bucket [0,32), [32,64), [64,128), ... [1024,2048).
    EXPECT_EQ(kept, (std::set<std::int64_t>{25, 1000, 1500, 1750, 1875, 1925, 1950, 1975, 2000}));
    EXPECT_TRUE(snapshotsToDrop({3, 1, 2}).empty());
    EXPECT_TRUE(snapshotsToDrop({}).empty());
}

TEST(SnapshotPruning, ABoundedSetAfterManyEditsAndReplaysStayExact) {
    const char* env = std::getenv("LARIMAR_SNAPSHOT_EDITS"); // 2000 for the measurement
    const int edits = env ? std::atoi(env) : 300;
    TempDir dir;
    const auto path = dir.file("many.larimar");
    SyntheticModelOptions mo;
    // A 64 x 256 memory; LARIMAR_SNAPSHOT_SLOTS=256 LARIMAR_SNAPSHOT_WIDTH=2688 is the bundled model's.
    const char* slots = std::getenv("LARIMAR_SNAPSHOT_SLOTS");
    const char* width = std::getenv("LARIMAR_SNAPSHOT_WIDTH");
    mo.slots = slots ? std::atoi(slots) : 64;
    mo.width = width ? std::atoi(width) : 256;
    mo.name = "snapshot-model";
    mo.version = "1";
    auto model = std::make_shared<SyntheticTextModel>(mo);
    EditorOptions eo;
    eo.actor = "test";
    std::vector<std::string> digests(1); // digests[e]: after edit e
    {
        Editor ed(model, path, eo);
        for (int i = 0; i < edits; ++i) {
            const auto r = ed.write("Fact number " + std::to_string(i) + " is about the river Tamsa.");
            digests.push_back(r.memoryDigestAfter);
        }
        int snapshots = 0;
        for (std::int64_t e = ed.workspace().lastEditId().value_or(0); e > 0;) {
            const auto s = ed.workspace().latestSnapshot(e);
            if (!s) break;
            ++snapshots;
            e = s->editId - 1;
        }
        const int bound = kSnapshotsKeptRecent + static_cast<int>(std::log2(double(edits) / kSnapshotSpacing)) + 2;
        std::printf("%d edits: %d snapshots kept (bound %d)\n", edits, snapshots, bound);
        EXPECT_LE(snapshots, bound);
        EXPECT_GE(snapshots, kSnapshotsKeptRecent);
        EXPECT_TRUE(ed.workspace().verifyChain().ok);
    }
    std::printf("workspace after closing: %.1f MB\n", double(std::filesystem::file_size(path)) / 1e6);
    // A fresh open replays from the newest snapshot; rollbacks to old edits replay from the
    // nearest kept one. Each must reproduce the digest its edit recorded.
    Editor ed(model, path, eo);
    EXPECT_EQ(ed.memoryDigest(), digests.back());
    for (const std::int64_t target : {std::int64_t(edits / 3), std::int64_t(7), std::int64_t(edits - 30)}) {
        const auto r = ed.rollback(target, "check the replay");
        EXPECT_EQ(r.memoryDigestAfter, digests[static_cast<std::size_t>(target)]) << "rollback to " << target;
    }
    EXPECT_TRUE(ed.workspace().verifyChain().ok);
}
