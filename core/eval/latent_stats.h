#pragma once
/// What a model's encoder puts into the memory, measured on a set of edit cases: whether fact
/// latents are told apart, whether a prompt finds its own fact, and how much of a latent the
/// answer decides. A model whose fact latents share one direction (mean pairwise cosine near 1)
/// gives the decoder an almost constant input: it can learn what kind of answer a fact has but
/// not which one. This is the check behind `larimar eval latents`.
#include "core/eval/datasets.h"
#include "core/model/text_model.h"

#include <vector>

namespace larimar {

struct LatentStats {
    int cases = 0;
    double meanNorm = 0;          ///< mean |z| of the edit sentences' latents
    double pairCosine = 0;        ///< mean cosine between the latents of two different facts
    double centredPairCosine = 0; ///< the same after subtracting the facts' mean latent
    double sharedFraction = 0;    ///< |mean latent|^2 / mean |z|^2: the part all facts share
    double spread = 0;            ///< mean over dimensions of the standard deviation across facts
    double promptOwnCosine = 0;   ///< mean cosine of a prompt's latent with its own fact's
    double promptOtherCosine = 0; ///< ... with the other facts'
    double retrievalTop1 = 0;     ///< fraction of prompts whose most similar fact latent is their own
    /// Mean |z(prompt_i + answer_j) - z(prompt_i + answer_i)| over mean |z_i - z_j| (j = i + 1):
    /// how much of what tells two facts apart the answer decides (0: the answer changes nothing).
    double answerShare = 0;
    /// Does the latent name the answer? d_i = z(fact_i) - z(prompt_i) is what writing the answer
    /// adds; each d_i is given the answer whose mean d (over the other cases with that answer,
    /// leave-one-out, cosine) is nearest. Only answers of at least 3 cases take part.
    double answerIdentified = 0; ///< fraction named right (NaN when no answer has 3 cases)
    int answerCases = 0;         ///< cases that took part
    int answerClasses = 0;       ///< distinct answers among them (chance is about 1 / this)
};

/// Encodes every case's edit sentence, its prompt, and its prompt with the next case's answer.
/// Needs at least 2 cases (UserError otherwise). Cost: 3 encodings per case plus O(n^2 C).
LatentStats measureLatents(TextModel& model, const std::vector<EditCase>& cases);

} // namespace larimar
