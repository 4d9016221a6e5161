// Several writers on one workspace (issue 20, robustness 3): a busy workspace is a retryable
// UserError (CLI exit 1), not an internal "database is locked"; an editor that catches up with
// another process's edits inside its write transaction leaves its scope detector (whose
// embedding cache has a connection of its own, which would wait for that transaction's lock)
// alone until the commit; and a single write finishes quickly while another process imports.
#include "fake_text_model.h"
#include "store_test_support.h"

#include "core/editor/editor.h"
#include "core/scope/scope_detectors.h"
#include "core/scope/sentence_encoder.h"
#include "core/store/fact_embeddings.h"
#include "core/util/error.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <sys/wait.h>
#include <unistd.h>

using namespace larimar;
using larimar::test::TempDir;
using larimar::test::testOptions;

namespace {

/// A sentence encoder for tests: a bag of hashed words, unit length. Fast and deterministic.
class WordHashEncoder : public SentenceEncoder {
public:
    std::vector<std::vector<float>> embed(const std::vector<std::string>& sentences) const override {
        std::vector<std::vector<float>> out;
        for (const auto& s : sentences) {
            std::vector<float> v(static_cast<std::size_t>(dimension()), 0.0f);
            std::size_t start = 0;
            while (start < s.size()) {
                const auto end = std::min(s.size(), s.find(' ', start));
                const auto word = s.substr(start, end - start);
                if (!word.empty()) v[std::hash<std::string>{}(word) % v.size()] += 1.0f;
                start = end + 1;
            }
            float n = 0;
            for (float x : v) n += x * x;
            n = n > 0 ? std::sqrt(n) : 1.0f;
            for (float& x : v) x /= n;
            out.push_back(std::move(v));
        }
        return out;
    }
    int dimension() const override { return 16; }
    std::string id() const override { return "word-hash-test"; }
    bool isCommonWord(const std::string&) const override { return false; }
};

/// An editor whose detector keeps no embeddings (the default stand-in): its facts reach the
/// other editors' caches only when those embed them.
std::unique_ptr<Editor> plainEditor(const std::string& path, const std::string& actor) {
    EditorOptions eo;
    eo.actor = actor;
    return std::make_unique<Editor>(larimar::test::makeFakeModel(), path, eo);
}

std::unique_ptr<Editor> editorWithEsd(const std::string& path, const std::string& actor) {
    EsdOptions o;
    o.workspacePath = path;
    o.scoring = EsdScore::Cosine;
    EditorOptions eo;
    eo.actor = actor;
    eo.scope = std::make_shared<EsdScopeDetector>(std::make_shared<WordHashEncoder>(), o);
    return std::make_unique<Editor>(larimar::test::makeFakeModel(), path, eo);
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

TEST(WorkspaceConcurrency, ABusyWorkspaceIsARetryableUserError) {
    TempDir dir;
    const auto path = dir.file("busy.larimar");
    Workspace holder(path, testOptions());
    WorkspaceOptions quick = testOptions();
    quick.busyTimeout = std::chrono::milliseconds(50);
    Workspace other(path, quick);
    auto tx = holder.begin();
    try {
        other.begin();
        FAIL() << "a second writer got the lock";
    } catch (const UserError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("busy: another program is writing to it"), std::string::npos) << msg;
        EXPECT_NE(msg.find("try again"), std::string::npos) << msg;
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
    }
    tx.rollback();
    EXPECT_NO_THROW(other.begin().rollback());
}

TEST(WorkspaceConcurrency, CatchingUpInsideTheWriteLeavesTheEmbeddingCacheAloneUntilTheCommit) {
    TempDir dir;
    const auto path = dir.file("two-writers.larimar");
    auto a = editorWithEsd(path, "alice");
    auto b = plainEditor(path, "bob");
    b->write("Bob wrote that the river Tamsa flows north.");
    // a's write finds b's edit inside its transaction. Before the fix it reset the detector
    // there, whose cache then waited the 5 s busy timeout for a's own lock (and lost b's vector).
    const auto t0 = std::chrono::steady_clock::now();
    const EditResult r = a->write("Alice wrote that the Tamsa bridge is made of oak.");
    const double took = secondsSince(t0);
    EXPECT_LT(took, 1.0) << "the write waited on its own lock";
    EXPECT_EQ(r.editId, 2);
    // a's detector knows both facts, and the cache holds a vector for each.
    const auto q = a->query("Bob wrote that the river Tamsa flows north.");
    ASSERT_TRUE(q.scope.nearestFactId.has_value());
    EXPECT_EQ(*q.scope.nearestFactId, 1);
    EXPECT_NEAR(q.scope.score, 1.0, 1e-6);
    FactEmbeddingCache cache(path);
    EXPECT_EQ(cache.count("word-hash-test"), 2);
    // And a forget that catches up does the same.
    b->write("Bob wrote that the Tamsa has three bridges.");
    const auto t1 = std::chrono::steady_clock::now();
    a->forget({1}, "wrong river");
    EXPECT_LT(secondsSince(t1), 1.0);
    const auto q2 = a->query("Bob wrote that the Tamsa has three bridges.");
    ASSERT_TRUE(q2.scope.nearestFactId.has_value());
    EXPECT_EQ(*q2.scope.nearestFactId, 3);
    EXPECT_NEAR(q2.scope.score, 1.0, 1e-6);
    EXPECT_EQ(cache.count("word-hash-test"), 3);
}

// The child imports
// 3,000 facts in 30 batch edits of 100 while the parent writes single facts, each of which must
// succeed (never "database is locked") and none of which may wait anywhere near the timeout.
TEST(WorkspaceConcurrency, SingleWritesStayFastWhileAnotherProcessImports) {
    TempDir dir;
    const auto path = dir.file("import.larimar");
    { auto init = editorWithEsd(path, "setup"); } // create before fork: no connection crosses it
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        int rc = 0;
        try {
            auto importer = editorWithEsd(path, "importer");
            const char go = 'g';
            if (write(ready[1], &go, 1) != 1) _exit(3);
            for (int batch = 0; batch < 30; ++batch) {
                std::vector<FactRecord> records;
                for (int i = 0; i < 100; ++i) {
                    FactRecord rec;
                    rec.text = "Imported fact " + std::to_string(batch * 100 + i) + " is about the Tamsa.";
                    records.push_back(rec);
                }
                importer->writeBatch(records, "import");
            }
        } catch (const std::exception& e) {
            fprintf(stderr, "importer: %s\n", e.what());
            rc = 1;
        }
        _exit(rc);
    }
    close(ready[1]);
    char go = 0;
    ASSERT_EQ(read(ready[0], &go, 1), 1);
    close(ready[0]);
    auto writer = editorWithEsd(path, "writer");
    double worst = 0;
    int writes = 0;
    int status = 0;
    for (bool importing = true; importing;) {
        importing = waitpid(pid, &status, WNOHANG) == 0; // one write after the import, at least
        const auto t0 = std::chrono::steady_clock::now();
        EXPECT_NO_THROW(writer->write("Single write number " + std::to_string(writes) + "."));
        worst = std::max(worst, secondsSince(t0));
        ++writes;
    }
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    std::printf("single writes during the import: %d, slowest %.3f s\n", writes, worst);
    EXPECT_GT(writes, 0);
    EXPECT_LT(worst, 2.0);
    Workspace ws(path, testOptions());
    EXPECT_EQ(ws.factCount(), 3000 + writes);
    EXPECT_TRUE(ws.verifyChain().ok);
}
