// Issue 20.5 and 20.6 in core: the HTML audit report (every edit, its signer, hostile text
// escaped, the verification result computed when it is made) and edit bundles (a round trip
// between two workspaces as one audited edit naming the source; tampered bundles refused).
#include "fake_text_model.h"
#include "store_test_support.h"

#include "core/editor/edit_bundle.h"
#include "core/editor/editor.h"
#include "core/store/audit_report.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace larimar;
using namespace larimar::test;
using ::testing::HasSubstr;
using ::testing::AllOf;
using ::testing::Not;
using ::testing::ThrowsMessage;

namespace {

const std::string kHostile = "<script>alert('x')</script> & \"quotes\" live in Paris.";

class AuditBundle : public ::testing::Test {
protected:
    void SetUp() override { m_key = std::make_shared<SigningKey>(SigningKey::generate()); }

    std::unique_ptr<Editor> open(const std::string& name, std::shared_ptr<TextModel> model = makeFakeModel(),
                                 bool sign = true) {
        EditorOptions o;
        o.actor = "alice";
        o.workspace = testOptions();
        o.workspace.actor = "alice";
        if (sign) o.workspace.signingKey = m_key;
        return std::make_unique<Editor>(std::move(model), m_dir.file(name), o);
    }
    /// A signed source: a trust edit, a hostile write, a batch, a setting and a forget.
    std::unique_ptr<Editor> source() {
        auto ed = open("src.larimar");
        ed->workspace().trustKey(m_key->publicKey(), "Alice", "alice", "start signing");
        ed->write(kHostile, {}, "hostile <b>reason</b>");
        ed->writeBatch({{"The Eiffel Tower is in Rome.", "", "", "", "a.csv:1"},
                        {"The Louvre is in Madrid.", "", "", "", "a.csv:2"}},
                       "batch");
        ed->workspace().setMeta("scope.threshold", "0.7");
        ed->forget({2}, "wrong");
        return ed;
    }

    TempDir m_dir;
    std::shared_ptr<SigningKey> m_key;
};

TEST_F(AuditBundle, ReportShowsEveryEditSignerEscapedTextAndVerification) {
    auto ed = source();
    AuditReportOptions o;
    o.generatedAt = "2024-06-01T00:00:00.000Z";
    const auto doc = makeAuditReport(ed->workspace(), o);
    const auto& h = doc.html;
    EXPECT_TRUE(doc.verification.ok) << doc.verification.message();
    EXPECT_EQ(doc.edits, 5);
    EXPECT_THAT(h, HasSubstr("PASSED"));
    EXPECT_THAT(h, HasSubstr(doc.verification.head->toString()));
    EXPECT_THAT(h, HasSubstr(ed->model().weightsHash()));
    for (int id = 1; id <= 5; ++id) EXPECT_THAT(h, HasSubstr("<tr><td>" + std::to_string(id) + "</td>"));
    EXPECT_THAT(h, HasSubstr("<span class=\"trusted\">trusted</span>: Alice"));
    EXPECT_THAT(h, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;"));
    EXPECT_THAT(h, HasSubstr("hostile &lt;b&gt;reason&lt;/b&gt;"));
    EXPECT_THAT(h, Not(HasSubstr("<script")));
    EXPECT_THAT(h, Not(HasSubstr("<b>reason")));
    EXPECT_THAT(h, HasSubstr("scope.threshold"));
    EXPECT_THAT(h, HasSubstr("removed (1):"));
    EXPECT_THAT(h, HasSubstr("2024-06-01T00:00:00.000Z"));
    // Self-contained: nothing to fetch.
    EXPECT_THAT(h, Not(HasSubstr("http:")));
    EXPECT_THAT(h, Not(HasSubstr("https:")));
    EXPECT_THAT(h, Not(HasSubstr("url(")));
    EXPECT_THAT(h, Not(HasSubstr("src=")));
    EXPECT_THAT(h, Not(HasSubstr("<link")));
}

TEST_F(AuditBundle, ReportOfATamperedWorkspaceSaysFailed) {
    const auto path = m_dir.file("src.larimar");
    source().reset();
    RawDb(path).exec("UPDATE facts SET text = 'The Louvre is in Lisbon.' WHERE id = 3");
    WorkspaceOptions o;
    o.readOnly = true;
    Workspace ws(path, o);
    const auto doc = makeAuditReport(ws);
    EXPECT_FALSE(doc.verification.ok);
    EXPECT_THAT(doc.html, HasSubstr("FAILED"));
    EXPECT_THAT(doc.html, Not(HasSubstr("PASSED")));
    EXPECT_THAT(doc.html, HasSubstr("no trustworthy head"));
    EXPECT_THAT(doc.html, HasSubstr("not verified"));
    EXPECT_THAT(doc.html, HasSubstr("Lisbon")); // shown as stored
}

TEST_F(AuditBundle, RoundTripWritesOneAuditedEditNamingTheSource) {
    auto src = source();
    const auto bundle = makeEditBundle(src->workspace(), {}, {"alice", m_key.get(), ""});
    EXPECT_EQ(bundle.facts, 2); // written now: the hostile fact and fact 3 (fact 2 was forgotten)
    EXPECT_EQ(bundle.edits, 2);
    const auto b = readEditBundle(bundle.json, "test bundle");
    EXPECT_EQ(b.signedEdits, 2);
    EXPECT_EQ(b.exporterKey, m_key->publicKey().hex);
    EXPECT_EQ(b.sourceHead.toString(), src->workspace().chainHead().toString());

    // Another model: the facts are text and are encoded anew; the edit says so.
    auto dst = open("dst.larimar", makeFakeModel("other-model"), false);
    dst->write("Something else entirely.");
    BundleApplyOptions ao;
    ao.reason = "sharing";
    const auto r = applyEditBundle(*dst, b, ao);
    EXPECT_TRUE(r.reEncoded);
    EXPECT_EQ(r.edit.op, EditOp::Batch);
    EXPECT_EQ(r.edit.factIds.size(), 2u);
    const Edit e = dst->workspace().edit(r.edit.editId);
    EXPECT_EQ(e.id, 2);
    EXPECT_THAT(e.reason, HasSubstr("sharing; applied bundle sha256:" + b.sha256));
    EXPECT_THAT(e.reason, HasSubstr(src->workspace().path()));
    EXPECT_THAT(e.reason, HasSubstr("re-encoded"));
    EXPECT_EQ(dst->fact(r.edit.factIds[0]).text, kHostile);
    EXPECT_EQ(dst->fact(r.edit.factIds[1]).text, "The Louvre is in Madrid.");
    EXPECT_THAT(dst->fact(r.edit.factIds[1]).source, HasSubstr("fact 3 of " + src->workspace().path() + " (a.csv:2)"));
    EXPECT_TRUE(dst->verify().ok);
    // The same bundle again would write duplicates: refused, nothing written.
    EXPECT_THAT([&] { applyEditBundle(*dst, b); },
                ThrowsMessage<UserError>(HasSubstr("already written here")));
    EXPECT_EQ(dst->lastEditId(), 2);
}

TEST_F(AuditBundle, SelectionByEdit) {
    auto src = source();
    const auto b = readEditBundle(makeEditBundle(src->workspace(), {{3}, {}}).json, "b");
    ASSERT_EQ(b.facts.size(), 2u); // edit 3 (the batch) wrote facts 2 and 3
    EXPECT_EQ(b.facts[0].id, 2);
    EXPECT_TRUE(b.exporterKey.empty());
    EXPECT_THAT([&] { makeEditBundle(src->workspace(), {{5}, {}}); },
                ThrowsMessage<UserError>(HasSubstr("edit 5 (forget) wrote no fact")));
    EXPECT_THAT([&] { makeEditBundle(src->workspace(), {{}, {99}}); },
                ThrowsMessage<UserError>(HasSubstr("no fact with id 99")));
}

TEST_F(AuditBundle, TamperedBundlesAreRefused) {
    auto src = source();
    const auto good = nlohmann::json::parse(makeEditBundle(src->workspace(), {{}, {3}}, {"alice", m_key.get(), ""}).json);
    const auto refused = [](const nlohmann::json& j, const std::string& why) {
        EXPECT_THAT([&] { readEditBundle(j.dump(1), "b"); },
                    ThrowsMessage<UserError>(AllOf(HasSubstr(why), HasSubstr("changed after it was made"))))
            << why;
    };
    auto j = good;
    j["facts"][0]["text"] = "The Louvre is in Berlin.";
    j.erase("exporter"); // without the bundle signature, the fact digest catches it
    refused(j, "fact 3: its content does not match the digest edit 3 recorded");
    j = good;
    j.erase("exporter");
    j["edits"][0]["reason"] = "a better reason";
    refused(j, "edit 3: its hash does not match its content");
    j = good;
    j["source"]["workspace"] = "/elsewhere.larimar";
    refused(j, "the bundle's signature by key");
    j = good;
    j.erase("exporter");
    // A consistent rewrite of the edit (new hash) still fails its signature.
    j["edits"][0]["reason"] = "rewritten";
    const auto& e = j["edits"][0];
    const std::string hash = computeEditHash(
        {e["id"].get<std::int64_t>(), e["op"].get<std::string>(), e["fact_ids"].dump(), e["fact_states"].dump(),
         e["facts_digest"].get<std::string>(), e["actor"].get<std::string>(), e["reason"].get<std::string>(),
         e["timestamp"].get<std::string>(), e["model_id"].get<std::string>(), e["model_hash"].get<std::string>(),
         e["memory_digest_before"].get<std::string>(), e["memory_digest_after"].get<std::string>(),
         e["payload"].get<std::string>(), e["prev_hash"].get<std::string>()});
    j["edits"][0]["hash"] = hash;
    refused(j, "edit 3: its signature by key");
    EXPECT_THAT([&] { readEditBundle("{\"format\": \"other\"}", "b"); },
                ThrowsMessage<UserError>(HasSubstr("not a Larimar bundle")));
    EXPECT_NO_THROW(readEditBundle(good.dump(1), "b"));
}

TEST_F(AuditBundle, RefusesToBundleAChangedHistory) {
    const auto path = m_dir.file("src.larimar");
    source().reset();
    RawDb(path).exec("UPDATE edits SET reason = 'other' WHERE id = 2");
    WorkspaceOptions o;
    o.readOnly = true;
    Workspace ws(path, o);
    EXPECT_THAT([&] { makeEditBundle(ws, {}); }, ThrowsMessage<UserError>(HasSubstr("does not verify")));
}

} // namespace
