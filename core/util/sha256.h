#pragma once
/// SHA-256 (OpenSSL) for the audit chain, blob checksums and memory digests.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace larimar {

using Sha256Digest = std::array<std::uint8_t, 32>;

/// Incremental SHA-256. Not thread-safe; one object per computation.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    Sha256& update(const void* data, std::size_t size);
    Sha256& update(std::string_view text) { return update(text.data(), text.size()); }
    /// Finishes the hash; the object must not be updated afterwards.
    Sha256Digest finish();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

Sha256Digest sha256(const void* data, std::size_t size);
inline Sha256Digest sha256(std::string_view text) { return sha256(text.data(), text.size()); }
/// Lower-case hex SHA-256 of a file's contents, streamed in 1 MiB pieces. Throws Error when the
/// file cannot be opened or read.
std::string fileSha256(const std::string& path);
/// Lower-case hex of any byte range.
std::string toHex(const std::uint8_t* data, std::size_t size);
inline std::string toHex(const Sha256Digest& d) { return toHex(d.data(), d.size()); }

} // namespace larimar
