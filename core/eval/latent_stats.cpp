#include "core/eval/latent_stats.h"

#include "core/util/error.h"

#include <Eigen/Dense>

#include <limits>
#include <map>
#include <string>

namespace larimar {
namespace {

Eigen::MatrixXd rowNormalised(const Eigen::MatrixXd& m) {
    Eigen::MatrixXd out = m;
    for (Eigen::Index i = 0; i < out.rows(); ++i) {
        const double n = out.row(i).norm();
        if (n > 0) out.row(i) /= n;
    }
    return out;
}

/// Mean of the off-diagonal entries of a square matrix.
double offDiagonalMean(const Eigen::MatrixXd& m) {
    const double n = static_cast<double>(m.rows());
    return (m.sum() - m.trace()) / (n * (n - 1));
}

} // namespace

LatentStats measureLatents(TextModel& model, const std::vector<EditCase>& cases) {
    const auto n = static_cast<Eigen::Index>(cases.size());
    if (n < 2) throw UserError("measuring latents needs at least 2 cases, got " + std::to_string(n));
    std::vector<std::string> facts, prompts, swapped;
    for (Eigen::Index i = 0; i < n; ++i) {
        const EditCase& c = cases[static_cast<std::size_t>(i)];
        facts.push_back(c.editText());
        prompts.push_back(c.prompt);
        swapped.push_back(c.prompt + " " + cases[static_cast<std::size_t>((i + 1) % n)].targetNew);
    }
    const Eigen::MatrixXd z = model.encode(facts), zp = model.encode(prompts), zs = model.encode(swapped);

    LatentStats s;
    s.cases = static_cast<int>(n);
    s.meanNorm = z.rowwise().norm().mean();
    const Eigen::MatrixXd nz = rowNormalised(z);
    s.pairCosine = offDiagonalMean(nz * nz.transpose());
    const Eigen::RowVectorXd centre = z.colwise().mean();
    const Eigen::MatrixXd zc = z.rowwise() - centre;
    const Eigen::MatrixXd nc = rowNormalised(zc);
    s.centredPairCosine = offDiagonalMean(nc * nc.transpose());
    const double meanSq = z.rowwise().squaredNorm().mean();
    s.sharedFraction = meanSq > 0 ? centre.squaredNorm() / meanSq : 0.0;
    s.spread = (zc.colwise().squaredNorm() / static_cast<double>(n - 1)).array().sqrt().mean();

    const Eigen::MatrixXd cross = rowNormalised(zp) * nz.transpose(); // [prompt, fact]
    s.promptOwnCosine = cross.trace() / static_cast<double>(n);
    s.promptOtherCosine = offDiagonalMean(cross);
    int found = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
        Eigen::Index best = 0;
        cross.row(i).maxCoeff(&best);
        found += best == i;
    }
    s.retrievalTop1 = static_cast<double>(found) / static_cast<double>(n);

    double answer = 0, apart = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
        answer += (zs.row(i) - z.row(i)).norm();
        apart += (z.row((i + 1) % n) - z.row(i)).norm();
    }
    s.answerShare = apart > 0 ? answer / apart : 0.0;

    std::map<std::string, std::vector<Eigen::Index>> byAnswer;
    for (Eigen::Index i = 0; i < n; ++i) byAnswer[cases[static_cast<std::size_t>(i)].targetNew].push_back(i);
    const Eigen::MatrixXd d = z - zp;
    std::vector<std::pair<Eigen::RowVectorXd, const std::vector<Eigen::Index>*>> classes; // sum of d, members
    for (const auto& [a, members] : byAnswer) {
        if (members.size() < 3) continue;
        Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(z.cols());
        for (auto i : members) sum += d.row(i);
        classes.emplace_back(sum, &members);
    }
    s.answerClasses = static_cast<int>(classes.size());
    int right = 0;
    for (std::size_t c = 0; c < classes.size(); ++c)
        for (auto i : *classes[c].second) {
            double best = -2;
            std::size_t pick = 0;
            for (std::size_t k = 0; k < classes.size(); ++k) {
                Eigen::RowVectorXd centre = classes[k].first;
                if (k == c) centre -= d.row(i); // leave the case out of its own answer's mean
                const double den = centre.norm() * d.row(i).norm();
                const double cos = den > 0 ? centre.dot(d.row(i)) / den : -1;
                if (cos > best) best = cos, pick = k;
            }
            right += pick == c;
            ++s.answerCases;
        }
    s.answerIdentified = s.answerCases ? double(right) / s.answerCases : std::numeric_limits<double>::quiet_NaN();
    return s;
}

} // namespace larimar
