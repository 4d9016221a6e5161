#pragma once
/// Workspace's private state, shared by workspace.cpp and history.cpp. Not installed, not
/// included outside core/store.
#include "core/store/sqlite_db.h"
#include "core/store/workspace.h"
#include "core/util/error.h"

#include <set>
#include <string>
#include <string_view>

namespace larimar {

/// Throws UserError unless text is strict UTF-8 without NUL bytes. SQLite would store other
/// bytes, but half the tools that read the file (and its own text functions) would not give
/// them back verbatim. field names the value in the message.
void checkText(std::string_view text, const char* field);

struct Workspace::Impl {
    Impl(const std::string& path, bool create, bool readOnly, bool immutable = false)
        : db(path, create, readOnly, immutable), readOnly(readOnly) {}

    sqlite::Database db;
    Clock clock;
    int openedVersion = 0;
    bool readOnly = false;
    bool verifyBeforeWrite = true;
    std::string actor; // for setting edits made through setMeta
    std::shared_ptr<const SigningKey> signingKey;
    // PRAGMA data_version at the last audit that passed: while it is unchanged no other
    // connection has committed, and this one only appends valid edits.
    std::optional<std::int64_t> verifiedDataVersion;
    bool inTx = false;
    // Facts inserted or changed in the open transaction and not yet listed by an edit.
    std::set<std::int64_t> pending;

    std::string now() const {
        return formatTimestamp(clock ? clock() : std::chrono::system_clock::now());
    }

    void requireTransaction(const char* call) const {
        if (!inTx)
            throw Error(std::string("Workspace::") + call +
                        " needs an open transaction (Workspace::begin)");
    }

    std::optional<std::string> meta(const std::string& key) {
        auto& st = db.cached("SELECT value FROM meta WHERE key = ?");
        st.bind(1, key);
        std::optional<std::string> out;
        if (st.step()) out = st.text(0);
        st.reset();
        return out;
    }

    void setMeta(const std::string& key, const std::string& value) {
        checkText(key, "meta key");
        checkText(value, "meta value");
        db.cached("INSERT INTO meta (key, value) VALUES (?, ?) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(1, key)
            .bind(2, value)
            .run();
    }

    std::optional<std::int64_t> lastEditId() {
        auto& st = db.cached("SELECT max(id) FROM edits");
        std::optional<std::int64_t> out;
        if (st.step()) out = st.optInt64(0);
        st.reset();
        return out;
    }

    std::int64_t dataVersion() {
        auto& st = db.cached("PRAGMA data_version");
        const std::int64_t v = st.step() ? st.int64(0) : -1;
        st.reset();
        return v;
    }

    /// "signer, signature", or two empty strings for a workspace opened read-only from before
    /// schema 4 (not migrated, so its edits have no such columns: they read as unsigned).
    const char* signatureColumns() const {
        return readOnly && openedVersion < 4 ? "'', ''" : "signer, signature";
    }

    /// The keys trust edits added (Workspace::trustedKeys).
    std::vector<TrustedKey> trustedKeys();

    /// The audit walk behind Workspace::verifyChain (history.cpp); snapshots: also check the
    /// snapshot checksums (the write guard leaves them to latestSnapshot, which checks on load).
    AuditReport verify(const std::function<void(std::int64_t, std::int64_t)>& progress,
                       const std::atomic<bool>* cancel, bool snapshots);

    /// The write guard of Workspace::begin: throws UserError when the chain does not verify.
    void requireVerifiedChain();

    void endTransaction() {
        inTx = false;
        pending.clear();
    }
};

} // namespace larimar
