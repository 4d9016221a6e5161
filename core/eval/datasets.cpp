#include "core/eval/datasets.h"

#include "core/util/error.h"
#include "core/util/file_io.h"
#include "core/util/utf8.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

namespace larimar {
namespace {

using nlohmann::json;

std::string baseName(const std::string& path) { return std::filesystem::path(path).filename().string(); }

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

std::string readWholeFile(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > kMaxFileBytes) throw UserError(path + " is larger than 2 GiB");
    std::string data = readFile(path);
    if (trim(data).empty()) throw UserError(baseName(path) + " is empty");
    return data;
}

/// Splits into lines (LF, CRLF or a lone CR, as old Mac editors end them), checking length and
/// UTF-8 of each. Line numbers from 1.
std::vector<std::pair<std::size_t, std::string>> splitLines(const std::string& data, const std::string& name) {
    std::vector<std::pair<std::size_t, std::string>> lines;
    std::size_t start = 0, number = 1;
    while (start <= data.size()) {
        std::size_t end = data.find_first_of("\r\n", start);
        if (end == std::string::npos) end = data.size();
        std::string line = data.substr(start, end - start);
        if (end + 1 < data.size() && data[end] == '\r' && data[end + 1] == '\n') ++end; // CRLF: one end
        if (line.size() > kMaxLineBytes)
            throw UserError(name + ": line " + std::to_string(number) + " is longer than 1 MiB (" +
                            std::to_string(line.size()) + " bytes)");
        if (const auto p = findUtf8Problem(line))
            throw UserError(name + ": line " + std::to_string(number) + ": " + p->what + " at column " +
                            std::to_string(p->offset + 1));
        if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3); // byte-order mark
        lines.emplace_back(number, std::move(line));
        if (end == data.size()) break;
        start = end + 1;
        ++number;
    }
    return lines;
}

std::string checkedString(const json& obj, const char* field, const std::string& where, bool required = true) {
    if (!obj.contains(field)) {
        if (required) throw UserError(where + ": missing field '" + field + "'");
        return {};
    }
    const json& v = obj.at(field);
    if (!v.is_string())
        throw UserError(where + ": field '" + field + "' must be a string, not " + std::string(v.type_name()));
    std::string s = v.get<std::string>();
    if (const auto p = findUtf8Problem(s))
        throw UserError(where + ": field '" + field + "' contains " + p->what);
    if (required && trim(s).empty()) throw UserError(where + ": field '" + field + "' is empty");
    if (s.size() > kMaxLineBytes) throw UserError(where + ": field '" + field + "' is longer than 1 MiB");
    return s;
}

std::vector<std::string> checkedStrings(const json& obj, const char* field, const std::string& where) {
    std::vector<std::string> out;
    if (!obj.contains(field)) return out;
    const json& v = obj.at(field);
    if (v.is_string()) {
        out.push_back(checkedString(obj, field, where));
        return out;
    }
    if (!v.is_array())
        throw UserError(where + ": field '" + field + "' must be a string or a list of strings, not " +
                        std::string(v.type_name()));
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string())
            throw UserError(where + ": field '" + field + "' item " + std::to_string(i + 1) + " must be a string");
        out.push_back(v[i].get<std::string>());
        if (const auto p = findUtf8Problem(out.back()))
            throw UserError(where + ": field '" + field + "' item " + std::to_string(i + 1) + " contains " + p->what);
    }
    return out;
}

/// JSON records from a JSON array file or a JSONL file, each with its location for messages.
std::vector<std::pair<std::string, json>> readJsonRecords(const std::string& path) {
    const std::string name = baseName(path);
    const std::string data = readWholeFile(path);
    std::vector<std::pair<std::string, json>> records;
    const auto first = data.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    if (first != std::string::npos && data[first] == '[') {
        if (const auto p = findUtf8Problem(data)) throw UserError(name + ": " + p->what + " at byte " + std::to_string(p->offset));
        json doc;
        try {
            doc = json::parse(data);
        } catch (const json::parse_error& e) {
            throw UserError(name + ": not valid JSON: " + std::string(e.what()));
        }
        for (std::size_t i = 0; i < doc.size(); ++i) {
            const std::string where = name + ": record " + std::to_string(i + 1);
            if (!doc[i].is_object()) throw UserError(where + ": expected a JSON object, found " + std::string(doc[i].type_name()));
            records.emplace_back(where, std::move(doc[i]));
        }
        if (records.empty()) throw UserError(name + " holds an empty list");
        return records;
    }
    for (auto& [number, line] : splitLines(data, name)) {
        if (trim(line).empty()) continue;
        const std::string where = name + ": line " + std::to_string(number);
        json obj;
        try {
            obj = json::parse(line);
        } catch (const json::parse_error& e) {
            throw UserError(where + ": not valid JSON: " + std::string(e.what()));
        }
        if (!obj.is_object()) throw UserError(where + ": expected a JSON object, found " + std::string(obj.type_name()));
        records.emplace_back(where, std::move(obj));
    }
    if (records.empty()) throw UserError(name + " holds no records");
    return records;
}

DatasetFormat detectJsonSchema(const json& obj) {
    if (obj.contains("requested_rewrite") && obj["requested_rewrite"].is_array()) return DatasetFormat::Mquake;
    if (obj.contains("requested_rewrite")) return DatasetFormat::CounterFact;
    if (obj.contains("src") && obj.contains("alt")) return DatasetFormat::Zsre;
    if (obj.contains("target_new") && obj.contains("prompt")) return DatasetFormat::EasyEdit;
    return DatasetFormat::Jsonl;
}

/// The schema of every record, which must be the first one's: a file of one schema with a record
/// of another would otherwise be read by the first record's rules (UserError naming it).
DatasetFormat detectRecordsSchema(const std::vector<std::pair<std::string, json>>& records) {
    const DatasetFormat first = detectJsonSchema(records.front().second);
    // A record matching no schema is a broken record of the file's own schema (its reader then
    // names the missing field, and --skip-invalid can leave it out), not one of another schema.
    for (const auto& [where, r] : records)
        if (const auto f = detectJsonSchema(r); f != first && f != DatasetFormat::Jsonl)
            throw UserError(where + ": a record of schema " + formatName(f) + ", but the first record is " + formatName(first) +
                            "; one file holds one schema (pass --format to say which)");
    return first;
}

std::string joinPrompt(const std::string& prompt, const std::string& target) {
    std::string p = prompt;
    while (!p.empty() && p.back() == ' ') p.pop_back();
    return p + " " + trim(target);
}

/// A ROME-schema rewrite {prompt with {}, subject, target_new.str, target_true.str} (CounterFact
/// and MQuAKE): subject, filled prompt and targets.
EditCase fromRewrite(const json& rw, const std::string& rwWhere) {
    EditCase c;
    c.subject = checkedString(rw, "subject", rwWhere);
    const std::string templ = checkedString(rw, "prompt", rwWhere);
    const auto at = templ.find("{}");
    if (at == std::string::npos) throw UserError(rwWhere + ": field 'prompt' has no {} where the subject goes");
    c.prompt = trim(templ.substr(0, at) + c.subject + templ.substr(at + 2));
    for (const char* f : {"target_new", "target_true"}) {
        if (!rw.contains(f) || !rw[f].is_object()) throw UserError(rwWhere + ": missing field '" + f + "'");
        (std::string(f) == "target_new" ? c.targetNew : c.targetTrue) =
            trim(checkedString(rw[f], "str", rwWhere + "." + f));
    }
    return c;
}

EditCase fromRome(const json& r, const std::string& where) {
    if (!r.contains("requested_rewrite") || !r["requested_rewrite"].is_object())
        throw UserError(where + ": missing field 'requested_rewrite'");
    EditCase c = fromRewrite(r["requested_rewrite"], where + ": requested_rewrite");
    c.paraphrasePrompts = checkedStrings(r, "paraphrase_prompts", where);
    c.neighbourhoodPrompts = checkedStrings(r, "neighborhood_prompts", where);
    c.neighbourhoodAnswers.assign(c.neighbourhoodPrompts.size(), c.targetTrue);
    if (r.contains("case_id")) c.caseId = r["case_id"].dump();
    return c;
}

EditCase fromEasyEdit(const json& r, const std::string& where) {
    EditCase c;
    c.prompt = trim(checkedString(r, "prompt", where));
    c.targetNew = trim(checkedString(r, "target_new", where));
    c.targetTrue = trim(checkedString(r, "ground_truth", where));
    c.subject = checkedString(r, "subject", where, false);
    c.paraphrasePrompts = checkedStrings(r, "rephrase_prompt", where);
    c.neighbourhoodPrompts = checkedStrings(r, "locality_prompt", where);
    const auto answers = checkedStrings(r, "locality_ground_truth", where);
    if (!c.neighbourhoodPrompts.empty() && answers.size() != c.neighbourhoodPrompts.size() && answers.size() != 1)
        throw UserError(where + ": 'locality_ground_truth' must give one answer per locality prompt");
    for (std::size_t i = 0; i < c.neighbourhoodPrompts.size(); ++i)
        c.neighbourhoodAnswers.push_back(answers.empty() ? c.targetTrue : trim(answers[answers.size() == 1 ? 0 : i]));
    if (r.contains("case_id")) c.caseId = r["case_id"].dump();
    return c;
}

EditCase fromZsre(const json& r, const std::string& where) {
    EditCase c;
    c.prompt = trim(checkedString(r, "src", where));
    c.targetNew = trim(checkedString(r, "alt", where));
    const auto answers = checkedStrings(r, "answers", where);
    if (answers.empty() || trim(answers[0]).empty()) throw UserError(where + ": field 'answers' must hold at least one answer");
    c.targetTrue = trim(answers[0]);
    c.subject = checkedString(r, "subject", where, false);
    c.paraphrasePrompts = checkedStrings(r, "rephrase", where);
    if (r.contains("loc")) {
        std::string loc = trim(checkedString(r, "loc", where));
        if (loc.rfind("nq question: ", 0) == 0) loc = loc.substr(13);
        c.neighbourhoodPrompts.push_back(loc);
        c.neighbourhoodAnswers.push_back(trim(checkedString(r, "loc_ans", where)));
    }
    return c;
}

/// Trimmed non-empty strings of an optional list field (aliases).
std::vector<std::string> aliasList(const json& obj, const char* field, const std::string& where) {
    std::vector<std::string> out;
    for (const auto& a : checkedStrings(obj, field, where))
        if (!trim(a).empty()) out.push_back(trim(a));
    return out;
}

std::vector<MquakeHop> mquakeHops(const json& r, const char* field, const std::string& where) {
    std::vector<MquakeHop> hops;
    if (!r.contains(field)) return hops;
    const json& v = r.at(field);
    if (!v.is_array()) throw UserError(where + ": field '" + field + "' must be a list of hops, not " + std::string(v.type_name()));
    for (std::size_t i = 0; i < v.size(); ++i) {
        const std::string at = where + ": " + field + " item " + std::to_string(i + 1);
        if (!v[i].is_object()) throw UserError(at + ": expected a JSON object, found " + std::string(v[i].type_name()));
        MquakeHop h;
        h.question = trim(checkedString(v[i], "question", at, false));
        h.cloze = trim(checkedString(v[i], "cloze", at));
        h.answer = trim(checkedString(v[i], "answer", at));
        h.aliases = aliasList(v[i], "answer_alias", at);
        hops.push_back(std::move(h));
    }
    return hops;
}

MquakeCase fromMquake(const json& r, const std::string& where) {
    MquakeCase c;
    if (!r.contains("requested_rewrite")) throw UserError(where + ": missing field 'requested_rewrite'");
    const json& rws = r["requested_rewrite"];
    if (!rws.is_array())
        throw UserError(where + ": field 'requested_rewrite' must be a list of rewrites (MQuAKE), not " +
                        std::string(rws.type_name()));
    if (rws.empty()) throw UserError(where + ": field 'requested_rewrite' holds no rewrite");
    for (std::size_t i = 0; i < rws.size(); ++i) {
        const std::string at = where + ": requested_rewrite item " + std::to_string(i + 1);
        if (!rws[i].is_object()) throw UserError(at + ": expected a JSON object, found " + std::string(rws[i].type_name()));
        MquakeEdit e;
        e.rewrite = fromRewrite(rws[i], at);
        e.question = trim(checkedString(rws[i], "question", at, false));
        c.edits.push_back(std::move(e));
    }
    if (!r.contains("questions")) throw UserError(where + ": missing field 'questions'");
    for (const auto& q : checkedStrings(r, "questions", where))
        if (!trim(q).empty()) c.questions.push_back(trim(q));
    if (c.questions.empty()) throw UserError(where + ": field 'questions' holds no question");
    c.answer = trim(checkedString(r, "answer", where));
    c.newAnswer = trim(checkedString(r, "new_answer", where));
    c.answerAliases = aliasList(r, "answer_alias", where);
    c.newAnswerAliases = aliasList(r, "new_answer_alias", where);
    c.singleHops = mquakeHops(r, "single_hops", where);
    c.newSingleHops = mquakeHops(r, "new_single_hops", where);
    // An edit's answer aliases are those of the new chain's hop that asks its question.
    for (auto& e : c.edits)
        for (const auto& h : c.newSingleHops)
            if (h.answer == e.rewrite.targetNew && (e.question.empty() || h.question == e.question)) {
                e.newAliases = h.aliases;
                break;
            }
    if (r.contains("case_id")) c.caseId = r["case_id"].is_string() ? r["case_id"].get<std::string>() : r["case_id"].dump();
    return c;
}

// RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines.
std::vector<std::pair<std::size_t, std::vector<std::string>>> parseCsv(const std::string& data, const std::string& name) {
    std::vector<std::pair<std::size_t, std::vector<std::string>>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, fieldStarted = false;
    std::size_t line = 1, rowLine = 1;
    std::size_t i = (data.rfind("\xEF\xBB\xBF", 0) == 0) ? 3 : 0;
    auto endRow = [&] {
        row.push_back(field);
        field.clear();
        if (!(row.size() == 1 && trim(row[0]).empty())) rows.emplace_back(rowLine, row);
        row.clear();
        fieldStarted = false;
    };
    for (; i < data.size(); ++i) {
        const char ch = data[i];
        if (quoted) {
            if (ch == '"') {
                if (i + 1 < data.size() && data[i + 1] == '"') { field += '"'; ++i; }
                else quoted = false;
            } else {
                if (ch == '\n') ++line;
                field += ch;
            }
        } else if (ch == '"' && !fieldStarted) {
            quoted = true;
            fieldStarted = true;
        } else if (ch == ',') {
            row.push_back(field);
            field.clear();
            fieldStarted = false;
        } else if (ch == '\n' || ch == '\r') {
            if (ch == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
            endRow();
            ++line;
            rowLine = line;
        } else {
            field += ch;
            fieldStarted = true;
        }
        if (field.size() > kMaxLineBytes)
            throw UserError(name + ": line " + std::to_string(rowLine) + ": a field is longer than 1 MiB");
    }
    if (quoted) throw UserError(name + ": line " + std::to_string(rowLine) + ": a quoted field is never closed");
    if (!field.empty() || !row.empty()) endRow();
    return rows;
}

std::vector<FactRecord> loadCsvFacts(const std::string& path) {
    const std::string name = baseName(path);
    const std::string data = readWholeFile(path);
    if (const auto p = findUtf8Problem(data)) {
        const std::size_t line = 1 + static_cast<std::size_t>(std::count(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(p->offset), '\n'));
        throw UserError(name + ": line " + std::to_string(line) + ": " + p->what);
    }
    const auto rows = parseCsv(data, name);
    if (rows.empty()) throw UserError(name + " is empty");
    std::map<std::string, std::size_t> col;
    for (std::size_t i = 0; i < rows[0].second.size(); ++i) col[lower(trim(rows[0].second[i]))] = i;
    const bool hasText = col.count("text") > 0;
    const bool hasParts = col.count("prompt") > 0 && col.count("target") > 0;
    if (!hasText && !hasParts)
        throw UserError(name + ": line 1: the header needs a 'text' column, or 'prompt' and 'target' columns");
    auto get = [&](const std::vector<std::string>& r, const char* c) -> std::string {
        auto it = col.find(c);
        return it == col.end() || it->second >= r.size() ? std::string() : trim(r[it->second]);
    };
    std::vector<FactRecord> facts;
    for (std::size_t i = 1; i < rows.size(); ++i) {
        const auto& [line, r] = rows[i];
        const std::string where = name + ": line " + std::to_string(line);
        if (r.size() > rows[0].second.size())
            throw UserError(where + ": " + std::to_string(r.size()) + " fields, the header has " +
                            std::to_string(rows[0].second.size()));
        FactRecord f;
        f.prompt = get(r, "prompt");
        f.target = get(r, "target");
        f.subject = get(r, "subject");
        f.text = get(r, "text");
        if (f.text.empty()) {
            if (f.prompt.empty() || f.target.empty())
                throw UserError(where + (hasText ? ": column 'text' is empty" : ": columns 'prompt' and 'target' must both be filled"));
            f.text = joinPrompt(f.prompt, f.target);
        }
        const std::string src = get(r, "source");
        f.source = src.empty() ? name + ":" + std::to_string(line) : src;
        facts.push_back(std::move(f));
    }
    if (facts.empty()) throw UserError(name + " has a header but no facts");
    return facts;
}

std::vector<FactRecord> loadTextFacts(const std::string& path) {
    const std::string name = baseName(path);
    std::vector<FactRecord> facts;
    for (auto& [number, line] : splitLines(readWholeFile(path), name)) {
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#') continue;
        FactRecord f;
        f.text = t;
        f.source = name + ":" + std::to_string(number);
        facts.push_back(std::move(f));
    }
    if (facts.empty()) throw UserError(name + " holds no facts (only blank or # comment lines)");
    return facts;
}

} // namespace

const char* formatName(DatasetFormat f) {
    switch (f) {
    case DatasetFormat::Auto: return "auto";
    case DatasetFormat::Text: return "text";
    case DatasetFormat::Csv: return "csv";
    case DatasetFormat::Jsonl: return "jsonl";
    case DatasetFormat::CounterFact: return "counterfact";
    case DatasetFormat::EasyEdit: return "easyedit";
    case DatasetFormat::Zsre: return "zsre";
    case DatasetFormat::Mquake: return "mquake";
    }
    return "?";
}

DatasetFormat formatFromName(const std::string& name) {
    for (auto f : {DatasetFormat::Auto, DatasetFormat::Text, DatasetFormat::Csv, DatasetFormat::Jsonl,
                   DatasetFormat::CounterFact, DatasetFormat::EasyEdit, DatasetFormat::Zsre, DatasetFormat::Mquake})
        if (lower(name) == formatName(f)) return f;
    throw UserError("unknown format '" + name + "' (use auto, text, csv, jsonl, counterfact, easyedit, zsre or mquake)");
}

DatasetFormat detectFormat(const std::string& path) {
    const std::string ext = lower(std::filesystem::path(path).extension().string());
    if (ext == ".csv") return DatasetFormat::Csv;
    if (ext == ".txt") return DatasetFormat::Text;
    if (ext == ".json" || ext == ".jsonl") {
        return detectRecordsSchema(readJsonRecords(path));
    }
    // Unknown extension: JSON if it looks like JSON, else plain text.
    const std::string data = readWholeFile(path);
    const auto first = data.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && (data[first] == '[' || data[first] == '{'))
        return detectRecordsSchema(readJsonRecords(path));
    return DatasetFormat::Text;
}

std::vector<EditCase> loadEditCases(const std::string& path, DatasetFormat format, std::vector<std::string>* skipped) {
    if (format == DatasetFormat::Auto) format = detectFormat(path);
    if (format == DatasetFormat::Mquake)
        throw UserError(baseName(path) + " is an MQuAKE file (several edits per case); measure it with larimar eval mquake");
    if (format != DatasetFormat::CounterFact && format != DatasetFormat::EasyEdit && format != DatasetFormat::Zsre)
        throw UserError(baseName(path) + " is a " + formatName(format) +
                        " file; evaluation needs CounterFact (ROME or EasyEdit schema) or zsRE records");
    std::vector<EditCase> cases;
    std::size_t index = 0;
    for (auto& [where, r] : readJsonRecords(path)) {
        ++index;
        EditCase c;
        try {
            c = format == DatasetFormat::CounterFact ? fromRome(r, where)
                : format == DatasetFormat::EasyEdit  ? fromEasyEdit(r, where)
                                                     : fromZsre(r, where);
        } catch (const UserError& e) {
            if (!skipped) throw;
            skipped->push_back(e.what());
            continue;
        }
        if (c.caseId.empty()) c.caseId = std::to_string(index);
        c.source = where;
        cases.push_back(std::move(c));
    }
    return cases;
}

std::vector<FactRecord> loadFacts(const std::string& path, DatasetFormat format) {
    if (format == DatasetFormat::Auto) format = detectFormat(path);
    switch (format) {
    case DatasetFormat::Text: return loadTextFacts(path);
    case DatasetFormat::Csv: return loadCsvFacts(path);
    case DatasetFormat::Jsonl: {
        std::vector<FactRecord> facts;
        for (auto& [where, r] : readJsonRecords(path)) {
            FactRecord f;
            f.subject = checkedString(r, "subject", where, false);
            f.source = checkedString(r, "source", where, false);
            if (f.source.empty()) f.source = where;
            if (r.contains("text")) {
                f.text = trim(checkedString(r, "text", where));
                f.prompt = checkedString(r, "prompt", where, false);
                f.target = checkedString(r, "target", where, false);
            } else {
                if (!r.contains("prompt") || !r.contains("target"))
                    throw UserError(where + ": missing field 'text' (or both 'prompt' and 'target')");
                f.prompt = trim(checkedString(r, "prompt", where));
                f.target = trim(checkedString(r, "target", where));
                f.text = joinPrompt(f.prompt, f.target);
            }
            facts.push_back(std::move(f));
        }
        return facts;
    }
    case DatasetFormat::CounterFact:
    case DatasetFormat::EasyEdit:
    case DatasetFormat::Zsre: {
        std::vector<FactRecord> facts;
        for (const EditCase& c : loadEditCases(path, format)) {
            FactRecord f;
            f.text = c.editText();
            f.subject = c.subject;
            f.prompt = c.prompt;
            f.target = c.targetNew;
            f.source = c.source;
            facts.push_back(std::move(f));
        }
        return facts;
    }
    case DatasetFormat::Mquake: {
        // Every rewrite of every case, as the evaluation writes them.
        std::vector<FactRecord> facts;
        for (const MquakeCase& c : loadMquakeCases(path)) {
            for (std::size_t i = 0; i < c.edits.size(); ++i) {
                const EditCase& e = c.edits[i].rewrite;
                FactRecord f;
                f.text = e.editText();
                f.subject = e.subject;
                f.prompt = e.prompt;
                f.target = e.targetNew;
                f.source = c.source + " edit " + std::to_string(i + 1);
                facts.push_back(std::move(f));
            }
        }
        return facts;
    }
    case DatasetFormat::Auto: break;
    }
    throw UserError("unsupported format");
}

bool MquakeCase::chainable() const {
    if (newSingleHops.empty()) return false;
    for (std::size_t i = 1; i < newSingleHops.size(); ++i)
        if (newSingleHops[i].cloze.find(newSingleHops[i - 1].answer) == std::string::npos) return false;
    return true;
}

std::vector<MquakeCase> loadMquakeCases(const std::string& path, std::vector<std::string>* skipped) {
    const auto records = readJsonRecords(path);
    // A file with no MQuAKE-shaped record is another schema; a bad record of an MQuAKE file is
    // reported as such (and skipped with --skip-invalid), even when it is the first.
    const bool anyMquake = std::any_of(records.begin(), records.end(),
                                       [](const auto& r) { return detectJsonSchema(r.second) == DatasetFormat::Mquake; });
    const DatasetFormat format = detectJsonSchema(records.front().second);
    if (!anyMquake)
        throw UserError(baseName(path) + " is a " + std::string(formatName(format)) +
                        " file, not MQuAKE (records with a list 'requested_rewrite', 'questions' and 'new_answer')");
    std::vector<MquakeCase> cases;
    std::size_t index = 0;
    for (const auto& [where, r] : records) {
        ++index;
        MquakeCase c;
        try {
            c = fromMquake(r, where);
        } catch (const UserError& e) {
            if (!skipped) throw;
            skipped->push_back(e.what());
            continue;
        }
        if (c.caseId.empty()) c.caseId = std::to_string(index);
        c.source = where;
        cases.push_back(std::move(c));
    }
    return cases;
}

} // namespace larimar
