#pragma once
/// Paged Larimar memory: many K x C episodic memories (pages), so capacity grows with facts.
///
/// Writing. Facts fill pages in the order written: a fact goes to the last page while it holds
/// fewer than pageFacts written facts, else to a new page. A page is always, bit for bit, the
/// empty memory with its written facts written one row at a time in ascending fact id; a write
/// of newer facts extends a built page in place, a forget (or a write of an older id) rebuilds
/// the page from its remaining facts. So a forgotten fact leaves its page exactly as if it had
/// never been written, and the same facts give the same pages however they were written.
///
/// State. What is written where (fact id, page, and a hash of the fact's key and latent) is the
/// whole state: serialize() stores that table (about 30 bytes a fact), the digest covers it, and
/// pages are built from the facts' stored vectors (the loader) when first read or written. At
/// most cachePages built pages are kept (least recently used go; ~5 MB each for K = 256, C =
/// 384). Building a page costs O(n K (K + C)) for its n facts, its first read O(K^2 C) more.
///
/// Reading. A query reads one page: the page of the fact nearest to it, as the caller's index
/// names it (the scope detector's nearest fact), else by cosine between the query's latent and
/// the written facts' latents (an index built from the loader on first use, O(facts C) a query).
///
/// Capacity: maxFacts written facts; checkRoom() refuses more with a message.
#include "core/memory/cosine_index.h"
#include "core/memory/memory_backend.h"

#include <array>
#include <map>
#include <vector>

namespace larimar {

class PagedMemory final : public MemoryBackend {
public:
    PagedMemory(BackendSettings settings, const EpisodicMemory& empty, FactVectorLoader loader);

    const BackendSettings& settings() const override { return m_settings; }
    int slots() const override { return m_empty->slots(); }
    int width() const override { return m_empty->width(); }
    /// Row by row, so a fact's key does not depend on what it was written with (a matrix
    /// product's rounding depends on its row count).
    Eigen::MatrixXd keys(const Eigen::MatrixXd& z) const override;

    void checkRoom(std::int64_t more) const override;
    void write(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys, const Eigen::MatrixXd& z) override;
    void forget(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys, const Eigen::MatrixXd& z) override;
    MemoryRead read(const Eigen::MatrixXd& zq, std::optional<std::int64_t> nearestFact = {}) override;

    std::vector<std::uint8_t> serialize() const override;
    static std::unique_ptr<PagedMemory> deserialize(BackendSettings settings, const EpisodicMemory& empty,
                                                    FactVectorLoader loader, const std::vector<std::uint8_t>& blob);
    std::string digest() const override;
    MemoryCapacity capacity() const override;
    std::unique_ptr<MemoryBackend> clone() const override;

    int pageOf(std::int64_t factId) const override;
    const EpisodicMemory& page(int index) override;
    std::vector<std::int64_t> factsInPage(int index) const override;

    /// Pages built in RAM now (for tests and `larimar bench`).
    int builtPages() const;
    /// The page a single query (1 x C) would read, and why; -1 when nothing is written.
    int route(const Eigen::RowVectorXd& zq, std::optional<std::int64_t> nearestFact);

private:
    PagedMemory(BackendSettings settings, std::shared_ptr<const EpisodicMemory> empty, FactVectorLoader loader);
    using VecHash = std::array<std::uint8_t, 16>;
    struct Entry {
        int page = 0;
        bool written = false;
        VecHash hash{};
    };
    struct Page {
        std::int64_t written = 0;
        std::shared_ptr<const EpisodicMemory> built; ///< null: not built; shared with clones
        std::int64_t builtUpTo = 0;                  ///< largest fact id written into `built`
        std::uint64_t lastUse = 0;
    };
    struct Index { ///< routing index of written facts' latents, built on first use
        bool valid = false;
        CosineIndex facts;
    };

    void requireShapes(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys,
                       const Eigen::MatrixXd& z) const;
    static VecHash hashOf(const Eigen::MatrixXd& keys, const Eigen::MatrixXd& z, Eigen::Index row);
    /// The page built from its written facts; builtUpTo: the largest id written into it.
    std::shared_ptr<const EpisodicMemory> build(int index, std::int64_t& builtUpTo) const;
    const EpisodicMemory& touch(int index);
    void evict();
    void buildIndex();
    void indexAdd(std::int64_t id, const Eigen::RowVectorXd& z);
    void indexRemove(std::int64_t id);

    BackendSettings m_settings;
    std::shared_ptr<const EpisodicMemory> m_empty;
    FactVectorLoader m_loader;
    struct Row {
        std::int64_t id = 0;
        Entry e;
    };
    Entry* find(std::int64_t id);
    const Entry* find(std::int64_t id) const;
    Entry& insert(std::int64_t id); ///< the entry of id, added (unwritten) if new
    std::vector<Row> m_facts; ///< every fact ever written here, ascending id (copies are cheap)
    std::vector<Page> m_pages;
    std::int64_t m_written = 0;
    std::uint64_t m_clock = 0;
    std::unique_ptr<Index> m_index = std::make_unique<Index>();
};

} // namespace larimar
