#pragma once
/// Needle in a haystack over the memory (`larimar eval longcontext`, issue 18 item 7): a long
/// document of true CounterFact sentences ("The mother tongue of X is French.") with needles
/// (counterfactual edits, "The Eiffel Tower is located in Rome.") at chosen depths is ingested
/// sentence by sentence into a fresh workspace (the editor's own write path, scope detector and
/// backend); each needle's prompt is then asked and judged recalled when the answer names the
/// needle's target before the true one (continuationNames). The same question is put to the
/// plain decoder with the document's last `window` tokens in front of it (its own context), so
/// a needle recalled there must lie inside the window. Cost per length L: encoding and scoring
/// about L / 12 sentences, then per needle one query and one decoder run over `window` tokens.
#include "core/editor/editor.h"
#include "core/eval/datasets.h"
#include "core/memory/memory_backend.h"
#include "core/model/text_model.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace larimar {

struct LongContextOptions {
    std::vector<int> lengths{4096, 16384, 65536}; ///< document length in the decoder's tokens
    std::vector<double> depths{0.1, 0.5, 0.9};    ///< where the needles sit, 0 = first sentence
    int window = 2048;      ///< tokens of the document the plain decoder sees before the question
    bool plain = true;      ///< also ask the plain decoder
    int generationTokens = 8;
    BackendSettings backend = EditorOptions::defaultBackend();
    /// The scope detector of each scratch workspace (empty: AnyFactScopeDetector).
    std::function<std::shared_ptr<ScopeDetector>(const std::string& workspacePath)> scope;
    std::string directory;  ///< where scratch workspaces go; empty: the temp directory
};

struct NeedleResult {
    int tokens = 0;         ///< the document's length
    double depth = 0;
    std::string needle, question, target;
    std::string memoryAnswer, plainAnswer;
    bool inScope = false;
    bool memoryRecalled = false;
    bool plainRecalled = false;
    bool insideWindow = false; ///< the needle lies within the plain decoder's window
};

struct LongContextResult {
    std::vector<NeedleResult> needles;
    int sentences = 0; ///< of the longest document
    double secondsIngest = 0;
};

/// Needles: the first depths.size() cases (edit sentences); filler: the true sentences of the
/// cases after them, repeated from the start if the file is too short. UserError when there are
/// fewer than depths.size() + 1 cases. progress(done, total) counts documents.
LongContextResult evaluateLongContext(const std::shared_ptr<TextModel>& model, const std::vector<EditCase>& cases,
                                      const LongContextOptions& options,
                                      const std::function<void(int, int)>& progress = {},
                                      const std::atomic<bool>* cancel = nullptr);

/// A document cut into sentences (after ". ", "! ", "? " or at line ends; blank parts dropped),
/// for `larimar ingest`.
std::vector<std::string> splitSentences(const std::string& text);

} // namespace larimar
