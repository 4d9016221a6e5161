#include "core/editor/synthetic_text_model.h"

#include "core/util/error.h"
#include "core/util/sha256.h"

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

namespace larimar {

SyntheticTextModel::SyntheticTextModel(SyntheticModelOptions options) : m_options(std::move(options)) {
    if (m_options.slots < 1 || m_options.width < 1) throw UserError("synthetic model: K and C must be positive");
    std::mt19937_64 rng(m_options.seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    m_prior.resize(m_options.slots, m_options.width);
    for (Eigen::Index i = 0; i < m_prior.rows(); ++i)
        for (Eigen::Index j = 0; j < m_prior.cols(); ++j) m_prior(i, j) = normal(rng);
    m_unit.resize(64, m_options.width);
}

std::string SyntheticTextModel::id() const { return m_options.name + " " + m_options.version; }

std::string SyntheticTextModel::weightsHash() const {
    std::ostringstream s;
    s << "synthetic:" << id() << ':' << m_options.seed << ':' << m_options.slots << 'x' << m_options.width;
    return toHex(sha256(s.str()));
}

Eigen::RowVectorXd SyntheticTextModel::encodingOf(const std::string& text) const {
    const Sha256Digest d = sha256(text);
    std::uint64_t seed = 0;
    std::memcpy(&seed, d.data(), sizeof seed);
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    Eigen::RowVectorXd z(m_options.width);
    for (Eigen::Index j = 0; j < z.size(); ++j) z(j) = normal(rng);
    return z;
}

Eigen::MatrixXd SyntheticTextModel::encode(const std::vector<std::string>& texts) {
    Eigen::MatrixXd z(static_cast<Eigen::Index>(texts.size()), m_options.width);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const Eigen::RowVectorXd e = encodingOf(texts[i]);
        z.row(static_cast<Eigen::Index>(i)) = e;
        if (m_index.count(texts[i])) continue;
        const auto row = static_cast<Eigen::Index>(m_texts.size());
        if (row >= m_unit.rows()) m_unit.conservativeResize(2 * m_unit.rows(), Eigen::NoChange);
        m_unit.row(row) = e / e.norm();
        m_index.emplace(texts[i], m_texts.size());
        m_texts.push_back(texts[i]);
    }
    return z;
}

GeneratedText SyntheticTextModel::generate(const std::string& prompt, const std::optional<Eigen::RowVectorXd>& latent,
                                           const DecodeSettings& settings) {
    m_prompts.insert(prompt);
    std::string text = plainAnswer(prompt);
    double probability = 0.6;
    if (latent && latent->size() == m_options.width && latent->norm() > 1e-9) {
        const Eigen::VectorXd cos =
            m_unit.topRows(static_cast<Eigen::Index>(m_texts.size())) * (latent->transpose() / latent->norm());
        double best = -1;
        for (std::size_t i = 0; i < m_texts.size(); ++i) {
            if (m_prompts.count(m_texts[i])) continue;
            const double c = std::abs(cos(static_cast<Eigen::Index>(i)));
            if (c > best) {
                best = c;
                text = m_texts[i];
            }
        }
        if (best >= 0) probability = std::max(0.05, best);
    }
    GeneratedText out;
    std::istringstream words(text);
    std::string w;
    std::string kept;
    while (words >> w && static_cast<int>(out.tokens.size()) < settings.maxNewTokens) {
        TokenChoice t;
        t.text = (kept.empty() ? "" : " ") + w;
        t.probability = probability;
        t.alternatives = {{t.text, probability}};
        kept += t.text;
        out.tokens.push_back(std::move(t));
    }
    out.text = kept;
    return out;
}

double SyntheticTextModel::score(const std::string& prompt, const std::string& continuation,
                                 const std::optional<Eigen::RowVectorXd>& latent) {
    if (!latent || latent->norm() <= 1e-9) return -1.0;
    const Eigen::RowVectorXd e = encodingOf(prompt + " " + continuation);
    return -(1.0 - std::abs(e.dot(*latent)) / (e.norm() * latent->norm()));
}

} // namespace larimar
