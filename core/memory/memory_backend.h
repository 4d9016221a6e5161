#pragma once
/// The memory interface: what the editor, the evaluations, the store and the GUI need from a
/// memory, whatever it is made of. A backend holds facts (each a key row and a latent row, with
/// its fact id), writes and forgets them exactly, reads a readout for a query's latent, and
/// round-trips its whole state through a versioned blob whose digest identifies its content.
///
/// Backends (docs/CONTRIBUTING.md, "Adding a memory backend"):
///   "larimar"  one K x C episodic memory (EpisodicMemory): holds at most K facts; the
///              original design, and what workspaces made before backends existed hold.
///   "paged"    many K x C episodic memories (pages), core/memory/paged_memory.h: capacity
///              grows with facts; a fact is written into one page, a query reads the page of
///              its nearest fact.
///   "kv"       an explicit key-value memory (Memory³-style), core/memory/kv_memory.h: each
///              fact is the decoder's attention keys/values over its text, and a query attends
///              to its top-k facts' (attends() is true; needs a model with attention memory).
///
/// Contract for every backend (tests/core/test_memory_backends.cpp runs it on each):
///   - write then forget of the same facts gives back the state before the write (paged: bit
///     for bit, digest included; one memory: to rounding, ~1e-10), and a forgotten fact cannot
///     be read back;
///   - serialize()/deserialize round-trips bit-exactly (same digest, same reads);
///   - the same calls in the same order give the same digest in any process (replay);
///   - checkRoom() refuses, with a message naming the limit, writes the backend cannot hold;
///     a backend never degrades silently past its capacity.
///
/// Thread-safety: none; one thread at a time, including const calls.
#include "core/memory/episodic_memory.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace larimar {

/// The stored key rows (N x K) and latents (N x C) of facts, by id, in the order given. The
/// editor's reads them from the workspace; InMemoryFactVectors keeps them in RAM.
using FactVectorLoader =
    std::function<void(const std::vector<std::int64_t>& ids, Eigen::MatrixXd& keys, Eigen::MatrixXd& z)>;

/// Which backend a workspace uses and its settings (stored in the workspace's meta table).
struct BackendSettings {
    std::string kind = "larimar"; ///< "larimar", "paged" or "kv"
    int pageFacts = 0;            ///< paged: facts per page before a new one opens; 0: K
    std::int64_t maxFacts = 0;    ///< paged: written facts at most; 0: kDefaultMaxFacts
    int cachePages = 0;           ///< paged: pages kept built in RAM; 0: as many as fit in 1 GiB
                                  ///< (a built page takes about 8 (5KC + 2K^2) bytes)
    int topK = 0;                 ///< kv: facts a query attends to; 0: 1
};
inline constexpr std::int64_t kDefaultMaxFacts = 2'000'000;
/// The kinds makeMemoryBackend knows, for --backend help texts and the GUI's choice.
std::vector<std::string> memoryBackendKinds();
/// One line for users, e.g. "paged (256 facts per page)".
std::string describe(const BackendSettings& settings);

struct MemoryCapacity {
    std::int64_t written = 0; ///< facts written now
    std::int64_t maximum = 0; ///< writes beyond this are refused
    int pages = 1;            ///< memories (pages) in use
};

/// A read of N queries: weights over the K slots of the memory each query read, readout W M,
/// and the page each query read (0 for single-memory backends). An attending backend (kv)
/// reads no latent (zero readout) and names per query the facts whose keys/values the decoder
/// attends to, best first.
struct MemoryRead {
    Eigen::MatrixXd weights;
    Eigen::MatrixXd readout;
    std::vector<int> pages;
    std::vector<std::vector<std::int64_t>> facts;
};

class MemoryBackend {
public:
    virtual ~MemoryBackend() = default;

    virtual const BackendSettings& settings() const = 0;
    virtual int slots() const = 0; ///< K of each memory
    virtual int width() const = 0; ///< C
    /// Write keys of N latents (N x K), from the model's fixed reference memory: they do not
    /// depend on what is written, so the editor stores them with each fact.
    virtual Eigen::MatrixXd keys(const Eigen::MatrixXd& z) const = 0;
    /// True when queries attend to stored facts' keys/values (MemoryRead::facts) instead of
    /// reading a latent: the caller keeps each fact's TextModel::attentionKv.
    virtual bool attends() const { return false; }

    /// Throws UserError naming the limit when `more` facts cannot be written now.
    virtual void checkRoom(std::int64_t more) const = 0;
    /// Writes facts (ids, their key rows and latents, N each), in this order. Throws as
    /// checkRoom() before changing anything.
    virtual void write(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys, const Eigen::MatrixXd& z) = 0;
    /// Forgets facts written earlier (same rows). Throws UserError when one is not written.
    virtual void forget(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys,
                        const Eigen::MatrixXd& z) = 0;
    /// Reads N queries (N x C). nearestFact: a fact the caller's index (the scope detector)
    /// found nearest to the (single) query, which a routing backend may use; may be empty.
    virtual MemoryRead read(const Eigen::MatrixXd& zq, std::optional<std::int64_t> nearestFact = {}) = 0;

    virtual std::vector<std::uint8_t> serialize() const = 0;
    /// SHA-256 (hex) identifying the content; equal digests mean equal reads.
    virtual std::string digest() const = 0;
    virtual MemoryCapacity capacity() const = 0;
    /// A copy to restore if a transaction fails. Cost: backend-specific (a single memory copies
    /// its matrices; pages are shared until written).
    virtual std::unique_ptr<MemoryBackend> clone() const = 0;

    // --- what to visualise -----------------------------------------------------------------
    /// The page a fact is in (-1: not written here); single-memory backends: 0 when written.
    virtual int pageOf(std::int64_t factId) const = 0;
    /// One memory (page) as an EpisodicMemory, built if needed: the matrix, covariance and
    /// spectrum plots show this. page in [0, capacity().pages).
    virtual const EpisodicMemory& page(int index) = 0;
    /// The written facts of one page, ascending.
    virtual std::vector<std::int64_t> factsInPage(int index) const = 0;
};

/// A new, empty backend. empty: the model's empty memory (prior, reference, settings), which
/// every page starts as. loader: how a backend that builds pages on demand gets the vectors of
/// facts it holds (required for "paged"). Throws UserError for an unknown kind.
std::unique_ptr<MemoryBackend> makeMemoryBackend(const BackendSettings& settings, const EpisodicMemory& empty,
                                                 FactVectorLoader loader);
/// Inverse of MemoryBackend::serialize() for a backend of this kind (Error naming the problem
/// for a damaged blob). A "larimar" blob is EpisodicMemory::serialize()'s, so snapshots made
/// before backends existed restore unchanged.
std::unique_ptr<MemoryBackend> deserializeMemoryBackend(const BackendSettings& settings, const EpisodicMemory& empty,
                                                        FactVectorLoader loader, const std::vector<std::uint8_t>& blob);

/// Fact vectors kept in RAM, for evaluations and tests that use a backend without a workspace.
class InMemoryFactVectors {
public:
    void add(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& keys, const Eigen::MatrixXd& z);
    FactVectorLoader loader() const;

private:
    struct Rows {
        std::unordered_map<std::int64_t, std::pair<Eigen::RowVectorXd, Eigen::RowVectorXd>> byId;
    };
    std::shared_ptr<Rows> m_rows = std::make_shared<Rows>();
};

} // namespace larimar
