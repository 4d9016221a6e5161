#include "core/train/corpus.h"

#include "core/util/error.h"

#include <cctype>
#include <fstream>

namespace larimar {
namespace {

std::string article(const std::string& word) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(word.empty() ? 'x' : word[0])));
    return (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') ? "An" : "A";
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

} // namespace

std::vector<std::string> loadWordNetSentences(const std::string& dir, std::size_t limit) {
    std::vector<std::string> out;
    for (const char* pos : {"noun", "verb", "adj", "adv"}) {
        const std::string path = dir + "/data." + pos;
        std::ifstream in(path);
        if (!in) throw UserError("cannot read WordNet file " + path + " (Debian package wordnet-base)");
        std::string line;
        while (std::getline(in, line) && out.size() < limit) {
            if (line.empty() || line[0] == ' ') continue; // licence header
            const auto bar = line.find(" | ");
            if (bar == std::string::npos) continue;
            // Fields: offset lex_filenum ss_type w_cnt(hex) word lex_id ...
            std::size_t p = 0;
            std::string fields[5];
            for (auto& f : fields) {
                const auto e = line.find(' ', p);
                f = line.substr(p, e - p);
                p = e + 1;
            }
            std::string lemma = fields[4];
            for (char& c : lemma)
                if (c == '_') c = ' ';
            if (const auto paren = lemma.find('('); paren != std::string::npos) lemma = trim(lemma.substr(0, paren));
            const std::string gloss = line.substr(bar + 3);
            // The gloss: definition; "example"; "example"
            std::string definition;
            std::size_t i = 0;
            while (i < gloss.size()) {
                auto semi = gloss.find(';', i);
                std::string part = trim(gloss.substr(i, semi == std::string::npos ? std::string::npos : semi - i));
                i = semi == std::string::npos ? gloss.size() : semi + 1;
                if (part.empty()) continue;
                if (part.front() == '"') {
                    const auto close = part.find('"', 1);
                    std::string example = part.substr(1, close == std::string::npos ? std::string::npos : close - 1);
                    if (example.size() > 12) out.push_back(trim(example));
                } else if (definition.empty()) {
                    definition = part;
                }
            }
            if (!definition.empty()) {
                if (std::string(pos) == "noun")
                    out.push_back(article(lemma) + " " + lemma + " is " + definition + ".");
                else if (std::string(pos) == "verb")
                    out.push_back("To " + lemma + " means to " + definition + ".");
                else
                    out.push_back("\"" + lemma + "\" means " + definition + ".");
            }
        }
    }
    if (out.size() > limit) out.resize(limit);
    return out;
}

TrainingCorpus TrainingCorpus::load(const CorpusSources& s) {
    TrainingCorpus c;
    for (const auto& f : s.editFiles) {
        auto cases = loadEditCases(f, DatasetFormat::Auto, &c.skipped);
        c.cases.insert(c.cases.end(), cases.begin(), cases.end());
    }
    if (!s.wordnetDir.empty()) c.plainText = loadWordNetSentences(s.wordnetDir, s.maxPlainSentences);
    return c;
}

std::vector<std::string> TrainingCorpus::allTexts() const {
    std::vector<std::string> t;
    t.reserve(cases.size() * 6 + plainText.size());
    for (const auto& e : cases) {
        t.push_back(e.prompt + " " + e.targetTrue);
        t.push_back(e.editText());
        for (const auto& p : e.paraphrasePrompts) t.push_back(p + " " + e.targetTrue);
        for (std::size_t i = 0; i < e.neighbourhoodPrompts.size(); ++i)
            t.push_back(e.neighbourhoodPrompts[i] + " " + e.neighbourhoodAnswers[i]);
    }
    t.insert(t.end(), plainText.begin(), plainText.end());
    return t;
}

} // namespace larimar
