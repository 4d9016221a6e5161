#include "core/memory/paged_memory.h"

#include "core/util/binary_io.h"
#include "core/util/error.h"
#include "core/util/sha256.h"

#include <algorithm>
#include <cstring>

namespace larimar {

namespace {

constexpr std::uint32_t kMagic = 0x4d47504c; // "LPGM"
constexpr std::uint32_t kVersion = 1;

} // namespace

PagedMemory::PagedMemory(BackendSettings settings, const EpisodicMemory& empty, FactVectorLoader loader)
    : PagedMemory(std::move(settings), std::make_shared<const EpisodicMemory>(empty), std::move(loader)) {}

PagedMemory::PagedMemory(BackendSettings settings, std::shared_ptr<const EpisodicMemory> empty, FactVectorLoader loader)
    : m_settings(std::move(settings)), m_empty(std::move(empty)), m_loader(std::move(loader)) {
    m_settings.kind = "paged";
    if (m_empty->writtenRows() != 0) throw Error("paged memory: the empty memory given holds facts");
    if (m_settings.pageFacts == 0) m_settings.pageFacts = m_empty->slots();
    if (m_settings.pageFacts < 1 || m_settings.pageFacts > 4 * m_empty->slots())
        throw UserError("paged memory: facts per page must be 1.." + std::to_string(4 * m_empty->slots()) +
                        " (4 x the " + std::to_string(m_empty->slots()) + " slots of a page), not " +
                        std::to_string(m_settings.pageFacts));
    if (m_settings.maxFacts == 0) m_settings.maxFacts = kDefaultMaxFacts;
    if (m_settings.maxFacts < 1) throw UserError("paged memory: the fact limit must be positive");
    if (m_settings.cachePages < 1) {
        const double k = m_empty->slots(), c = m_empty->width();
        const double pageBytes = 8.0 * (5.0 * k * c + 2.0 * k * k);
        m_settings.cachePages = static_cast<int>(std::clamp((1024.0 * 1024.0 * 1024.0) / pageBytes, 4.0, 4096.0));
    }
    if (!m_loader) throw Error("paged memory: no loader for the facts' vectors");
}

namespace {
/// The positions of ids in ascending id order; UserError when an id is given twice. O(N log N)
/// (a batch may hold 100,000 facts).
std::vector<std::size_t> ascendingUnique(const std::vector<std::int64_t>& ids) {
    std::vector<std::size_t> order(ids.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return ids[a] < ids[b]; });
    for (std::size_t k = 1; k < order.size(); ++k)
        if (ids[order[k]] == ids[order[k - 1]])
            throw UserError("fact " + std::to_string(ids[order[k]]) + " is given twice");
    return order;
}
} // namespace

PagedMemory::Entry* PagedMemory::find(std::int64_t id) {
    return const_cast<Entry*>(static_cast<const PagedMemory*>(this)->find(id));
}

const PagedMemory::Entry* PagedMemory::find(std::int64_t id) const {
    const auto it = std::lower_bound(m_facts.begin(), m_facts.end(), id, [](const Row& r, std::int64_t v) { return r.id < v; });
    return it != m_facts.end() && it->id == id ? &it->e : nullptr;
}

PagedMemory::Entry& PagedMemory::insert(std::int64_t id) {
    if (m_facts.empty() || m_facts.back().id < id) return m_facts.push_back({id, {}}), m_facts.back().e;
    const auto it = std::lower_bound(m_facts.begin(), m_facts.end(), id, [](const Row& r, std::int64_t v) { return r.id < v; });
    if (it != m_facts.end() && it->id == id) return it->e;
    return m_facts.insert(it, Row{id, {}})->e;
}

Eigen::MatrixXd PagedMemory::keys(const Eigen::MatrixXd& z) const {
    Eigen::MatrixXd out(z.rows(), slots());
    for (Eigen::Index r = 0; r < z.rows(); ++r) out.row(r) = m_empty->keys(z.row(r));
    return out;
}

void PagedMemory::checkRoom(std::int64_t more) const {
    if (more < 0) throw Error("paged memory: negative number of facts");
    if (m_written + more > m_settings.maxFacts)
        throw UserError("the memory holds at most " + std::to_string(m_settings.maxFacts) + " facts (it has " +
                        std::to_string(m_written) + "; writing " + std::to_string(more) + " more would make " +
                        std::to_string(m_written + more) +
                        "); forget facts first, or raise the workspace's limit (memory.max_facts)");
}

void PagedMemory::requireShapes(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys,
                                const Eigen::MatrixXd& z) const {
    const auto n = static_cast<Eigen::Index>(ids.size());
    if (keys.rows() != n || z.rows() != n || keys.cols() != slots() || z.cols() != width())
        throw UserError("memory update needs " + std::to_string(n) + " keys of " + std::to_string(slots()) +
                        " and " + std::to_string(n) + " encodings of " + std::to_string(width()) + ", got " +
                        std::to_string(keys.rows()) + " x " + std::to_string(keys.cols()) + " and " +
                        std::to_string(z.rows()) + " x " + std::to_string(z.cols()));
    if (!keys.allFinite() || !z.allFinite()) throw UserError("memory update: a key or encoding is not finite");
}

PagedMemory::VecHash PagedMemory::hashOf(const Eigen::MatrixXd& keys, const Eigen::MatrixXd& z, Eigen::Index row) {
    Sha256 h;
    for (Eigen::Index j = 0; j < keys.cols(); ++j) {
        const double v = keys(row, j);
        h.update(&v, sizeof v);
    }
    for (Eigen::Index j = 0; j < z.cols(); ++j) {
        const double v = z(row, j);
        h.update(&v, sizeof v);
    }
    const auto d = h.finish();
    VecHash out;
    std::memcpy(out.data(), d.data(), out.size());
    return out;
}

void PagedMemory::write(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys, const Eigen::MatrixXd& z) {
    requireShapes(ids, keys, z);
    checkRoom(static_cast<std::int64_t>(ids.size()));
    const std::vector<std::size_t> order = ascendingUnique(ids);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const Entry* known = find(ids[i]);
        if (known && known->written)
            throw UserError("fact " + std::to_string(ids[i]) + " is already written in the memory");
    }
    // Assign pages first (all-or-nothing: nothing below throws for valid input).
    std::vector<int> pageOfRow(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const Entry* known = find(ids[i]);
        int p;
        if (known) {
            p = known->page; // written before, forgotten, written again: its own page
        } else {
            if (m_pages.empty() || m_pages.back().written >= m_settings.pageFacts) m_pages.emplace_back();
            p = static_cast<int>(m_pages.size()) - 1;
        }
        Entry& e = insert(ids[i]);
        e.page = p;
        e.written = true;
        e.hash = hashOf(keys, z, static_cast<Eigen::Index>(i));
        ++m_pages[static_cast<std::size_t>(p)].written;
        ++m_written;
        pageOfRow[i] = p;
        if (m_index->valid) indexAdd(ids[i], z.row(static_cast<Eigen::Index>(i)));
    }
    // Extend built pages in place when the new ids come after everything in them (the page
    // stays "its facts written one row at a time in ascending id"); otherwise drop the built
    // copy, and it is rebuilt in canonical order when next needed.
    std::map<int, std::shared_ptr<EpisodicMemory>> extended;
    for (const auto i : order) {
        Page& pg = m_pages[static_cast<std::size_t>(pageOfRow[i])];
        if (!pg.built) continue;
        if (ids[i] <= pg.builtUpTo) {
            pg.built.reset();
            extended.erase(pageOfRow[i]);
            continue;
        }
        auto& mem = extended[pageOfRow[i]];
        if (!mem) mem = std::make_shared<EpisodicMemory>(*pg.built); // copy on write: clones share
        const auto row = static_cast<Eigen::Index>(i);
        mem->writeWithKeys(keys.row(row), z.row(row));
        pg.builtUpTo = ids[i];
    }
    for (auto& [p, mem] : extended)
        if (m_pages[static_cast<std::size_t>(p)].built) m_pages[static_cast<std::size_t>(p)].built = std::move(mem);
}

void PagedMemory::forget(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys, const Eigen::MatrixXd& z) {
    requireShapes(ids, keys, z);
    ascendingUnique(ids);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const Entry* known = find(ids[i]);
        if (!known || !known->written)
            throw UserError("cannot forget: fact " + std::to_string(ids[i]) + " is not written in the memory");
        if (known->hash != hashOf(keys, z, static_cast<Eigen::Index>(i)))
            throw UserError("cannot forget: fact " + std::to_string(ids[i]) +
                            "'s key or encoding differs from the one written");
    }
    for (const auto id : ids) {
        Entry& e = *find(id);
        e.written = false;
        Page& pg = m_pages[static_cast<std::size_t>(e.page)];
        --pg.written;
        --m_written;
        pg.built.reset(); // rebuilt from the facts that remain: exactly as if never written
        if (m_index->valid) indexRemove(id);
    }
}

std::shared_ptr<const EpisodicMemory> PagedMemory::build(int index, std::int64_t& builtUpTo) const {
    const auto ids = factsInPage(index);
    builtUpTo = ids.empty() ? 0 : ids.back();
    auto mem = std::make_shared<EpisodicMemory>(*m_empty);
    if (ids.empty()) return mem;
    Eigen::MatrixXd keys, z;
    m_loader(ids, keys, z);
    if (keys.rows() != static_cast<Eigen::Index>(ids.size()) || z.rows() != keys.rows() || keys.cols() != slots() ||
        z.cols() != width())
        throw Error("paged memory: the loader gave " + std::to_string(keys.rows()) + " x " +
                    std::to_string(keys.cols()) + " keys for " + std::to_string(ids.size()) + " facts");
    for (Eigen::Index r = 0; r < keys.rows(); ++r) {
        if (hashOf(keys, z, r) != find(ids[static_cast<std::size_t>(r)])->hash)
            throw Error("paged memory: the stored vectors of fact " + std::to_string(ids[static_cast<std::size_t>(r)]) +
                        " differ from those written");
        mem->writeWithKeys(keys.row(r), z.row(r));
    }
    return mem;
}

const EpisodicMemory& PagedMemory::touch(int index) {
    if (index < 0 || index >= static_cast<int>(m_pages.size()))
        throw UserError("no memory page " + std::to_string(index) + " (there are " + std::to_string(m_pages.size()) +
                        ")");
    Page& pg = m_pages[static_cast<std::size_t>(index)];
    if (!pg.built) pg.built = build(index, pg.builtUpTo);
    pg.lastUse = ++m_clock;
    const EpisodicMemory& out = *pg.built;
    evict();
    return out;
}

void PagedMemory::evict() {
    int built = 0;
    for (const auto& p : m_pages) built += p.built ? 1 : 0;
    while (built > m_settings.cachePages) {
        Page* oldest = nullptr;
        for (auto& p : m_pages)
            if (p.built && (!oldest || p.lastUse < oldest->lastUse)) oldest = &p;
        if (!oldest || oldest->lastUse == m_clock) break; // never the page just touched
        oldest->built.reset();
        --built;
    }
}

int PagedMemory::builtPages() const {
    int n = 0;
    for (const auto& p : m_pages) n += p.built ? 1 : 0;
    return n;
}

void PagedMemory::buildIndex() {
    *m_index = Index{};
    m_index->facts = CosineIndex(width());
    std::vector<std::int64_t> ids;
    for (const auto& [id, e] : m_facts)
        if (e.written) ids.push_back(id);
    m_index->valid = true;
    constexpr std::size_t chunk = 1024;
    for (std::size_t start = 0; start < ids.size(); start += chunk) {
        const std::vector<std::int64_t> part(ids.begin() + static_cast<std::ptrdiff_t>(start),
                                             ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), start + chunk)));
        Eigen::MatrixXd keys, z;
        m_loader(part, keys, z);
        for (std::size_t i = 0; i < part.size(); ++i) indexAdd(part[i], z.row(static_cast<Eigen::Index>(i)));
    }
}

void PagedMemory::indexAdd(std::int64_t id, const Eigen::RowVectorXd& z) { m_index->facts.add(id, z); }

void PagedMemory::indexRemove(std::int64_t id) { m_index->facts.remove(id); }

int PagedMemory::route(const Eigen::RowVectorXd& zq, std::optional<std::int64_t> nearestFact) {
    if (m_written == 0) return -1;
    if (nearestFact) {
        const Entry* e = find(*nearestFact);
        if (e && e->written) return e->page;
    }
    if (!m_index->valid) buildIndex();
    return find(m_index->facts.nearest(zq, 1).front().first)->page;
}

MemoryRead PagedMemory::read(const Eigen::MatrixXd& zq, std::optional<std::int64_t> nearestFact) {
    if (zq.cols() != width())
        throw UserError("memory read needs encodings of " + std::to_string(width()) + " values, got " +
                        std::to_string(zq.cols()));
    MemoryRead out;
    out.weights = Eigen::MatrixXd::Zero(zq.rows(), slots());
    out.readout = Eigen::MatrixXd::Zero(zq.rows(), width());
    out.pages.assign(static_cast<std::size_t>(zq.rows()), -1);
    for (Eigen::Index r = 0; r < zq.rows(); ++r) {
        const int p = route(zq.row(r), zq.rows() == 1 ? nearestFact : std::nullopt);
        const EpisodicMemory& mem = p < 0 ? *m_empty : touch(p);
        const ReadResult one = mem.read(zq.row(r));
        out.weights.row(r) = one.weights.row(0);
        out.readout.row(r) = one.readout.row(0);
        out.pages[static_cast<std::size_t>(r)] = std::max(p, 0);
    }
    return out;
}

std::vector<std::uint8_t> PagedMemory::serialize() const {
    BlobWriter w;
    w.u32(kMagic);
    w.u32(kVersion);
    w.u32(static_cast<std::uint32_t>(slots()));
    w.u32(static_cast<std::uint32_t>(width()));
    w.u32(static_cast<std::uint32_t>(m_settings.pageFacts));
    w.u32(static_cast<std::uint32_t>(m_pages.size()));
    w.u64(m_facts.size());
    for (const auto& [id, e] : m_facts) {
        w.i64(id);
        w.u32(static_cast<std::uint32_t>(e.page));
        w.u8(e.written ? 1 : 0);
        w.bytes(e.hash.data(), e.hash.size());
    }
    w.sha256Trailer();
    return w.take();
}

std::unique_ptr<PagedMemory> PagedMemory::deserialize(BackendSettings settings, const EpisodicMemory& empty,
                                                      FactVectorLoader loader, const std::vector<std::uint8_t>& blob) {
    BlobReader r(blob.data(), blob.size(), "paged memory snapshot");
    r.verifyTrailingSha256();
    if (r.u32("magic") != kMagic) throw Error("paged memory snapshot: not a paged memory (wrong magic)");
    const auto version = r.u32("version");
    if (version != kVersion)
        throw Error("paged memory snapshot: version " + std::to_string(version) + ", this build reads " +
                    std::to_string(kVersion));
    const auto k = r.u32("slots"), c = r.u32("width");
    if (static_cast<int>(k) != empty.slots() || static_cast<int>(c) != empty.width())
        throw Error("paged memory snapshot: pages of " + std::to_string(k) + " x " + std::to_string(c) +
                    ", the model's memory is " + std::to_string(empty.slots()) + " x " + std::to_string(empty.width()));
    settings.pageFacts = static_cast<int>(r.u32("facts per page"));
    auto out = std::make_unique<PagedMemory>(std::move(settings), empty, std::move(loader));
    const auto pages = r.u32("pages");
    const auto facts = r.u64("facts");
    if (facts > r.remaining() / 29) throw Error("paged memory snapshot: truncated fact table");
    out->m_pages.resize(pages);
    std::int64_t previous = std::numeric_limits<std::int64_t>::min();
    for (std::uint64_t i = 0; i < facts; ++i) {
        const auto id = r.i64("fact id");
        Entry e;
        e.page = static_cast<int>(r.u32("page"));
        e.written = r.u8("state") != 0;
        r.bytes(e.hash.data(), e.hash.size(), "vector hash");
        if (id <= previous || e.page < 0 || e.page >= static_cast<int>(pages))
            throw Error("paged memory snapshot: fact table out of order or naming a missing page");
        previous = id;
        if (e.written) {
            ++out->m_pages[static_cast<std::size_t>(e.page)].written;
            ++out->m_written;
        }
        out->m_facts.push_back({id, e});
    }
    r.expectEnd();
    return out;
}

std::string PagedMemory::digest() const {
    Sha256 h;
    h.update("larimar paged memory v1");
    const std::uint32_t head[3] = {static_cast<std::uint32_t>(slots()), static_cast<std::uint32_t>(width()),
                                   static_cast<std::uint32_t>(m_settings.pageFacts)};
    h.update(head, sizeof head);
    // The empty memory every page starts from (prior, reference, settings) and the written
    // facts with their pages determine every read.
    h.update(m_empty->digest());
    for (const auto& [id, e] : m_facts) {
        if (!e.written) continue;
        const std::int64_t v[2] = {id, e.page};
        h.update(v, sizeof v);
        h.update(e.hash.data(), e.hash.size());
    }
    return toHex(h.finish());
}

MemoryCapacity PagedMemory::capacity() const {
    MemoryCapacity c;
    c.written = m_written;
    c.maximum = m_settings.maxFacts;
    c.pages = std::max<int>(1, static_cast<int>(m_pages.size()));
    return c;
}

std::unique_ptr<MemoryBackend> PagedMemory::clone() const {
    // Built pages are shared (copy on write); the routing index is not copied (it can be
    // large: facts x C floats): the clone rebuilds it if it ever routes without a hint.
    auto out = std::unique_ptr<PagedMemory>(new PagedMemory(m_settings, m_empty, m_loader));
    out->m_facts = m_facts;
    out->m_pages = m_pages;
    out->m_written = m_written;
    out->m_clock = m_clock;
    return out;
}

int PagedMemory::pageOf(std::int64_t factId) const {
    const Entry* e = find(factId);
    return e && e->written ? e->page : -1;
}

const EpisodicMemory& PagedMemory::page(int index) {
    if (m_pages.empty() && index == 0) return *m_empty;
    return touch(index);
}

std::vector<std::int64_t> PagedMemory::factsInPage(int index) const {
    std::vector<std::int64_t> ids;
    for (const auto& [id, e] : m_facts)
        if (e.written && e.page == index) ids.push_back(id);
    return ids;
}

} // namespace larimar
