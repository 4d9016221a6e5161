#include "core/editor/longcontext.h"

#include "core/eval/counterfact_eval.h"
#include "core/util/error.h"
#include "core/util/file_io.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>


namespace larimar {

namespace {

std::string sentence(const std::string& prompt, const std::string& answer) {
    std::string s = prompt + " " + answer;
    if (!s.empty() && s.back() != '.') s += '.';
    return s;
}


} // namespace

std::vector<std::string> splitSentences(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        const auto b = cur.find_first_not_of(" \t\r\n");
        if (b != std::string::npos) {
            const auto e = cur.find_last_not_of(" \t\r\n");
            out.push_back(cur.substr(b, e - b + 1));
        }
        cur.clear();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\n' || c == '\r') {
            flush();
            continue;
        }
        cur += c;
        if ((c == '.' || c == '!' || c == '?') && (i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '\n'))
            flush();
    }
    flush();
    return out;
}

LongContextResult evaluateLongContext(const std::shared_ptr<TextModel>& model, const std::vector<EditCase>& cases,
                                      const LongContextOptions& o, const std::function<void(int, int)>& progress,
                                      const std::atomic<bool>* cancel) {
    if (!model) throw Error("evaluateLongContext: no model");
    if (o.depths.empty() || o.lengths.empty()) throw UserError("name at least one length and one depth");
    for (double d : o.depths)
        if (!(d >= 0 && d <= 1)) throw UserError("depths lie between 0 and 1");
    for (int l : o.lengths)
        if (l < 64 || l > 1 << 22) throw UserError("lengths lie between 64 and 4,194,304 tokens");
    if (o.window < 16) throw UserError("the decoder's window must be at least 16 tokens");
    const std::size_t needles = o.depths.size();
    if (cases.size() < needles + 1)
        throw UserError("the needle test needs " + std::to_string(needles + 1) + " cases or more; the file has " +
                        std::to_string(cases.size()));
    // Filler sentences, each with its length in the decoder's tokens.
    std::vector<std::pair<std::string, int>> filler;
    for (std::size_t i = needles; i < cases.size(); ++i) {
        const std::string s = sentence(cases[i].prompt, cases[i].targetTrue);
        filler.emplace_back(s, std::max<int>(1, static_cast<int>(model->tokenTexts(" " + s).size())));
    }
    LongContextResult result;
    const int total = static_cast<int>(o.lengths.size());
    int done = 0;
    const auto t0 = std::chrono::steady_clock::now();
    DecodeSettings greedy;
    greedy.maxNewTokens = o.generationTokens;
    for (const int length : o.lengths) {
        if (cancel && cancel->load()) break;
        // The document: filler up to `length` tokens, the needles placed at their depths.
        std::vector<std::string> doc;
        std::vector<int> tokens;
        int count = 0;
        for (std::size_t i = 0; count < length; ++i) {
            const auto& f = filler[i % filler.size()];
            doc.push_back(f.first);
            tokens.push_back(f.second);
            count += f.second;
        }
        std::vector<std::size_t> at(needles);
        for (std::size_t k = 0; k < needles; ++k) {
            const std::string s = sentence(cases[k].prompt, cases[k].targetNew);
            const std::size_t pos = std::min(doc.size(), static_cast<std::size_t>(std::lround(o.depths[k] * doc.size())));
            doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(pos), s);
            tokens.insert(tokens.begin() + static_cast<std::ptrdiff_t>(pos),
                          static_cast<int>(model->tokenTexts(" " + s).size()));
            for (std::size_t j = 0; j < k; ++j)
                if (at[j] >= pos) ++at[j];
            at[k] = pos;
        }
        result.sentences = std::max(result.sentences, static_cast<int>(doc.size()));
        int docTokens = 0;
        for (const int t : tokens) docTokens += t;
        // The plain decoder's context: the document's last window - 64 tokens (room for the question).
        std::size_t windowStart = doc.size();
        int inWindow = 0;
        while (windowStart > 0 && inWindow + tokens[windowStart - 1] <= o.window - 64) inWindow += tokens[--windowStart];
        std::string tail;
        for (std::size_t i = windowStart; i < doc.size(); ++i) tail += (tail.empty() ? "" : " ") + doc[i];

        ScratchDirectory dir(o.directory, "larimar-longcontext");
        const std::string path = (dir.path() / "haystack.larimar").string();
        EditorOptions eo;
        eo.actor = "eval-longcontext";
        eo.backend = o.backend;
        if (o.scope) eo.scope = o.scope(path);
        Editor ed(model, path, eo);
        std::vector<FactRecord> records;
        for (std::size_t i = 0; i < doc.size(); ++i) {
            FactRecord r;
            r.text = doc[i];
            r.source = "haystack#" + std::to_string(i + 1);
            records.push_back(std::move(r));
        }
        ed.writeBatch(records, "needle in a haystack", {}, cancel);
        for (std::size_t k = 0; k < needles; ++k) {
            if (cancel && cancel->load()) break;
            NeedleResult n;
            n.tokens = docTokens;
            n.depth = o.depths[k];
            n.needle = doc[at[k]];
            n.question = cases[k].prompt;
            n.target = cases[k].targetNew;
            QueryOptions qo;
            qo.decode = greedy;
            qo.record = false;
            const QueryResult q = ed.query(n.question, qo);
            n.inScope = q.inScope;
            n.memoryAnswer = q.withMemory.text;
            n.memoryRecalled = continuationNames(n.memoryAnswer, n.target, cases[k].targetTrue);
            n.insideWindow = at[k] >= windowStart;
            if (o.plain) {
                n.plainAnswer = model->generate(tail + "\n" + n.question, std::nullopt, greedy).text;
                n.plainRecalled = continuationNames(n.plainAnswer, n.target, cases[k].targetTrue);
            }
            result.needles.push_back(std::move(n));
        }
        if (progress) progress(++done, total);
    }
    result.secondsIngest = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace larimar
