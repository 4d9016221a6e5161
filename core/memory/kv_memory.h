#pragma once
/// The "kv" backend: an explicit key-value memory in the manner of Memory³ (arXiv 2407.01178).
/// A fact is kept as the decoder's own attention keys/values over its text (TextModel::
/// attentionKv; the editor keeps them beside the fact, the backend only indexes), and a query
/// attends to the top-k facts' keys/values beside its prompt instead of reading a latent.
///
/// What this backend holds: the written facts and, for retrieval, the unit latents of them
/// (a cosine index, CosineIndex). A query's facts are the k nearest by cosine of its latent
/// (k = BackendSettings::topK), or with k = 1 the fact the caller's index found nearest
/// (the scope detector's), as the paged backend routes. MemoryRead::facts names them; the
/// readout is zero: the decoder attends instead (attends() is true).
///
/// Forget is exact by construction: the fact leaves the index and its keys/values are deleted;
/// no state mixes facts. Snapshot: the fact table (id, a hash of its vectors), the latents come
/// back through the loader, as the paged backend's do. Thread-safety: none.
#include "core/memory/cosine_index.h"
#include "core/memory/memory_backend.h"

#include <array>
#include <map>
#include <memory>

namespace larimar {

class KvMemory final : public MemoryBackend {
public:
    KvMemory(BackendSettings settings, const EpisodicMemory& empty, FactVectorLoader loader);

    const BackendSettings& settings() const override { return m_settings; }
    int slots() const override { return m_empty->slots(); }
    int width() const override { return m_empty->width(); }
    /// The empty memory's keys, as the other backends store them (kv reads do not use them).
    Eigen::MatrixXd keys(const Eigen::MatrixXd& z) const override { return m_empty->keys(z); }
    bool attends() const override { return true; }

    void checkRoom(std::int64_t more) const override;
    void write(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys, const Eigen::MatrixXd& z) override;
    void forget(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys, const Eigen::MatrixXd& z) override;
    MemoryRead read(const Eigen::MatrixXd& zq, std::optional<std::int64_t> nearestFact = {}) override;

    std::vector<std::uint8_t> serialize() const override;
    static std::unique_ptr<KvMemory> deserialize(BackendSettings settings, const EpisodicMemory& empty,
                                                 FactVectorLoader loader, const std::vector<std::uint8_t>& blob);
    std::string digest() const override;
    MemoryCapacity capacity() const override;
    std::unique_ptr<MemoryBackend> clone() const override;

    /// One "page" holding every written fact; page(0) is the empty episodic memory (this
    /// backend holds no episodic memory to plot).
    int pageOf(std::int64_t factId) const override;
    const EpisodicMemory& page(int index) override;
    std::vector<std::int64_t> factsInPage(int index) const override;
    int topK() const { return m_settings.topK > 0 ? m_settings.topK : 1; }

private:
    using VecHash = std::array<std::uint8_t, 16>;
    static VecHash hashOf(const Eigen::MatrixXd& z, Eigen::Index row);
    void buildIndex();

    BackendSettings m_settings;
    std::shared_ptr<const EpisodicMemory> m_empty;
    FactVectorLoader m_loader;
    std::map<std::int64_t, VecHash> m_facts; ///< written facts
    std::shared_ptr<CosineIndex> m_index;    ///< null until first needed; copied on write by clones
};

} // namespace larimar
