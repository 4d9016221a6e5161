// The MQuAKE reader (core/eval/datasets.h) on the 20-case sample and on broken records, the
// alias judge and answer extraction, and the runner (core/eval/mquake.h) on a scripted model
// whose every continuation is set here, so each rate is checked against a value worked out by hand.
#include "test_eval_model.h"

#include "core/eval/datasets.h"
#include "core/eval/mquake.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

using namespace larimar;
using larimar::test::ScriptedModel;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

const std::string kSample = LARIMAR_TEST_DATA_DIR "/datasets/mquake-20.json";

std::string writeTemp(const std::string& name, const std::string& content) {
    const std::string path = ::testing::TempDir() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const UserError& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(MquakeReader, ReadsEveryFieldOfTheSample) {
    EXPECT_EQ(detectFormat(kSample), DatasetFormat::Mquake);
    EXPECT_EQ(formatFromName("mquake"), DatasetFormat::Mquake);
    const auto cases = loadMquakeCases(kSample);
    ASSERT_EQ(cases.size(), 20u);
    const MquakeCase& c = cases[0];
    EXPECT_EQ(c.caseId, "7417");
    EXPECT_EQ(c.source, "mquake-20.json: record 1");
    ASSERT_EQ(c.edits.size(), 4u);
    const EditCase& e = c.edits[0].rewrite;
    EXPECT_EQ(e.subject, "Hey Jude");
    EXPECT_EQ(e.prompt, "Hey Jude was performed by");
    EXPECT_EQ(e.targetNew, "Madonna");
    EXPECT_EQ(e.targetTrue, "The Beatles");
    EXPECT_EQ(e.editText(), "Hey Jude was performed by Madonna");
    EXPECT_EQ(c.edits[0].question, "Who performed Hey Jude?");
    EXPECT_THAT(c.edits[0].newAliases, ElementsAre("Madonna Ciccone", "Madonna Louise Ciccone", "Madonna Louise Veronica Ciccone"));
    EXPECT_EQ(c.edits[1].rewrite.editText(), "The director of Madonna is Narendra Modi");
    EXPECT_EQ(c.edits[3].rewrite.editText(), "The official language of Australia is Arabic");
    ASSERT_EQ(c.questions.size(), 3u);
    EXPECT_THAT(c.questions[0], HasSubstr("official language of the country of citizenship"));
    EXPECT_EQ(c.answer, "English");
    EXPECT_THAT(c.answerAliases, ElementsAre("en", "eng", "English language"));
    EXPECT_EQ(c.newAnswer, "Arabic");
    EXPECT_THAT(c.newAnswerAliases, ElementsAre("ar", "Arabian language", "Arabic language"));
    ASSERT_EQ(c.singleHops.size(), 4u);
    EXPECT_EQ(c.singleHops[1].cloze, "The director of The Beatles is");
    EXPECT_EQ(c.singleHops[1].answer, "Brian Epstein");
    ASSERT_EQ(c.newSingleHops.size(), 4u);
    EXPECT_EQ(c.newSingleHops[2].question, "What is the country of citizenship of Narendra Modi?");
    EXPECT_EQ(c.newSingleHops[2].cloze, "Narendra Modi is a citizen of");
    EXPECT_EQ(c.newSingleHops[2].answer, "Australia");
    EXPECT_EQ(c.newSingleHops[2].aliases.size(), 12u);
    for (const auto& x : cases) EXPECT_TRUE(x.chainable()) << x.caseId;
    EXPECT_EQ(cases[19].caseId, "7502");
}

TEST(MquakeReader, FactsOfEveryRewriteAndOtherReadersRefuseIt) {
    const auto facts = loadFacts(kSample);
    ASSERT_EQ(facts.size(), 80u);
    EXPECT_EQ(facts[0].text, "Hey Jude was performed by Madonna");
    EXPECT_EQ(facts[0].source, "mquake-20.json: record 1 edit 1");
    EXPECT_THAT(errorOf([] { loadEditCases(kSample); }), HasSubstr("is an MQuAKE file"));
    EXPECT_THAT(errorOf([] { loadMquakeCases(LARIMAR_TEST_DATA_DIR "/datasets/counterfact-rome-3.json"); }),
                HasSubstr("counterfact-rome-3.json is a counterfact file, not MQuAKE"));
}

/// A valid record with one field replaced (JSON text of the record, "%R" = its requested_rewrite).
std::string record(const std::string& rewrites, const std::string& rest = R"("questions": ["Q?"], "answer": "Old", "new_answer": "New")") {
    return "{\"requested_rewrite\": " + rewrites + ", " + rest + "}";
}
const std::string kRewrite = R"({"prompt": "{} is in", "subject": "S", "target_new": {"str": "New"}, "target_true": {"str": "Old"}})";

TEST(MquakeReader, InvalidRecordsAreNamedOrSkipped) {
    struct Bad {
        std::string json, message;
    };
    const std::vector<Bad> bad = {
        {record("[" + kRewrite + R"(, {"prompt": "{} x", "target_new": {"str": "a"}, "target_true": {"str": "b"}}])"),
         "record 2: requested_rewrite item 2: missing field 'subject'"},
        {record(R"([{"prompt": "no place", "subject": "S", "target_new": {"str": "a"}, "target_true": {"str": "b"}}])"),
         "record 2: requested_rewrite item 1: field 'prompt' has no {} where the subject goes"},
        {record("[]"), "record 2: field 'requested_rewrite' holds no rewrite"},
        {record("[" + kRewrite + "]", R"("questions": [], "answer": "Old", "new_answer": "New")"),
         "record 2: field 'questions' holds no question"},
        {record("[" + kRewrite + "]", R"("questions": ["Q?"], "answer": "Old")"), "record 2: missing field 'new_answer'"},
        {record("[" + kRewrite + "]", R"("questions": ["Q?"], "answer": "Old", "new_answer": "New", "new_single_hops": [{"cloze": "c"}])"),
         "record 2: new_single_hops item 1: missing field 'answer'"},
        {record("[" + kRewrite + "]", R"("questions": ["Q?"], "answer": 3, "new_answer": "New")"),
         "record 2: field 'answer' must be a string, not number"},
    };
    for (const auto& b : bad) {
        const std::string path = writeTemp("mq-bad.json", "[" + record("[" + kRewrite + "]") + ",\n" + b.json + "]");
        EXPECT_THAT(errorOf([&] { loadMquakeCases(path); }), HasSubstr("mq-bad.json: " + b.message)) << b.json;
        std::vector<std::string> skipped;
        const auto cases = loadMquakeCases(path, &skipped);
        ASSERT_EQ(cases.size(), 1u);
        EXPECT_EQ(cases[0].caseId, "1");
        EXPECT_EQ(cases[0].edits[0].rewrite.editText(), "S is in New");
        ASSERT_EQ(skipped.size(), 1u);
        EXPECT_THAT(skipped[0], HasSubstr(b.message));
    }
    // The bad record first: still an MQuAKE file, skipped like any other.
    const std::string first = writeTemp("mq-first.json", "[" + record("[]") + ",\n" + record("[" + kRewrite + "]") + "]");
    std::vector<std::string> skipped;
    EXPECT_EQ(loadMquakeCases(first, &skipped).size(), 1u);
    EXPECT_THAT(skipped, ElementsAre(HasSubstr("record 1: field 'requested_rewrite' holds no rewrite")));
}

TEST(MquakeJudge, AliasesAnyCaseWholeWordsBeforeTheOldAnswer) {
    const std::vector<std::string> arabic{"Arabic", "ar", "Arabian language"}, english{"English", "en"};
    EXPECT_TRUE(continuationNamesAny(" Arabic.", arabic, english));
    EXPECT_TRUE(continuationNamesAny(" the ARABIAN LANGUAGE, spoken widely", arabic, english));
    EXPECT_TRUE(continuationNamesAny(" ar", arabic, english));
    EXPECT_FALSE(continuationNamesAny(" Arabica coffee", arabic, english)); // whole words only
    EXPECT_FALSE(continuationNamesAny(" English, then Arabic", arabic, english)); // the old answer first
    EXPECT_FALSE(continuationNamesAny(" en route to Arabic", arabic, english));   // an old alias first
    EXPECT_TRUE(continuationNamesAny(" Arabic, not English", arabic, english));
    EXPECT_FALSE(continuationNamesAny(" It is spoken there. Arabic", arabic, english)); // first sentence only
    EXPECT_TRUE(continuationNamesAny(" English", english));
    EXPECT_FALSE(continuationNamesAny(" ", arabic));
    EXPECT_FALSE(continuationNamesAny(" anything", {""})); // an empty name names nothing
}

TEST(MquakeJudge, FirstPhraseIsTheAnswerFedToTheNextHop) {
    EXPECT_EQ(firstPhrase(" Madonna, the singer."), "Madonna");
    EXPECT_EQ(firstPhrase(" Narendra Modi."), "Narendra Modi");
    EXPECT_EQ(firstPhrase(" the U.S. Army (founded 1775)"), "the U.S. Army");
    EXPECT_EQ(firstPhrase(" St. Louis; a city"), "St. Louis");
    EXPECT_EQ(firstPhrase(" \"Abbey Road\"\nmore"), "Abbey Road");
    EXPECT_EQ(firstPhrase(" Who? Nobody"), "Who");
    EXPECT_EQ(firstPhrase(" Band B."), "Band B");
    EXPECT_EQ(firstPhrase(" the U.S."), "the U.S");
    EXPECT_EQ(firstPhrase("   "), "");
}

/// Case "A": Song X was performed by Singer A (was Band B); the spouse of Singer A is Person C
/// (was Person D); so the spouse of Song X's performer is Person C (was Person E). The scripted
/// model reads a fact when the prompt names a written subject ("Song X", "Singer A").
struct Fixture {
    ScriptedModel model;
    MquakeCase a, b;
    Fixture() {
        model.addSubject("Song X");
        model.addSubject("Singer A");
        model.addSubject("Town Z");
        a.caseId = "A";
        a.edits = {edit("{} was performed by", "Song X", "Singer A", "Band B", "Who performed Song X?"),
                   edit("The spouse of {} is", "Singer A", "Person C", "Person D", "Who is the spouse of Singer A?")};
        a.edits[1].newAliases = {"Mrs C"};
        a.questions = {"Who is the spouse of the performer of Song X?", "Whose spouse sang Song X?"};
        a.answer = "Person E";
        a.newAnswer = "Person C";
        a.newAnswerAliases = {"Mrs C"};
        a.singleHops = {{"Who performed Song X?", "Song X was performed by", "Band B", {}},
                        {"Who is the spouse of Band B?", "The spouse of Band B is", "Person E", {}}};
        a.newSingleHops = {{"Who performed Song X?", "Song X was performed by", "Singer A", {}},
                           {"Who is the spouse of Singer A?", "The spouse of Singer A is", "Person C", {"Mrs C"}}};
        // With the edits in memory.
        model.setGen(a.questions[0], true, " Person C, of course");
        model.setGen(a.questions[1], true, " Person E.");
        model.setGen("Who performed Song X?", true, " Singer A.");
        model.setGen("Who is the spouse of Singer A?", true, " Mrs C");
        model.setGen("Song X was performed by", true, " Singer A, the star");
        model.setGen("The spouse of Singer A is", true, " Person C");
        // The base model (no memory). Q2 and the second edit question get " plain".
        model.setGen(a.questions[0], false, " Person E");
        model.setGen("Who performed Song X?", false, " Band B");
        model.setGen("Song X was performed by", false, " Band B.");
        model.setGen("The spouse of Singer A is", false, " Person D");
        model.setGen("The spouse of Band B is", false, " Person E"); // hop 2 with the base's own hop-1 answer

        // Case "B" edits something else, and asks case A's first question: a fresh memory per case
        // means it does not read case A's facts.
        b.caseId = "B";
        b.edits = {edit("{} is in", "Town Z", "Country Q", "Country R", "")};
        b.questions = {a.questions[0]};
        b.answer = "Person E";
        b.newAnswer = "Nobody";
    }
    static MquakeEdit edit(const std::string& templ, const std::string& subject, const std::string& newT,
                           const std::string& trueT, const std::string& question) {
        MquakeEdit e;
        e.rewrite.subject = subject;
        e.rewrite.prompt = templ.substr(0, templ.find("{}")) + subject + templ.substr(templ.find("{}") + 2);
        e.rewrite.targetNew = newT;
        e.rewrite.targetTrue = trueT;
        e.question = question;
        return e;
    }
};

TEST(MquakeRunner, OneCaseWithTheMemoryPassedIn) {
    Fixture f;
    MquakeOptions o;
    auto memory = makeMquakeMemory(f.model, o.lambda);
    const MquakeCaseResult r = evaluateMquakeCase(f.model, memory.get(), f.a, o);
    EXPECT_EQ(memory->writtenRows(), 2); // the case's two edits went into the memory given
    EXPECT_EQ(r.caseId, "A");
    const MquakeRun& e = r.edited;
    ASSERT_TRUE(e.ran);
    ASSERT_EQ(e.multiHop.size(), 2u);
    EXPECT_TRUE(e.multiHop[0].newAnswer);
    EXPECT_FALSE(e.multiHop[0].oldAnswer);
    EXPECT_FALSE(e.multiHop[1].newAnswer);
    EXPECT_TRUE(e.multiHop[1].oldAnswer);
    EXPECT_TRUE(e.multiHopCorrect());
    ASSERT_EQ(e.editQuestions.size(), 2u);
    EXPECT_TRUE(e.editQuestions[1].newAnswer); // "Mrs C": the alias of the edit's target
    ASSERT_EQ(e.hops.size(), 2u);
    EXPECT_EQ(e.hops[0].prompt, "Song X was performed by");
    EXPECT_EQ(e.hops[1].prompt, "The spouse of Singer A is"); // "Singer A, the star" -> "Singer A"
    EXPECT_TRUE(e.chainCorrect());
    EXPECT_TRUE(e.chainAllHops());
    const MquakeRun& b = r.base;
    ASSERT_TRUE(b.ran);
    EXPECT_EQ(b.multiHop[0].generated, " Person E");
    EXPECT_TRUE(b.multiHopOld());
    EXPECT_FALSE(b.multiHopCorrect());
    ASSERT_EQ(b.hops.size(), 2u);
    EXPECT_EQ(b.hops[1].prompt, "The spouse of Band B is"); // the base's own answer fed on
    EXPECT_TRUE(b.hops[1].oldAnswer);
    EXPECT_FALSE(b.chainCorrect());
}

TEST(MquakeRunner, RatesOverCasesEachWithAFreshMemory) {
    Fixture f;
    MquakeOptions o;
    int factories = 0, progressCalls = 0;
    o.makeMemory = [&](TextModel& m) {
        ++factories;
        return makeMquakeMemory(m, 1e-3);
    };
    const MquakeSummary s = evaluateMquake(f.model, {f.a, f.b}, o, [&](int done, int total) {
        ++progressCalls;
        EXPECT_EQ(total, 2);
        EXPECT_EQ(done, progressCalls);
    });
    EXPECT_EQ(factories, 1);
    EXPECT_EQ(progressCalls, 2);
    EXPECT_EQ(s.cases, 2);
    EXPECT_FALSE(s.cancelled);
    // Case B asks case A's question with only its own fact written: not read, the base's answer.
    EXPECT_EQ(s.perCase[1].edited.multiHop[0].generated, " Person E");
    const MquakeRates& e = s.edited;
    EXPECT_EQ(e.cases, 2);
    EXPECT_EQ(e.questions, 3);
    EXPECT_DOUBLE_EQ(e.multiHop, 0.5);            // A yes, B no
    EXPECT_DOUBLE_EQ(e.multiHopQuestion, 1.0 / 3); // A's first question
    EXPECT_DOUBLE_EQ(e.multiHopOld, 1.0);         // A's second, B's only question
    EXPECT_DOUBLE_EQ(e.multiHopOldQuestion, 2.0 / 3);
    EXPECT_EQ(e.editQuestions, 2);                // B's edit has no question
    EXPECT_DOUBLE_EQ(e.editQuestion, 1.0);
    EXPECT_EQ(e.edits, 3);
    EXPECT_DOUBLE_EQ(e.editPrompt, 2.0 / 3);      // B's "Town Z is in" -> " plain"
    EXPECT_DOUBLE_EQ(e.editPromptOld, 0.0);
    EXPECT_EQ(e.chains, 1);                       // B has no chain
    EXPECT_DOUBLE_EQ(e.chain, 1.0);
    EXPECT_DOUBLE_EQ(e.chainOld, 0.0);
    EXPECT_DOUBLE_EQ(e.chainHop, 1.0);
    const MquakeRates& b = s.base;
    EXPECT_EQ(b.cases, 2);
    EXPECT_DOUBLE_EQ(b.multiHop, 0.0);
    EXPECT_DOUBLE_EQ(b.multiHopOld, 1.0);
    EXPECT_DOUBLE_EQ(b.editQuestion, 0.0);
    EXPECT_DOUBLE_EQ(b.editQuestionOld, 0.5);
    EXPECT_DOUBLE_EQ(b.editPrompt, 0.0);
    EXPECT_DOUBLE_EQ(b.editPromptOld, 2.0 / 3);
    EXPECT_DOUBLE_EQ(b.chain, 0.0);
    EXPECT_DOUBLE_EQ(b.chainOld, 1.0); // A, the one chain, ends in " Person E": the old answer
    EXPECT_DOUBLE_EQ(b.chainHop, 0.0);
}

TEST(MquakeRunner, BaseOnlyNoHopsLimitCancelAndBadOptions) {
    Fixture f;
    MquakeOptions o;
    o.memory = false;
    o.hopByHop = false;
    o.limit = 1;
    const int before = f.model.encodeCalls;
    MquakeSummary s = evaluateMquake(f.model, {f.a, f.b}, o);
    EXPECT_EQ(f.model.encodeCalls, before); // nothing written, nothing read
    EXPECT_EQ(s.cases, 1);
    EXPECT_EQ(s.edited.cases, 0);
    EXPECT_TRUE(std::isnan(s.edited.multiHop));
    EXPECT_FALSE(s.perCase[0].edited.ran);
    EXPECT_TRUE(s.perCase[0].base.hops.empty());
    EXPECT_EQ(s.base.chains, 0);
    EXPECT_TRUE(std::isnan(s.base.chain));
    EXPECT_DOUBLE_EQ(s.base.multiHopOld, 1.0);

    std::atomic<bool> cancel{true};
    s = evaluateMquake(f.model, {f.a, f.b}, MquakeOptions{}, {}, &cancel);
    EXPECT_TRUE(s.cancelled);
    EXPECT_EQ(s.cases, 0);

    MquakeOptions none;
    none.memory = none.base = false;
    EXPECT_THAT(errorOf([&] { evaluateMquake(f.model, {f.a}, none); }), HasSubstr("nothing to measure"));
    EXPECT_THAT(errorOf([&] { evaluateMquake(f.model, {}, MquakeOptions{}); }), HasSubstr("no MQuAKE cases"));
}

} // namespace
