// Signed edits (core/store/signing.h): Ed25519 round trip, key files and their mode, trust
// edits, and what verifyChain says about a chain an attacker rewrote consistently.
#include "core/store/signing.h"
#include "core/store/workspace.h"
#include "core/util/error.h"

#include "store_test_support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>

using namespace larimar;
using namespace larimar::test;
using ::testing::HasSubstr;

namespace {

std::string userErrorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const UserError& e) {
        return e.what();
    }
    return "(no UserError)";
}

WorkspaceOptions signedOptions(const SigningKey& key) {
    auto o = testOptions();
    o.signingKey = std::make_shared<SigningKey>(key);
    return o;
}

// What an attacker with the sqlite3 shell and this program's source can do: change a fact's
// text, then recompute its content digest, every edit's facts digest, hash and prev_hash, and
// the head in the meta table, so that the hash chain is consistent again.
void rewriteFactConsistently(const std::string& path, std::int64_t factId, const std::string& newText) {
    RawDb raw(path);
    raw.exec("UPDATE facts SET text = '" + newText + "' WHERE id = " + std::to_string(factId));
    {
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(raw.handle(),
                           "SELECT id, text, subject, relation, target, source, write_key, latent FROM facts", -1,
                           &st, nullptr);
        while (sqlite3_step(st) == SQLITE_ROW) {
            auto col = [&](int c) {
                const auto* p = static_cast<const char*>(sqlite3_column_blob(st, c));
                return std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
            };
            const auto digest = computeFactContentDigest(sqlite3_column_int64(st, 0), col(1), col(2), col(3),
                                                         col(4), col(5), col(6), col(7));
            sqlite3_stmt* up = nullptr;
            sqlite3_prepare_v2(raw.handle(), "UPDATE facts SET content_digest = ? WHERE id = ?", -1, &up, nullptr);
            sqlite3_bind_text(up, 1, digest.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(up, 2, sqlite3_column_int64(st, 0));
            sqlite3_step(up);
            sqlite3_finalize(up);
        }
        sqlite3_finalize(st);
    }
    std::string prev = kGenesisHash;
    const auto last = std::stoll(raw.text("SELECT max(id) FROM edits"));
    for (std::int64_t id = 1; id <= last; ++id) {
        const std::string w = " FROM edits WHERE id = " + std::to_string(id);
        const auto ids = nlohmann::json::parse(raw.text("SELECT fact_ids" + w));
        const auto states = nlohmann::json::parse(raw.text("SELECT fact_states" + w));
        FactsDigest fd;
        for (std::size_t i = 0; i < ids.size(); ++i)
            fd.add(ids[i].get<std::int64_t>(), states[i].get<std::string>(),
                   raw.text("SELECT content_digest FROM facts WHERE id = " + std::to_string(ids[i].get<std::int64_t>())));
        const auto factsDigest = fd.finish();
        std::string c[13];
        const char* names[] = {"op", "fact_ids", "fact_states", "facts_digest", "actor", "reason", "timestamp",
                               "model_id", "model_hash", "memory_digest_before", "memory_digest_after", "payload"};
        for (int i = 0; i < 12; ++i) c[i] = raw.text(std::string("SELECT ") + names[i] + w);
        c[3] = factsDigest;
        const auto hash = computeEditHash({id, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10],
                                           c[11], prev});
        raw.exec("UPDATE edits SET facts_digest = '" + factsDigest + "', prev_hash = '" + prev + "', hash = '" +
                 hash + "' WHERE id = " + std::to_string(id));
        prev = hash;
    }
    raw.exec("UPDATE meta SET value = '" + std::to_string(last) + " " + prev + "' WHERE key = 'audit.head'");
}

} // namespace

TEST(Signing, SignVerifyRoundTrip) {
    const auto key = SigningKey::generate();
    EXPECT_EQ(key.publicKey().hex.size(), 64u);
    const auto msg = editSignatureMessage(std::string(64, 'a'), kGenesisHash);
    const auto sig = key.sign(msg);
    EXPECT_EQ(sig.size(), 128u);
    EXPECT_TRUE(verifySignature(key.publicKey(), msg, sig));
    EXPECT_FALSE(verifySignature(key.publicKey(), msg + "x", sig)) << "another message";
    auto bad = sig;
    bad[0] = bad[0] == '0' ? '1' : '0';
    EXPECT_FALSE(verifySignature(key.publicKey(), msg, bad)) << "a changed signature";
    EXPECT_FALSE(verifySignature(SigningKey::generate().publicKey(), msg, sig)) << "another key";
    EXPECT_FALSE(verifySignature(key.publicKey(), msg, "zz")) << "malformed, no throw";

    // PEM round trips keep the key.
    const auto again = SigningKey::fromPem(key.privatePem(), "test");
    EXPECT_EQ(again.publicKey(), key.publicKey());
    EXPECT_TRUE(verifySignature(key.publicKey(), msg, again.sign(msg)));
    EXPECT_EQ(PublicKey::fromPem(key.publicKey().pem(), "test"), key.publicKey());
    EXPECT_THAT(userErrorOf([] { PublicKey::fromPem("not a key", "'x.pub'"); }), HasSubstr("'x.pub' is not a PEM"));
    EXPECT_THAT(userErrorOf([] { PublicKey::fromHex("12"); }), HasSubstr("64 hex digits"));
}

TEST(KeyStore, CreatesPrivateKeyWithMode0600AndRefusesLooserModes) {
    TempDir dir;
    KeyStore store(dir.file("keys"));
    const auto info = store.create("alice");
    struct stat st {};
    ASSERT_EQ(::stat(info.privateKeyPath.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(dir.file("keys").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_EQ(store.load("alice").publicKey(), info.publicKey);
    EXPECT_EQ(store.publicKey("alice"), info.publicKey);
    ASSERT_EQ(store.list().size(), 1u);
    EXPECT_EQ(store.list()[0].name, "alice");

    EXPECT_THAT(userErrorOf([&] { store.create("alice"); }), HasSubstr("already exists"));
    EXPECT_EQ(store.load("alice").publicKey(), info.publicKey) << "not overwritten";
    EXPECT_THAT(userErrorOf([&] { store.create("../evil"); }), HasSubstr("is not a key name"));
    EXPECT_THAT(userErrorOf([&] { store.load("bob"); }), HasSubstr("no key named 'bob'"));

    ::chmod(info.privateKeyPath.c_str(), 0644);
    EXPECT_THAT(userErrorOf([&] { store.load("alice"); }), HasSubstr("file mode is 0644"));
    ::chmod(info.privateKeyPath.c_str(), 0640);
    EXPECT_THAT(userErrorOf([&] { store.load("alice"); }), HasSubstr("chmod 600"));
    ::chmod(info.privateKeyPath.c_str(), 0600);
    EXPECT_NO_THROW(store.load("alice"));
}

TEST(KeyStore, DefaultDirectoryFollowsXdgConfigHome) {
    const char* old = std::getenv("XDG_CONFIG_HOME");
    const std::string saved = old ? old : "";
    ::setenv("XDG_CONFIG_HOME", "/tmp/larimar-xdg-test", 1);
    EXPECT_EQ(KeyStore::defaultDirectory(), "/tmp/larimar-xdg-test/larimar/keys");
    if (old) ::setenv("XDG_CONFIG_HOME", saved.c_str(), 1);
    else ::unsetenv("XDG_CONFIG_HOME");
}

TEST(SignedEdits, EditsAreSignedAndVerifyCountsThem) {
    TempDir dir;
    const auto path = dir.file("w.larimar");
    const auto key = SigningKey::generate();
    Workspace ws(path, signedOptions(key));
    const auto e1 = writeFacts(ws, {makeFact("Paris is in France", 1)});
    EXPECT_EQ(e1.signer, key.publicKey().hex);
    EXPECT_TRUE(verifySignature(key.publicKey(), editSignatureMessage(e1.hash, e1.prevHash), e1.signature));
    EXPECT_EQ(ws.edit(e1.id).signature, e1.signature) << "stored";
    auto r = ws.verifyChain();
    ASSERT_TRUE(r.ok) << r.message();
    EXPECT_EQ(r.signedUntrusted, 1);
    EXPECT_EQ(r.signedTrusted, 0);

    const auto trust = ws.trustKey(key.publicKey(), "alice", "alice", "start signing");
    EXPECT_EQ(trust.op, EditOp::Trust);
    EXPECT_EQ(trust.signer, key.publicKey().hex) << "the trust edit is itself signed";
    ASSERT_EQ(ws.trustedKeys().size(), 1u);
    EXPECT_EQ(ws.trustedKeys()[0].name, "alice");
    EXPECT_EQ(ws.trustedKeys()[0].editId, trust.id);
    writeFacts(ws, {makeFact("Rome is in Italy", 2)});
    r = ws.verifyChain();
    ASSERT_TRUE(r.ok) << r.message();
    EXPECT_EQ(r.signedTrusted, 3) << "edit 1 was signed by the key trusted later";
    EXPECT_EQ(r.unsignedEdits, 0);
    EXPECT_EQ(r.trustedKeys, 1);
    EXPECT_EQ(r.signaturesRequiredFrom, trust.id);
    EXPECT_THAT(r.message(), HasSubstr("3 by trusted keys, 0 by untrusted keys, 0 unsigned"));
    EXPECT_THAT(userErrorOf([&] { ws.trustKey(key.publicKey(), "again", "alice"); }), HasSubstr("already trusts"));
}

TEST(SignedEdits, AWorkspaceThatTrustsKeysRefusesUnsignedAndUntrustedEdits) {
    TempDir dir;
    const auto path = dir.file("w.larimar");
    const auto alice = SigningKey::generate();
    const auto bob = SigningKey::generate();
    {
        Workspace ws(path, signedOptions(alice));
        writeFacts(ws, {makeFact("a", 1)});
        // The first trusted key must be the signer's own.
        EXPECT_THAT(userErrorOf([&] { ws.trustKey(bob.publicKey(), "bob", "alice"); }),
                    HasSubstr("first key it trusts must be the signing key's own"));
        ws.trustKey(alice.publicKey(), "alice", "alice");
    }
    {
        Workspace ws(path, testOptions()); // no key
        EXPECT_THAT(userErrorOf([&] { writeFacts(ws, {makeFact("b", 2)}); }),
                    HasSubstr("accepts only edits signed by a key it trusts"));
        EXPECT_THAT(userErrorOf([&] { ws.setMeta("scope.threshold", "0.3"); }), HasSubstr("unsigned"));
        EXPECT_THAT(userErrorOf([&] { ws.trustKey(bob.publicKey(), "bob", "x"); }), HasSubstr("no signing key"));
    }
    {
        Workspace ws(path, signedOptions(bob));
        EXPECT_THAT(userErrorOf([&] { writeFacts(ws, {makeFact("b", 2)}); }), HasSubstr("untrusted key"));
        EXPECT_THAT(userErrorOf([&] { ws.trustKey(bob.publicKey(), "bob", "bob"); }),
                    HasSubstr("only a trusted key can trust another"));
    }
    {
        Workspace ws(path, signedOptions(alice));
        ws.trustKey(bob.publicKey(), "bob", "alice", "bob joins");
    }
    Workspace ws(path, signedOptions(bob));
    EXPECT_NO_THROW(writeFacts(ws, {makeFact("b", 2)}));
    const auto r = ws.verifyChain();
    ASSERT_TRUE(r.ok) << r.message();
    EXPECT_EQ(r.trustedKeys, 2);
    EXPECT_EQ(r.signedTrusted, 4);
}

TEST(SignedEdits, AConsistentlyRewrittenChainFailsAtTheFirstSignedEditItChanged) {
    TempDir dir;
    const auto path = dir.file("w.larimar");
    const auto key = SigningKey::generate();
    {
        Workspace ws(path, signedOptions(key));
        ws.trustKey(key.publicKey(), "alice", "alice");
        writeFacts(ws, {makeFact("The Eiffel Tower is in Paris", 1)});
        writeFacts(ws, {makeFact("The Colosseum is in Rome", 2)});
        ASSERT_TRUE(ws.verifyChain().ok);
    }
    rewriteFactConsistently(path, 1, "The Eiffel Tower is in Rome");
    {
        // The attack the hash chain alone cannot see: without signature columns, it passes.
        RawDb raw(path);
        const auto hash2 = raw.text("SELECT hash FROM edits WHERE id = 2");
        EXPECT_NE(hash2, "") << "rewritten";
    }
    Workspace ws(path, WorkspaceOptions{.create = false, .readOnly = true});
    auto r = ws.verifyChain();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.editId, 2);
    EXPECT_THAT(r.reason, HasSubstr("signature by trusted key"));
    EXPECT_THAT(r.reason, HasSubstr("does not match its hash"));

    // Stripping the signatures does not help: from the first trust edit on, unsigned edits fail.
    { RawDb(path).exec("UPDATE edits SET signer = '', signature = '' WHERE id >= 2"); }
    r = ws.verifyChain();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.editId, 2);
    EXPECT_THAT(r.reason, HasSubstr("it is unsigned, but from edit 1 on"));

    // Nor does re-signing with the attacker's own key.
    const auto attacker = SigningKey::generate();
    {
        RawDb raw(path);
        for (int id = 2; id <= 3; ++id) {
            const auto w = " FROM edits WHERE id = " + std::to_string(id);
            const auto sig = attacker.sign(editSignatureMessage(raw.text("SELECT hash" + w), raw.text("SELECT prev_hash" + w)));
            raw.exec("UPDATE edits SET signer = '" + attacker.publicKey().hex + "', signature = '" + sig +
                     "' WHERE id = " + std::to_string(id));
        }
    }
    r = ws.verifyChain();
    EXPECT_FALSE(r.ok);
    EXPECT_THAT(r.reason, HasSubstr("signed by the untrusted key"));

    // A tampered trust edit: its own signature no longer matches.
    { RawDb(path).exec("UPDATE edits SET signature = replace(signature, substr(signature, 1, 1), "
                       "CASE substr(signature, 1, 1) WHEN '0' THEN '1' ELSE '0' END) WHERE id = 1"); }
    r = ws.verifyChain();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.editId, 1);
}

TEST(SignedEdits, UnsignedRewriteStillPassesWithoutTrustedKeys) {
    // Documents the limit: a workspace that never trusted a key has only the hash chain (and
    // --expect-head) to go on; verify says the edits are unsigned.
    TempDir dir;
    const auto path = dir.file("w.larimar");
    {
        Workspace ws(path, testOptions());
        writeFacts(ws, {makeFact("x", 1)});
        writeFacts(ws, {makeFact("y", 2)});
    }
    rewriteFactConsistently(path, 1, "z");
    Workspace ws(path, testOptions());
    const auto r = ws.verifyChain();
    EXPECT_TRUE(r.ok) << r.message();
    EXPECT_EQ(r.unsignedEdits, 2);
    EXPECT_THAT(r.message(), HasSubstr("unsigned before edit 3"));
}

TEST(SignedEdits, ALegacyWorkspaceVerifiesAsUnsignedBeforeEditN) {
    TempDir dir;
    const auto path = dir.file("v3.larimar");
    std::string head;
    {
        Workspace ws(path, testOptions());
        writeFacts(ws, {makeFact("a", 1)});
        writeFacts(ws, {makeFact("b", 2)});
        ws.setMeta("scope.threshold", "0.4");
        head = ws.chainHead().toString();
    }
    { // back to the version-3 edits table (no signer/signature, no 'trust'), as an older build wrote it
        RawDb raw(path);
        raw.exec(R"sql(
CREATE TABLE edits_v3 (
    id INTEGER PRIMARY KEY,
    op TEXT NOT NULL CHECK (op IN ('write', 'forget', 'batch', 'rollback', 'setting')),
    fact_ids TEXT NOT NULL, fact_states TEXT NOT NULL, facts_digest TEXT NOT NULL, actor TEXT NOT NULL,
    reason TEXT NOT NULL, timestamp TEXT NOT NULL, model_id TEXT NOT NULL, model_hash TEXT NOT NULL,
    memory_digest_before TEXT NOT NULL, memory_digest_after TEXT NOT NULL, payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL) STRICT;
INSERT INTO edits_v3 SELECT id, op, fact_ids, fact_states, facts_digest, actor, reason, timestamp, model_id,
    model_hash, memory_digest_before, memory_digest_after, payload, prev_hash, hash FROM edits;
DROP TABLE edits;
ALTER TABLE edits_v3 RENAME TO edits;
CREATE INDEX edits_by_timestamp ON edits (timestamp);
CREATE INDEX edits_by_op ON edits (op);
PRAGMA user_version = 3;
)sql");
    }
    {
        // Read-only (an auditor's archived copy): not migrated, still verifies.
        WorkspaceOptions ro;
        ro.create = false;
        ro.readOnly = true;
        Workspace ws(path, ro);
        EXPECT_EQ(ws.openedSchemaVersion(), 3);
        const auto r = ws.verifyChain();
        ASSERT_TRUE(r.ok) << r.message();
        EXPECT_EQ(r.unsignedBefore, 4);
        EXPECT_THAT(r.message(), HasSubstr("unsigned before edit 4"));
        EXPECT_TRUE(ws.edit(1).signer.empty());
    }
    const auto key = SigningKey::generate();
    Workspace ws(path, signedOptions(key));
    EXPECT_EQ(ws.openedSchemaVersion(), 3);
    EXPECT_EQ(ws.chainHead().toString(), head) << "rows copied verbatim";
    ws.trustKey(key.publicKey(), "alice", "alice");
    writeFacts(ws, {makeFact("c", 3)});
    const auto r = ws.verifyChain(ChainHead::parse(head));
    ASSERT_TRUE(r.ok) << r.message();
    EXPECT_EQ(r.unsignedEdits, 3);
    EXPECT_EQ(r.signedTrusted, 2);
    EXPECT_EQ(r.unsignedBefore, 4);
    EXPECT_THAT(r.message(), HasSubstr("unsigned before edit 4"));
    EXPECT_EQ(RawDb(path).text("PRAGMA user_version"), std::to_string(Workspace::kSchemaVersion));
}

TEST(SignedEdits, ExportsCarryTheSignatures) {
    TempDir dir;
    const auto key = SigningKey::generate();
    Workspace ws(dir.file("w.larimar"), signedOptions(key));
    const auto e = writeFacts(ws, {makeFact("a", 1)});
    EXPECT_THAT(ws.exportHistoryCsv(), HasSubstr("hash,signer,signature\r\n"));
    EXPECT_THAT(ws.exportHistoryCsv(), HasSubstr(e.signature));
    EXPECT_THAT(ws.exportHistoryJson(), HasSubstr("\"signer\": \"" + key.publicKey().hex + "\""));
}
