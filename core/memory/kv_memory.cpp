#include "core/memory/kv_memory.h"

#include "core/util/binary_io.h"
#include "core/util/error.h"
#include "core/util/sha256.h"

#include <cstring>

namespace larimar {
namespace {

constexpr std::uint32_t kMagic = 0x4d564b4c; // "LKVM"
constexpr std::uint32_t kVersion = 1;

} // namespace

KvMemory::KvMemory(BackendSettings settings, const EpisodicMemory& empty, FactVectorLoader loader)
    : m_settings(std::move(settings)), m_empty(std::make_shared<const EpisodicMemory>(empty)), m_loader(std::move(loader)) {
    m_settings.kind = "kv";
    if (m_settings.topK < 0 || m_settings.topK > 64)
        throw UserError("kv memory: facts retrieved per query (--top-k) must be 1..64, not " +
                        std::to_string(m_settings.topK));
    if (!m_loader) throw Error("kv memory: needs a loader of the facts' vectors");
}

KvMemory::VecHash KvMemory::hashOf(const Eigen::MatrixXd& z, Eigen::Index row) {
    Sha256 h;
    for (Eigen::Index j = 0; j < z.cols(); ++j) {
        const double v = z(row, j);
        h.update(&v, sizeof v);
    }
    const auto d = h.finish();
    VecHash out;
    std::memcpy(out.data(), d.data(), out.size());
    return out;
}

void KvMemory::checkRoom(std::int64_t more) const {
    const std::int64_t limit = m_settings.maxFacts > 0 ? m_settings.maxFacts : kDefaultMaxFacts;
    const auto now = static_cast<std::int64_t>(m_facts.size());
    if (now + more > limit)
        throw UserError("this kv memory holds at most " + std::to_string(limit) + " facts (it has " + std::to_string(now) +
                        "; writing " + std::to_string(more) + " more would make " + std::to_string(now + more) + ")");
}

void KvMemory::write(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd&, const Eigen::MatrixXd& z) {
    if (static_cast<Eigen::Index>(ids.size()) != z.rows() || z.cols() != width())
        throw Error("kv memory write: " + std::to_string(ids.size()) + " ids for a " + std::to_string(z.rows()) + " x " +
                    std::to_string(z.cols()) + " latent matrix (width " + std::to_string(width()) + ")");
    checkRoom(z.rows());
    std::map<std::int64_t, VecHash> added;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (m_facts.count(ids[i]) || !added.emplace(ids[i], hashOf(z, static_cast<Eigen::Index>(i))).second)
            throw UserError("kv memory: fact " + std::to_string(ids[i]) + " is written already");
    }
    if (m_index && m_index.use_count() > 1) m_index = std::make_shared<CosineIndex>(*m_index);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        m_facts.emplace(ids[i], added.at(ids[i]));
        if (m_index) m_index->add(ids[i], z.row(static_cast<Eigen::Index>(i)));
    }
}

void KvMemory::forget(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd&, const Eigen::MatrixXd& z) {
    if (static_cast<Eigen::Index>(ids.size()) != z.rows()) throw Error("kv memory forget: ids and rows differ in number");
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto it = m_facts.find(ids[i]);
        if (it == m_facts.end()) throw UserError("cannot forget: fact " + std::to_string(ids[i]) + " is not in the memory");
        if (it->second != hashOf(z, static_cast<Eigen::Index>(i)))
            throw UserError("cannot forget: fact " + std::to_string(ids[i]) + "'s vectors are not the ones written");
    }
    if (m_index && m_index.use_count() > 1) m_index = std::make_shared<CosineIndex>(*m_index);
    for (const auto id : ids) {
        m_facts.erase(id);
        if (m_index) m_index->remove(id);
    }
}

void KvMemory::buildIndex() {
    auto index = std::make_shared<CosineIndex>(width());
    std::vector<std::int64_t> ids;
    for (const auto& [id, h] : m_facts) ids.push_back(id);
    constexpr std::size_t chunk = 1024;
    for (std::size_t start = 0; start < ids.size(); start += chunk) {
        const std::vector<std::int64_t> part(ids.begin() + static_cast<std::ptrdiff_t>(start),
                                             ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), start + chunk)));
        Eigen::MatrixXd keys, z;
        m_loader(part, keys, z);
        for (std::size_t i = 0; i < part.size(); ++i) index->add(part[i], z.row(static_cast<Eigen::Index>(i)));
    }
    m_index = std::move(index);
}

MemoryRead KvMemory::read(const Eigen::MatrixXd& zq, std::optional<std::int64_t> nearestFact) {
    if (zq.cols() != width())
        throw UserError("memory read needs encodings of " + std::to_string(width()) + " values, got " +
                        std::to_string(zq.cols()));
    MemoryRead out;
    out.weights = Eigen::MatrixXd::Zero(zq.rows(), slots());
    out.readout = Eigen::MatrixXd::Zero(zq.rows(), width());
    out.pages.assign(static_cast<std::size_t>(zq.rows()), 0);
    out.facts.resize(static_cast<std::size_t>(zq.rows()));
    if (m_facts.empty()) return out;
    for (Eigen::Index r = 0; r < zq.rows(); ++r) {
        auto& facts = out.facts[static_cast<std::size_t>(r)];
        if (topK() == 1 && zq.rows() == 1 && nearestFact && m_facts.count(*nearestFact)) {
            facts.push_back(*nearestFact);
            continue;
        }
        if (!m_index) buildIndex();
        for (const auto& [id, cos] : m_index->nearest(zq.row(r), topK())) facts.push_back(id);
    }
    return out;
}

std::vector<std::uint8_t> KvMemory::serialize() const {
    BlobWriter w;
    w.u32(kMagic);
    w.u32(kVersion);
    w.u32(static_cast<std::uint32_t>(slots()));
    w.u32(static_cast<std::uint32_t>(width()));
    w.u32(static_cast<std::uint32_t>(m_settings.topK));
    w.u64(m_facts.size());
    for (const auto& [id, h] : m_facts) {
        w.i64(id);
        w.bytes(h.data(), h.size());
    }
    w.sha256Trailer();
    return w.take();
}

std::unique_ptr<KvMemory> KvMemory::deserialize(BackendSettings settings, const EpisodicMemory& empty,
                                                FactVectorLoader loader, const std::vector<std::uint8_t>& blob) {
    BlobReader r(blob.data(), blob.size(), "kv memory snapshot");
    r.verifyTrailingSha256();
    if (r.u32("magic") != kMagic) throw Error("kv memory snapshot: not a kv memory (wrong magic)");
    const auto version = r.u32("version");
    if (version != kVersion)
        throw Error("kv memory snapshot: version " + std::to_string(version) + ", this build reads " +
                    std::to_string(kVersion));
    const auto k = r.u32("slots"), c = r.u32("width");
    if (static_cast<int>(k) != empty.slots() || static_cast<int>(c) != empty.width())
        throw Error("kv memory snapshot: made for " + std::to_string(k) + " x " + std::to_string(c) +
                    ", the model's memory is " + std::to_string(empty.slots()) + " x " + std::to_string(empty.width()));
    settings.topK = static_cast<int>(r.u32("top k"));
    auto out = std::make_unique<KvMemory>(std::move(settings), empty, std::move(loader));
    const auto facts = r.u64("facts");
    if (facts > r.remaining() / 24) throw Error("kv memory snapshot: truncated fact table");
    std::int64_t previous = std::numeric_limits<std::int64_t>::min();
    for (std::uint64_t i = 0; i < facts; ++i) {
        const auto id = r.i64("fact id");
        VecHash h;
        r.bytes(h.data(), h.size(), "vector hash");
        if (id <= previous) throw Error("kv memory snapshot: fact table out of order");
        previous = id;
        out->m_facts.emplace(id, h);
    }
    r.expectEnd();
    return out;
}

std::string KvMemory::digest() const {
    Sha256 h;
    h.update("larimar kv memory v1");
    const std::uint32_t head[3] = {static_cast<std::uint32_t>(slots()), static_cast<std::uint32_t>(width()),
                                   static_cast<std::uint32_t>(topK())};
    h.update(head, sizeof head);
    for (const auto& [id, v] : m_facts) {
        h.update(&id, sizeof id);
        h.update(v.data(), v.size());
    }
    return toHex(h.finish());
}

MemoryCapacity KvMemory::capacity() const {
    MemoryCapacity c;
    c.written = static_cast<std::int64_t>(m_facts.size());
    c.maximum = m_settings.maxFacts > 0 ? m_settings.maxFacts : kDefaultMaxFacts;
    c.pages = 1;
    return c;
}

std::unique_ptr<MemoryBackend> KvMemory::clone() const {
    auto out = std::make_unique<KvMemory>(m_settings, *m_empty, m_loader);
    out->m_facts = m_facts;
    out->m_index = m_index; // shared until either side changes (copy on write)
    return out;
}

int KvMemory::pageOf(std::int64_t factId) const { return m_facts.count(factId) ? 0 : -1; }

const EpisodicMemory& KvMemory::page(int index) {
    if (index != 0) throw Error("kv memory: page " + std::to_string(index) + " does not exist (it has one)");
    return *m_empty;
}

std::vector<std::int64_t> KvMemory::factsInPage(int index) const {
    std::vector<std::int64_t> out;
    if (index != 0) return out;
    for (const auto& [id, h] : m_facts) out.push_back(id);
    return out;
}

} // namespace larimar
