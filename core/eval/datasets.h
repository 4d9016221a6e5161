#pragma once
/// Loaders for the files people bring: facts to write (plain text, CSV, JSONL) and knowledge
/// editing benchmarks (CounterFact in the ROME and EasyEdit/MEND schemas, zsRE). One place reads
/// them all: the editor's import, the evaluation and the trainer call these.
///
/// Every loader validates the whole file before returning anything and throws
/// larimar::UserError naming the file, the line or record and the field:
///   "facts.csv: line 17: column 'text' is empty"
///   "cf.json: record 3: missing field 'target_new'"
/// so nothing is written from a file with a bad record. Text must be valid UTF-8.
#include <cstdint>
#include <string>
#include <vector>

namespace larimar {

enum class DatasetFormat {
    Auto,        ///< detect from the extension and the first record
    Text,        ///< one fact per line (blank lines and lines starting with '#' skipped)
    Csv,         ///< header row; a 'text' column, or 'prompt' and 'target' columns
    Jsonl,       ///< one JSON object per line: {"text"} or {"prompt","target"}
    CounterFact, ///< ROME schema: requested_rewrite {prompt with {}, subject, target_new.str, ...}
    EasyEdit,    ///< EasyEdit/MEND CounterFact: prompt, subject, target_new, ground_truth, ...
    Zsre,        ///< zsRE (MEND schema): src, answers, alt, rephrase, loc, loc_ans
    Mquake,      ///< MQuAKE: requested_rewrite list, questions, new_answer, new_single_hops
};

const char* formatName(DatasetFormat format);
/// Parses "auto", "text", "csv", "jsonl", "counterfact", "easyedit", "zsre", "mquake"; UserError otherwise.
DatasetFormat formatFromName(const std::string& name);

/// A fact to write into the memory.
struct FactRecord {
    std::string text;    ///< the sentence written (prompt + " " + target when built from parts)
    std::string subject; ///< optional
    std::string prompt;  ///< optional: the text before the target
    std::string target;  ///< optional: the answer
    std::string source;  ///< where it came from: "file.csv:17"
};

/// One knowledge-editing case: rewrite the answer of `prompt` from targetTrue to targetNew.
struct EditCase {
    std::string caseId;
    std::string subject;
    std::string prompt;     ///< subject filled in, no trailing space
    std::string targetNew;
    std::string targetTrue;
    std::vector<std::string> paraphrasePrompts;
    std::vector<std::string> neighbourhoodPrompts;
    std::vector<std::string> neighbourhoodAnswers; ///< one per neighbourhood prompt
    std::string source;     ///< "file.json:record 3"

    /// The sentence the edit writes: prompt + " " + targetNew.
    std::string editText() const { return prompt + " " + targetNew; }
};

/// Detects the format of a file (extension, then the first record's fields).
DatasetFormat detectFormat(const std::string& path);

/// Facts from any supported file. Benchmark formats give one fact per case (its edit text).
/// Cost: reads the whole file; O(size).
std::vector<FactRecord> loadFacts(const std::string& path, DatasetFormat format = DatasetFormat::Auto);

/// Edit cases from a CounterFact (ROME or EasyEdit) or zsRE file (JSON array or JSONL).
/// With `skipped` given, invalid records are left out and their messages collected there
/// (training data with a few bad records); without it the first one throws.
std::vector<EditCase> loadEditCases(const std::string& path, DatasetFormat format = DatasetFormat::Auto,
                                    std::vector<std::string>* skipped = nullptr);

/// One hop of an MQuAKE chain: "Who performed Hey Jude?", cloze "Hey Jude was performed by",
/// answer "Madonna" and its aliases.
struct MquakeHop {
    std::string question, cloze, answer;
    std::vector<std::string> aliases;
};

/// One requested rewrite of an MQuAKE case. rewrite.editText() ("Hey Jude was performed by
/// Madonna") is the fact written, phrased as the CounterFact evaluation phrases its edits.
struct MquakeEdit {
    EditCase rewrite;                    ///< prompt with the subject filled in, targetNew, targetTrue
    std::string question;                ///< the rewrite's own question; may be empty
    std::vector<std::string> newAliases; ///< aliases of targetNew (from the new chain's hop with this question)
};

/// One MQuAKE case (arXiv 2305.14795): edits, then multi-hop questions whose answer must follow them.
struct MquakeCase {
    std::string caseId;
    std::vector<MquakeEdit> edits;         ///< at least one
    std::vector<std::string> questions;    ///< the multi-hop questions (MQuAKE gives three); at least one
    std::string answer, newAnswer;         ///< before and after the edits
    std::vector<std::string> answerAliases, newAnswerAliases;
    std::vector<MquakeHop> singleHops;     ///< the chain before the edits (may be empty)
    std::vector<MquakeHop> newSingleHops;  ///< the chain after the edits (may be empty)
    std::string source;                    ///< "file.json: record 3"

    /// True when the new chain can be asked hop by hop: it has hops, and each hop's cloze names
    /// the answer of the hop before (where that answer is substituted by the model's own).
    bool chainable() const;
};

/// MQuAKE cases from a file in the original schema (JSON array or JSONL). Validates every record
/// ("mq.json: record 3: requested_rewrite item 2: missing field 'subject'"); with `skipped`
/// given, invalid records are left out and their messages collected there, else the first
/// throws UserError. A file of another schema is refused naming it. Cost: reads the whole file.
std::vector<MquakeCase> loadMquakeCases(const std::string& path, std::vector<std::string>* skipped = nullptr);

/// Limits that keep a hostile file from exhausting memory.
constexpr std::size_t kMaxLineBytes = 1 << 20;         ///< one line / one fact: 1 MiB
constexpr std::uint64_t kMaxFileBytes = 2ull << 30;    ///< one file: 2 GiB

} // namespace larimar
