// The pretrained models' tokenizer files: Hugging Face tokenizer.json (+ tokenizer_config.json)
// read and written, and the vocabulary a GGUF file carries. Both become detail::TokenizerParts;
// tokenizer.cpp builds and runs the model.
#include "core/model/tokenizer.h"

#include "core/util/error.h"
#include "core/util/file_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>

namespace larimar {

namespace {

using nlohmann::json;

// The Split patterns of Llama 3's and Qwen2's tokenizer.json, as the files spell them.
const char* const kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

json parseJsonFile(const std::string& path, const char* what) {
    const std::string text = detail::readTokenizerFile(path, what);
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        throw UserError(detail::jsonErrorMessage(path, text, e.byte, e.what()));
    }
}

/// A short form of a JSON value for messages (long vocabularies must not flood them).
std::string brief(const json& j) {
    std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
    if (s.size() > 300) s = s.substr(0, 300) + "...";
    return s;
}

std::string typeOf(const json& j) {
    if (j.is_object()) {
        const auto it = j.find("type");
        if (it != j.end() && it->is_string()) return it->get<std::string>();
    }
    return "";
}

bool boolField(const json& j, const char* key, bool dflt) {
    const auto it = j.find(key);
    return it != j.end() && it->is_boolean() ? it->get<bool>() : dflt;
}

bool isByteLevel(const json& j, bool useRegex) {
    return typeOf(j) == "ByteLevel" && boolField(j, "use_regex", true) == useRegex &&
           !boolField(j, "add_prefix_space", false);
}

bool isByteLevelOrSequenceWithIt(const json& j) {
    if (typeOf(j) == "ByteLevel") return true;
    if (typeOf(j) != "Sequence") return false;
    for (const char* key : {"decoders", "processors"}) {
        const auto it = j.find(key);
        if (it != j.end() && it->is_array())
            for (const json& d : *it)
                if (typeOf(d) == "ByteLevel") return true;
    }
    return false;
}

/// The pre-tokeniser a tokenizer.json describes, by its structure.
PreTokenizer detectPreTokenizer(const json& pt, const std::string& path) {
    if (isByteLevel(pt, true)) return PreTokenizer::Gpt2;
    if (typeOf(pt) == "Sequence") {
        const auto it = pt.find("pretokenizers");
        if (it != pt.end() && it->is_array() && it->size() == 2) {
            const json& a = (*it)[0];
            const json& b = (*it)[1];
            if (typeOf(a) == "Digits" && boolField(a, "individual_digits", false) && isByteLevel(b, true))
                return PreTokenizer::Gpt2Digits;
            if (typeOf(a) == "Split" && isByteLevel(b, false) && a.contains("pattern") &&
                a["pattern"].is_object() && a["pattern"].contains("Regex") && a["pattern"]["Regex"].is_string() &&
                a.value("behavior", std::string()) == "Isolated" && !boolField(a, "invert", false)) {
                const std::string re = a["pattern"]["Regex"].get<std::string>();
                if (re == kLlama3Regex) return PreTokenizer::Llama3;
                if (re == kQwen2Regex) return PreTokenizer::Qwen2;
            }
        }
    }
    throw UserError(path + ": pre_tokenizer " + brief(pt) +
                    " is not one this tokenizer implements (GPT-2's ByteLevel, SmolLM's Digits + ByteLevel, "
                    "Llama 3's or Qwen2's Split + ByteLevel)");
}

json preTokenizerJson(PreTokenizer p) {
    const auto byteLevel = [](bool useRegex) {
        return json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", useRegex}};
    };
    switch (p) {
    case PreTokenizer::Gpt2: return byteLevel(true);
    case PreTokenizer::Gpt2Digits:
        return json{{"type", "Sequence"},
                    {"pretokenizers", json::array({json{{"type", "Digits"}, {"individual_digits", true}}, byteLevel(true)})}};
    case PreTokenizer::Llama3:
    case PreTokenizer::Qwen2: {
        const json split{{"type", "Split"},
                         {"pattern", json{{"Regex", p == PreTokenizer::Llama3 ? kLlama3Regex : kQwen2Regex}}},
                         {"behavior", "Isolated"},
                         {"invert", false}};
        return json{{"type", "Sequence"}, {"pretokenizers", json::array({split, byteLevel(false)})}};
    }
    }
    return byteLevel(true);
}

/// bos from a TemplateProcessing post-processor (possibly inside a Sequence) whose single
/// template starts with a special token; "" when there is none.
std::string templateBos(const json& pp) {
    if (typeOf(pp) == "Sequence") {
        const auto it = pp.find("processors");
        if (it != pp.end() && it->is_array())
            for (const json& p : *it) {
                std::string s = templateBos(p);
                if (!s.empty()) return s;
            }
        return "";
    }
    if (typeOf(pp) != "TemplateProcessing") return "";
    const auto single = pp.find("single");
    if (single == pp.end() || !single->is_array() || single->empty()) return "";
    const json& first = (*single)[0];
    if (first.is_object() && first.contains("SpecialToken") && first["SpecialToken"].is_object() &&
        first["SpecialToken"].contains("id") && first["SpecialToken"]["id"].is_string())
        return first["SpecialToken"]["id"].get<std::string>();
    return "";
}

} // namespace

Tokenizer Tokenizer::fromHfTokenizerJson(const std::string& path) {
    namespace fs = std::filesystem;
    const json j = parseJsonFile(path, "tokenizer.json");
    if (!j.is_object()) throw UserError(path + ": expected a JSON object (a Hugging Face tokenizer.json)");
    const auto model = j.find("model");
    if (model == j.end() || !model->is_object()) throw UserError(path + ": no \"model\" object");
    const std::string type = typeOf(*model);
    if (type != "BPE" && !(type.empty() && model->contains("merges")))
        throw UserError(path + ": model type '" + type + "' is not supported (only byte-level BPE)");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
        const auto it = model->find(key);
        if (it != model->end() && it->is_string() && !it->get<std::string>().empty())
            throw UserError(path + ": model." + key + " is set; only byte-level BPE without it is supported");
    }
    if (boolField(*model, "byte_fallback", false))
        throw UserError(path + ": model.byte_fallback is set (a SentencePiece-style BPE); only byte-level BPE is supported");
    const auto decoder = j.find("decoder");
    if (decoder == j.end() || !isByteLevelOrSequenceWithIt(*decoder))
        throw UserError(path + ": decoder " + (decoder == j.end() ? std::string("(none)") : brief(*decoder)) +
                        " is not ByteLevel; only byte-level BPE is supported");
    const auto normalizer = j.find("normalizer");
    if (normalizer != j.end() && !normalizer->is_null()) {
        const std::string nt = typeOf(*normalizer);
        const bool emptySequence = nt == "Sequence" && normalizer->contains("normalizers") &&
                                   (*normalizer)["normalizers"].is_array() && (*normalizer)["normalizers"].empty();
        if (nt != "NFC" && !emptySequence)
            throw UserError(path + ": normalizer " + brief(*normalizer) + " is not supported");
    }
    const auto pt = j.find("pre_tokenizer");
    if (pt == j.end() || pt->is_null()) throw UserError(path + ": no pre_tokenizer; byte-level BPE needs one");

    detail::TokenizerParts parts;
    parts.vocabName = path;
    parts.mergesName = path + ": merges";
    parts.mergesIndexed = true;
    parts.requireAllBytes = false;
    parts.pre = detectPreTokenizer(*pt, path);
    parts.ignoreMerges = boolField(*model, "ignore_merges", false);

    // Vocabulary and added tokens share one id space; an added token may or may not be in vocab.
    const auto vocab = model->find("vocab");
    if (vocab == model->end() || !vocab->is_object()) throw UserError(path + ": model.vocab is not an object");
    std::map<std::int64_t, std::string> byId;
    const auto place = [&](std::int64_t id, const std::string& text, bool override, const char* what) {
        if (id < 0 || id > (1 << 26)) throw UserError(path + ": " + what + " \"" + text + "\" has id " + std::to_string(id));
        const auto [it, inserted] = byId.emplace(id, text);
        if (!inserted && !override && it->second != text)
            throw UserError(path + ": id " + std::to_string(id) + " is given to both \"" + it->second + "\" and \"" +
                            text + "\"");
        if (override) it->second = text;
    };
    for (auto it = vocab->begin(); it != vocab->end(); ++it) {
        if (!it.value().is_number_integer())
            throw UserError(path + ": model.vocab: token \"" + it.key() + "\": id must be an integer, got " +
                            brief(it.value()));
        place(it.value().get<std::int64_t>(), it.key(), false, "token");
    }
    const auto added = j.find("added_tokens");
    if (added != j.end() && !added->is_null()) {
        if (!added->is_array()) throw UserError(path + ": added_tokens is not an array");
        for (const json& a : *added) {
            if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
                !a["content"].is_string())
                throw UserError(path + ": added_tokens: expected {\"id\": integer, \"content\": string, ...}, got " +
                                brief(a));
            AddedToken t{a["content"].get<std::string>(), static_cast<std::int32_t>(a["id"].get<std::int64_t>()),
                         boolField(a, "special", false)};
            place(t.id, t.content, true, "added token");
            parts.added.push_back(std::move(t));
        }
    }
    if (byId.empty()) throw UserError(path + ": the vocabulary is empty");
    const std::int64_t n = byId.rbegin()->first + 1;
    if (static_cast<std::int64_t>(byId.size()) != n) {
        std::int64_t gap = 0;
        while (byId.count(gap)) ++gap;
        throw UserError(path + ": id " + std::to_string(gap) + " has no token (ids must run from 0 to " +
                        std::to_string(n - 1) + " without gaps)");
    }
    parts.tokens.reserve(static_cast<std::size_t>(n));
    for (auto& [id, text] : byId)
        parts.tokens.push_back(std::move(text));

    const auto merges = model->find("merges");
    if (merges == model->end() || !merges->is_array()) throw UserError(path + ": model.merges is not an array");
    parts.merges.reserve(merges->size());
    for (std::size_t k = 0; k < merges->size(); ++k) {
        const json& m = (*merges)[k];
        const std::string where = path + ": merges[" + std::to_string(k) + "]";
        if (m.is_string()) {
            const std::string line = m.get<std::string>();
            const std::size_t sp = line.find(' ');
            if (sp == std::string::npos || sp == 0 || sp + 1 == line.size() || line.find(' ', sp + 1) != std::string::npos)
                throw UserError(where + ": expected two tokens separated by one space, got \"" + line + "\"");
            parts.merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            parts.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
        } else {
            throw UserError(where + ": expected \"a b\" or [\"a\", \"b\"], got " + brief(m));
        }
    }

    // Roles. A name resolves to an added token's content first, then to a vocabulary token.
    const auto idOf = [&](const std::string& name, const std::string& where) -> std::int32_t {
        for (const AddedToken& a : parts.added)
            if (a.content == name) return a.id;
        for (const std::string& form : {name, bytelevel::toFileForm(name)}) {
            const auto it = std::find(parts.tokens.begin(), parts.tokens.end(), form);
            if (it != parts.tokens.end()) return static_cast<std::int32_t>(it - parts.tokens.begin());
        }
        throw UserError(where + ": \"" + name + "\" is not in the vocabulary of " + path);
    };
    const auto unk = model->find("unk_token");
    if (unk != model->end() && unk->is_string()) parts.unk = idOf(unk->get<std::string>(), path + ": model.unk_token");
    const auto pp = j.find("post_processor");
    const std::string bosFromTemplate = pp == j.end() ? "" : templateBos(*pp);
    if (!bosFromTemplate.empty()) {
        parts.bos = idOf(bosFromTemplate, path + ": post_processor");
        parts.addBos = true;
    }
    const fs::path configPath = fs::path(path).parent_path() / "tokenizer_config.json";
    std::error_code ec;
    if (fs::is_regular_file(configPath, ec)) {
        const std::string cpath = configPath.string();
        const json c = parseJsonFile(cpath, "tokenizer_config.json");
        if (!c.is_object()) throw UserError(cpath + ": expected a JSON object");
        const auto role = [&](const char* key, std::int32_t& id) {
            const auto it = c.find(key);
            if (it == c.end()) return;
            if (it->is_null()) {
                id = -1;
            } else if (it->is_string()) {
                id = idOf(it->get<std::string>(), cpath + ": " + key);
            } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
                id = idOf((*it)["content"].get<std::string>(), cpath + ": " + key);
            } else {
                throw UserError(cpath + ": " + key + ": expected a string, {\"content\": ...} or null, got " + brief(*it));
            }
        };
        role("bos_token", parts.bos);
        role("eos_token", parts.eos);
        role("pad_token", parts.pad);
        role("unk_token", parts.unk);
        const auto addBos = c.find("add_bos_token");
        if (addBos != c.end() && addBos->is_boolean()) parts.addBos = addBos->get<bool>();
    }
    if (parts.bos < 0) parts.addBos = false;
    return fromParts(std::move(parts));
}

void Tokenizer::saveHfTokenizerJson(const std::string& path) const {
    namespace fs = std::filesystem;
    const detail::TokenizerParts p = parts();
    const fs::path dir = fs::path(path).parent_path();
    if (!dir.empty()) {
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) throw Error("cannot create " + dir.string() + ": " + ec.message());
    }
    const auto str = [](const std::string& s) { return json(s).dump(); };

    // Written by hand, ids in order (as save() does): readable, diffable, and fast for 150k tokens.
    json addedJson = json::array();
    for (const AddedToken& a : p.added)
        addedJson.push_back(json{{"id", a.id}, {"content", a.content}, {"single_word", false}, {"lstrip", false},
                                 {"rstrip", false}, {"normalized", false}, {"special", a.special}});
    json post = json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
    if (p.addBos && p.bos >= 0) {
        const std::string bos = p.tokens[p.bos];
        post = json{{"type", "TemplateProcessing"},
                    {"single", json::array({json{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
                                            json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                    {"pair", json::array({json{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
                                          json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                          json{{"SpecialToken", {{"id", bos}, {"type_id", 1}}}},
                                          json{{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
                    {"special_tokens", {{bos, {{"id", bos}, {"ids", json::array({p.bos})}, {"tokens", json::array({bos})}}}}}};
    }
    std::string out = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n";
    out += "  \"added_tokens\": " + addedJson.dump() + ",\n";
    out += "  \"normalizer\": null,\n";
    out += "  \"pre_tokenizer\": " + preTokenizerJson(p.pre).dump() + ",\n";
    out += "  \"post_processor\": " + post.dump() + ",\n";
    out += "  \"decoder\": " +
           json{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}.dump() +
           ",\n";
    out += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": ";
    out += p.unk >= 0 ? str(p.tokens[p.unk]) : std::string("null");
    out += ",\n    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n";
    out += "    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n";
    out += std::string("    \"ignore_merges\": ") + (p.ignoreMerges ? "true" : "false") + ",\n";
    out += "    \"vocab\": {";
    bool first = true;
    // Added tokens are in the vocabulary too: Hugging Face keeps an added token's id only when
    // the vocabulary has it or it comes after all of it.
    for (std::size_t id = 0; id < p.tokens.size(); ++id) {
        out += first ? "\n      " : ",\n      ";
        first = false;
        out += str(p.tokens[id]) + ": " + std::to_string(id);
    }
    out += "\n    },\n    \"merges\": [";
    for (std::size_t k = 0; k < p.merges.size(); ++k) {
        out += k ? ",\n      [" : "\n      [";
        out += str(p.merges[k].first) + ", " + str(p.merges[k].second) + "]";
    }
    out += "\n    ]\n  }\n}\n";

    const auto role = [&](std::int32_t id) { return id >= 0 ? json(p.tokens[id]) : json(nullptr); };
    json config{{"tokenizer_class", "PreTrainedTokenizerFast"},
                {"bos_token", role(p.bos)},
                {"eos_token", role(p.eos)},
                {"pad_token", role(p.pad)},
                {"unk_token", role(p.unk)},
                {"add_bos_token", p.addBos},
                {"add_eos_token", false}};
    writeFileAtomically((dir / "tokenizer_config.json").string(), config.dump(2) + "\n");
    writeFileAtomically(path, out);
}

Tokenizer Tokenizer::fromGgufVocabulary(const GgufVocabulary& v) {
    if (v.model != "gpt2") {
        static const std::map<std::string, std::string> kinds = {
            {"llama", "SentencePiece"}, {"bert", "WordPiece"}, {"t5", "Unigram"}, {"rwkv", "RWKV"},
            {"plamo2", "PLaMo-2"}, {"none", "no tokenizer"}};
        const auto it = kinds.find(v.model);
        throw UserError("tokenizer model '" + v.model + "'" + (it == kinds.end() ? "" : " (" + it->second + ")") +
                        " is not supported; only 'gpt2' (byte-level BPE) is");
    }
    detail::TokenizerParts parts;
    parts.vocabName = "GGUF vocabulary";
    parts.mergesName = "GGUF merges";
    parts.mergesIndexed = true;
    parts.requireAllBytes = false;
    if (v.pre.empty() || v.pre == "default" || v.pre == "gpt2") {
        parts.pre = PreTokenizer::Gpt2;
    } else if (v.pre == "smollm") {
        parts.pre = PreTokenizer::Gpt2Digits;
    } else if (v.pre == "llama-bpe" || v.pre == "llama3" || v.pre == "llama-v3") {
        parts.pre = PreTokenizer::Llama3;
        parts.ignoreMerges = true; // as llama.cpp does for these, matching Llama 3's tokenizer.json
    } else if (v.pre == "qwen2") {
        parts.pre = PreTokenizer::Qwen2;
    } else {
        throw UserError("tokenizer pre-tokeniser '" + v.pre +
                        "' is not supported (supported: default, gpt2, smollm, llama-bpe, llama3, llama-v3, qwen2)");
    }
    if (!v.tokenTypes.empty() && v.tokenTypes.size() != v.tokens.size())
        throw UserError("GGUF vocabulary: " + std::to_string(v.tokens.size()) + " tokens but " +
                        std::to_string(v.tokenTypes.size()) + " token types");
    parts.tokens = v.tokens;
    parts.uniqueTokens = false; // padded GGUF vocabularies repeat tokens; llama.cpp keeps one id
    for (std::size_t id = 0; id < v.tokenTypes.size(); ++id) {
        const std::int32_t t = v.tokenTypes[id];
        // An empty control token can never match; it stays an ordinary (unreachable) token.
        if ((t == 3 || t == 4) && !v.tokens[id].empty())
            parts.added.push_back({v.tokens[id], static_cast<std::int32_t>(id), t == 3});
    }
    parts.merges.reserve(v.merges.size());
    for (std::size_t k = 0; k < v.merges.size(); ++k) {
        const std::string& m = v.merges[k];
        // As llama.cpp: the separator is the first space after the first character.
        const std::size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
        if (sp == std::string::npos || sp + 1 == m.size())
            throw UserError("GGUF merges: merge " + std::to_string(k) + " \"" + m + "\" is not two tokens separated by a space");
        parts.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
    }
    parts.bos = v.bosId;
    parts.eos = v.eosId;
    parts.pad = v.padId;
    parts.unk = v.unkId;
    parts.addBos = v.addBos && v.bosId >= 0;
    return fromParts(std::move(parts));
}

} // namespace larimar
