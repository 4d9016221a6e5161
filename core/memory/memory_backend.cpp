#include "core/memory/memory_backend.h"

#include "core/memory/kv_memory.h"
#include "core/memory/paged_memory.h"
#include "core/util/error.h"

namespace larimar {

namespace {

/// "larimar": one EpisodicMemory. Its blob and digest are EpisodicMemory's own, so
/// workspaces made before backends existed open unchanged.
class SingleMemory final : public MemoryBackend {
public:
    SingleMemory(BackendSettings settings, EpisodicMemory memory)
        : m_settings(std::move(settings)), m_memory(std::move(memory)) {
        m_settings.kind = "larimar";
    }

    const BackendSettings& settings() const override { return m_settings; }
    int slots() const override { return m_memory.slots(); }
    int width() const override { return m_memory.width(); }
    Eigen::MatrixXd keys(const Eigen::MatrixXd& z) const override { return m_memory.keys(z); }

    std::int64_t limit() const { return m_settings.maxFacts > 0 ? m_settings.maxFacts : slots(); }
    void checkRoom(std::int64_t more) const override {
        const std::int64_t now = m_memory.writtenRows();
        if (m_settings.maxFacts > 0 && now + more > m_settings.maxFacts)
            throw UserError("the memory holds at most " + std::to_string(m_settings.maxFacts) + " facts (it has " +
                            std::to_string(now) + "; writing " + std::to_string(more) + " more would make " +
                            std::to_string(now + more) + ")");
        if (m_settings.maxFacts == 0 && now + more > slots())
            throw UserError("this workspace's memory is one Larimar memory of " + std::to_string(slots()) +
                            " slots: it holds at most " + std::to_string(slots()) + " facts (it has " +
                            std::to_string(now) + "; writing " + std::to_string(more) + " more would make " +
                            std::to_string(now + more) +
                            "); past that the facts blur into each other. Forget facts first, or use a "
                            "paged workspace (--backend paged), whose capacity grows with its facts");
    }
    void write(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys, const Eigen::MatrixXd& z) override {
        checkIds(ids, z);
        checkRoom(z.rows());
        m_memory.writeWithKeys(keys, z);
    }
    void forget(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys, const Eigen::MatrixXd& z) override {
        checkIds(ids, z);
        m_memory.forgetWithKeys(keys, z);
    }
    MemoryRead read(const Eigen::MatrixXd& zq, std::optional<std::int64_t>) override {
        ReadResult r = m_memory.read(zq);
        MemoryRead out;
        out.weights = std::move(r.weights);
        out.readout = std::move(r.readout);
        out.pages.assign(static_cast<std::size_t>(zq.rows()), 0);
        return out;
    }
    std::vector<std::uint8_t> serialize() const override { return m_memory.serialize(); }
    std::string digest() const override { return m_memory.digest(); }
    MemoryCapacity capacity() const override {
        MemoryCapacity c;
        c.written = m_memory.writtenRows();
        c.maximum = limit();
        c.pages = 1;
        return c;
    }
    std::unique_ptr<MemoryBackend> clone() const override { return std::make_unique<SingleMemory>(*this); }
    int pageOf(std::int64_t) const override { return 0; }
    const EpisodicMemory& page(int index) override {
        if (index != 0) throw UserError("a Larimar memory has one page, not " + std::to_string(index + 1));
        return m_memory;
    }
    std::vector<std::int64_t> factsInPage(int) const override { return {}; }

private:
    static void checkIds(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& z) {
        if (static_cast<Eigen::Index>(ids.size()) != z.rows())
            throw Error("memory update: " + std::to_string(ids.size()) + " fact ids for " + std::to_string(z.rows()) +
                        " rows");
    }
    BackendSettings m_settings;
    EpisodicMemory m_memory;
};

} // namespace

std::vector<std::string> memoryBackendKinds() { return {"paged", "larimar", "kv"}; }

std::string describe(const BackendSettings& s) {
    if (s.kind == "paged")
        return "paged (" + (s.pageFacts > 0 ? std::to_string(s.pageFacts) : std::string("K")) + " facts per page)";
    if (s.kind == "kv") return "kv (top " + std::to_string(s.topK > 0 ? s.topK : 1) + " facts attended to)";
    return s.kind;
}

std::unique_ptr<MemoryBackend> makeMemoryBackend(const BackendSettings& settings, const EpisodicMemory& empty,
                                                 FactVectorLoader loader) {
    if (settings.kind == "larimar") return std::make_unique<SingleMemory>(settings, empty);
    if (settings.kind == "paged") return std::make_unique<PagedMemory>(settings, empty, std::move(loader));
    if (settings.kind == "kv") return std::make_unique<KvMemory>(settings, empty, std::move(loader));
    std::string kinds;
    for (const auto& k : memoryBackendKinds()) kinds += (kinds.empty() ? "" : ", ") + k;
    throw UserError("unknown memory backend '" + settings.kind + "' (known: " + kinds + ")");
}

std::unique_ptr<MemoryBackend> deserializeMemoryBackend(const BackendSettings& settings, const EpisodicMemory& empty,
                                                        FactVectorLoader loader, const std::vector<std::uint8_t>& blob) {
    if (settings.kind == "larimar") {
        EpisodicMemory m = EpisodicMemory::deserialize(blob);
        if (m.slots() != empty.slots() || m.width() != empty.width())
            throw Error("the memory snapshot holds a " + std::to_string(m.slots()) + " x " + std::to_string(m.width()) +
                        " memory, the model's is " + std::to_string(empty.slots()) + " x " +
                        std::to_string(empty.width()));
        return std::make_unique<SingleMemory>(settings, std::move(m));
    }
    if (settings.kind == "paged") return PagedMemory::deserialize(settings, empty, std::move(loader), blob);
    if (settings.kind == "kv") return KvMemory::deserialize(settings, empty, std::move(loader), blob);
    return makeMemoryBackend(settings, empty, std::move(loader)); // throws for the unknown kind
}

void InMemoryFactVectors::add(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys,
                              const Eigen::MatrixXd& z) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto r = static_cast<Eigen::Index>(i);
        m_rows->byId[ids[i]] = {keys.row(r), z.row(r)};
    }
}

FactVectorLoader InMemoryFactVectors::loader() const {
    return [rows = m_rows](const std::vector<std::int64_t>& ids, Eigen::MatrixXd& keys, Eigen::MatrixXd& z) {
        keys.resize(static_cast<Eigen::Index>(ids.size()), 0);
        z.resize(static_cast<Eigen::Index>(ids.size()), 0);
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const auto it = rows->byId.find(ids[i]);
            if (it == rows->byId.end()) throw Error("no stored vectors for fact " + std::to_string(ids[i]));
            const auto r = static_cast<Eigen::Index>(i);
            if (i == 0) {
                keys.resize(keys.rows(), it->second.first.size());
                z.resize(z.rows(), it->second.second.size());
            }
            keys.row(r) = it->second.first;
            z.row(r) = it->second.second;
        }
    };
}

} // namespace larimar
