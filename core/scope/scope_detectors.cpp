#include "core/scope/scope_detectors.h"

#include "core/scope/minilm_encoder.h"
#include "core/scope/scope_classifier.h"
#include "core/scope/sentence_split.h"
#include "core/store/fact_embeddings.h"
#include "core/util/error.h"
#include "core/util/model_paths.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>

namespace larimar {

// ---------------------------------------------------------------------------------------
// ESD

EsdScopeDetector::EsdScopeDetector(std::shared_ptr<const SentenceEncoder> encoder, EsdOptions options)
    : m_encoder(std::move(encoder)), m_options(std::move(options)) {
    if (!m_encoder) throw Error("EsdScopeDetector: no sentence encoder");
    if (m_options.batch < 1) m_options.batch = 64;
    // A word of the query that no written fact has, but that the encoder's vocabulary holds as
    // one whole piece, is a common word of the language (new wording), not an unknown name.
    m_lexical.setUnseenWeight([encoder = m_encoder, w = m_options.commonWordWeight](const std::string& word) {
        return encoder->isCommonWord(word) ? w : 1.0;
    });
}

double EsdScopeDetector::defaultThreshold() const {
    if (m_options.threshold) return *m_options.threshold;
    return m_options.scoring == EsdScore::Hybrid ? kEsdThreshold : kEsdCosineThreshold;
}

std::string EsdScopeDetector::name() const {
    // The cosine-only name says which encoder (another one, e.g. a test's, shows its id).
    if (m_options.scoring == EsdScore::Hybrid) return "esd hybrid";
    const std::string id = m_encoder->id();
    return id == kMiniLmEncoderId ? "esd minilm" : "esd " + id;
}

EsdScopeDetector::~EsdScopeDetector() = default;

FactEmbeddingCache* EsdScopeDetector::cache() {
    if (m_options.workspacePath.empty()) return nullptr;
    // Opened on first use: the Editor creates and migrates the file before it calls reset().
    if (!m_cache) m_cache = std::make_unique<FactEmbeddingCache>(m_options.workspacePath);
    return m_cache.get();
}

void EsdScopeDetector::embedAndAdd(const std::vector<Fact>& facts, bool store) {
    const auto total = static_cast<std::int64_t>(facts.size());
    for (std::size_t begin = 0; begin < facts.size(); begin += static_cast<std::size_t>(m_options.batch)) {
        const std::size_t end = std::min(facts.size(), begin + static_cast<std::size_t>(m_options.batch));
        std::vector<std::string> texts;
        for (std::size_t i = begin; i < end; ++i) texts.push_back(facts[i].text);
        auto vectors = m_encoder->embed(texts);
        std::vector<std::pair<std::int64_t, std::vector<float>>> rows;
        for (std::size_t i = begin; i < end; ++i) {
            addEmbedded(facts[i], vectors[i - begin]);
            if (store) rows.emplace_back(facts[i].id, std::move(vectors[i - begin]));
        }
        if (store) storeVectors(rows);
        if (m_options.progress) m_options.progress(static_cast<std::int64_t>(end), total);
    }
}

void EsdScopeDetector::addEmbedded(const Fact& fact, const std::vector<float>& vector) {
    m_index.add(fact.id, vector);
    m_lexical.add(fact.id, fact.text);
    m_texts[fact.id] = fact.text;
}

void EsdScopeDetector::storeVectors(const std::vector<std::pair<std::int64_t, std::vector<float>>>& rows) {
    // The cache only saves work on the next open: the Editor has already committed these
    // facts, so failing to store their vectors (a busy or read-only file) must not fail
    // the write. They are embedded again on the next open.
    if (rows.empty()) return;
    try {
        if (auto* c = cache()) c->store(m_encoder->id(), rows);
    } catch (const std::exception&) {
    }
}

void EsdScopeDetector::prepare(const std::vector<std::string>& texts) {
    const auto total = static_cast<std::int64_t>(texts.size());
    for (std::size_t begin = 0; begin < texts.size(); begin += static_cast<std::size_t>(m_options.batch)) {
        const std::size_t end = std::min(texts.size(), begin + static_cast<std::size_t>(m_options.batch));
        const std::vector<std::string> piece(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                             texts.begin() + static_cast<std::ptrdiff_t>(end));
        auto vectors = m_encoder->embed(piece);
        for (std::size_t i = 0; i < piece.size(); ++i) m_prepared[piece[i]] = std::move(vectors[i]);
        if (m_options.progress) m_options.progress(static_cast<std::int64_t>(end), total);
    }
}

void EsdScopeDetector::reset(const std::vector<Fact>& written) {
    m_index.clear();
    m_lexical.clear();
    m_texts.clear();
    std::unordered_map<std::int64_t, std::vector<float>> stored;
    if (auto* c = cache(); c && !written.empty()) stored = c->load(m_encoder->id(), m_encoder->dimension());
    std::vector<Fact> missing;
    for (const auto& f : written) {
        auto it = stored.find(f.id);
        if (it == stored.end()) {
            missing.push_back(f);
            continue;
        }
        m_index.add(f.id, it->second);
        m_lexical.add(f.id, f.text);
        m_texts[f.id] = f.text;
    }
    embedAndAdd(missing, true);
}

void EsdScopeDetector::added(const std::vector<Fact>& facts) {
    std::vector<Fact> missing;
    std::vector<std::pair<std::int64_t, std::vector<float>>> rows;
    for (const auto& f : facts) {
        const auto it = m_prepared.find(f.text);
        if (it == m_prepared.end()) {
            missing.push_back(f);
            continue;
        }
        addEmbedded(f, it->second);
        rows.emplace_back(f.id, it->second);
    }
    m_prepared.clear(); // what a cancelled batch prepared is not kept
    storeVectors(rows);
    embedAndAdd(missing, true);
}

void EsdScopeDetector::removed(const std::vector<std::int64_t>& factIds) {
    for (auto id : factIds) {
        m_index.remove(id);
        m_lexical.remove(id);
        m_texts.erase(id);
    }
}

void EsdScopeDetector::addEmbeddings(const std::vector<std::int64_t>& ids, const std::vector<std::vector<float>>& vectors) {
    if (ids.size() != vectors.size()) throw Error("EsdScopeDetector::addEmbeddings: ids and vectors differ in number");
    for (std::size_t i = 0; i < ids.size(); ++i) m_index.add(ids[i], vectors[i]);
}

ScopeDecision EsdScopeDetector::decide(const std::string& prompt, double threshold) const {
    if (m_options.scoring == EsdScore::Hybrid) return decideHybrid(prompt, std::clamp(threshold, -1.0, 1.0));
    return decideScope(*m_encoder, m_index, prompt, static_cast<float>(std::clamp(threshold, -1.0, 1.0)));
}

ScopeDecision EsdScopeDetector::decideHybrid(const std::string& prompt, double threshold) const {
    ScopeDecision decision;
    if (m_index.empty()) return decision; // nothing written: out of scope, nothing embedded
    const auto sentences = splitSentences(prompt);
    if (sentences.empty()) return decision;
    const auto embeddings = m_encoder->embed(sentences);
    const double w = m_options.cosineWeight;
    for (std::size_t i = 0; i < sentences.size(); ++i) {
        const auto nearest = m_index.nearest(embeddings[i]);
        if (!nearest) continue;
        std::vector<double> nearestLex;
        const auto lexical = m_lexical.best(sentences[i], kEsdLexicalCandidates, {nearest->id}, &nearestLex);
        std::vector<std::int64_t> ids;
        ids.reserve(lexical.size());
        for (const auto& m : lexical) ids.push_back(m.id);
        const auto cosines = m_index.cosines(embeddings[i], ids);
        auto consider = [&](std::int64_t id, double cosine, double lex) {
            if (std::isnan(cosine)) return; // words without an embedding (cannot happen via added())
            const double score = w * std::max(cosine, 0.0) + (1.0 - w) * lex;
            if (!decision.nearestFactId || score > decision.score) {
                decision.score = static_cast<float>(score);
                decision.nearestFactId = id;
                decision.sentence = static_cast<int>(i);
            }
        };
        consider(nearest->id, nearest->cosine, nearestLex.at(0));
        for (std::size_t k = 0; k < lexical.size(); ++k) consider(ids[k], cosines[k], lexical[k].similarity);
    }
    decision.inScope = decision.nearestFactId.has_value() && decision.score >= threshold;
    return decision;
}

ScopeScore EsdScopeDetector::score(const std::string& prompt) {
    const ScopeDecision d = decide(prompt, defaultThreshold());
    ScopeScore s;
    s.score = d.score; // -1 when the index is empty
    s.nearestFactId = d.nearestFactId;
    if (d.nearestFactId) s.nearestText = factText(*d.nearestFactId);
    return s;
}

std::string EsdScopeDetector::factText(std::int64_t id) const {
    const auto it = m_texts.find(id);
    return it == m_texts.end() ? std::string() : it->second;
}

// ---------------------------------------------------------------------------------------
// ISD

InternalScopeDetector::InternalScopeDetector(std::shared_ptr<TextModel> model,
                                             std::shared_ptr<const ScopeClassifier> classifier)
    : m_model(std::move(model)), m_classifier(std::move(classifier)) {
    if (!m_model) throw Error("InternalScopeDetector: no model");
}

InternalScopeDetector::~InternalScopeDetector() = default;

IsdDetails InternalScopeDetector::details(const std::string& prompt) {
    IsdDetails best;
    if (m_written <= 0) return best;
    if (!m_memory) throw Error("InternalScopeDetector: no memory connected (connectScopeDetector)");
    const EpisodicMemory* memory = m_memory();
    if (!memory) throw Error("InternalScopeDetector: the memory source gave no memory");
    auto sentences = splitSentences(prompt);
    if (sentences.empty()) sentences.push_back(prompt);
    const Eigen::MatrixXd z = m_model->encode(sentences);
    const ReadResult read = memory->read(z);
    bool first = true;
    for (Eigen::Index i = 0; i < z.rows(); ++i) {
        const Eigen::RowVectorXd zi = z.row(i);
        const Eigen::RowVectorXd ri = read.readout.row(i);
        const double norm = zi.norm();
        IsdDetails d;
        d.distance = norm > 0 ? (ri - zi).norm() / norm : 1.0;
        if (m_classifier && norm > 0) d.probability = m_classifier->probability(zi, ri, read.weights.row(i));
        d.score = d.probability ? *d.probability : 1.0 - d.distance;
        if (first || d.score > best.score) best = d;
        first = false;
    }
    return best;
}

ScopeScore InternalScopeDetector::score(const std::string& prompt) {
    ScopeScore s;
    s.score = details(prompt).score;
    return s;
}

// ---------------------------------------------------------------------------------------
// Factory

std::shared_ptr<const SentenceEncoder> sharedSentenceEncoder(const std::string& dir) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<const SentenceEncoder>> loaded;
    const std::string d = dir.empty() ? findAssetDir(kMiniLmAssetName) : dir;
    if (!MiniLmSentenceEncoder::present(d)) return nullptr;
    std::lock_guard<std::mutex> lock(mutex);
    auto& slot = loaded[d];
    if (!slot) slot = MiniLmSentenceEncoder::load(d);
    return slot;
}

std::shared_ptr<ScopeDetector> makeScopeDetector(const ScopeDetectorSetup& setup) {
    const std::string& kind = setup.kind;
    if (kind == "esd-use-lite" || kind == "esd-hybrid-use-lite")
        throw UserError("scope detector '" + kind + "' was retired with Universal Sentence Encoder Lite: use esd (the "
                        "hybrid score, on MiniLM) or esd-minilm (MiniLM cosine alone)");
    if (kind != "auto" && kind != "esd" && kind != "esd-hybrid" && kind != "esd-minilm" && kind != "isd")
        throw UserError("unknown scope detector '" + kind + "' (choose auto, esd, esd-hybrid, esd-minilm or isd)");
    if (kind != "isd") {
        auto encoder = sharedSentenceEncoder(setup.assetDir);
        if (encoder) {
            EsdOptions o;
            o.workspacePath = setup.workspacePath;
            o.progress = setup.progress;
            o.scoring = kind == "esd-minilm" ? EsdScore::Cosine : EsdScore::Hybrid;
            if (setup.esdCosineWeight) o.cosineWeight = *setup.esdCosineWeight;
            if (setup.esdCommonWordWeight) o.commonWordWeight = *setup.esdCommonWordWeight;
            return std::make_shared<EsdScopeDetector>(std::move(encoder), o);
        }
        if (kind != "auto")
            throw UserError("the external scope detector needs all-MiniLM-L6-v2 (models/assets/minilm" +
                            (setup.assetDir.empty() ? std::string() : ", looked in " + setup.assetDir) +
                            "); run models/fetch-assets.sh");
    }
    if (!setup.model) throw UserError("the internal scope detector needs the Larimar model");
    std::shared_ptr<const ScopeClassifier> classifier;
    if (!setup.modelDir.empty()) {
        const auto path = std::filesystem::path(setup.modelDir) / kScopeClassifierFile;
        if (std::filesystem::exists(path)) {
            auto c = std::make_shared<ScopeClassifier>(ScopeClassifier::load(path.string()));
            // A classifier trained on another model's encodings would be meaningless here.
            if (c->modelHash == setup.model->weightsHash() && c->latentSize == setup.model->latentSize())
                classifier = std::move(c);
        }
    }
    return std::make_shared<InternalScopeDetector>(setup.model, std::move(classifier));
}

void connectScopeDetector(ScopeDetector& detector, const Editor& editor) {
    if (auto* isd = dynamic_cast<InternalScopeDetector*>(&detector))
        isd->setMemory([&editor]() { return &editor.memory(); });
}

} // namespace larimar
