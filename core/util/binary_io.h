#pragma once
/// Little-endian binary writer/reader for versioned blobs (memory snapshots and the like).
/// The reader checks every length against what is left and throws larimar::Error with the
/// blob's name and the field it was reading, so a truncated blob never reads past its end.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace larimar {

class BlobWriter {
public:
    void bytes(const void* data, std::size_t size);
    void u8(std::uint8_t v) { bytes(&v, 1); }
    void u32(std::uint32_t v);
    void u64(std::uint64_t v);
    void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
    void f64(double v);
    void f64s(const double* data, std::size_t count);
    /// Appends the SHA-256 of everything written so far (the reader's verifyTrailingSha256).
    void sha256Trailer();
    const std::vector<std::uint8_t>& data() const { return m_data; }
    std::vector<std::uint8_t> take() { return std::move(m_data); }

private:
    std::vector<std::uint8_t> m_data;
};

class BlobReader {
public:
    /// what: a name for messages, e.g. "memory snapshot".
    BlobReader(const std::uint8_t* data, std::size_t size, std::string what);
    void bytes(void* out, std::size_t size, const char* field);
    std::uint8_t u8(const char* field);
    std::uint32_t u32(const char* field);
    std::uint64_t u64(const char* field);
    std::int64_t i64(const char* field) { return static_cast<std::int64_t>(u64(field)); }
    double f64(const char* field);
    void f64s(double* out, std::size_t count, const char* field);
    std::size_t remaining() const { return m_size - m_pos; }
    /// Checks that the last 32 bytes are the SHA-256 of all bytes before them and shrinks the
    /// readable range to exclude them. Throws on mismatch (corruption) or a too short blob.
    void verifyTrailingSha256();
    /// Throws unless every byte was read.
    void expectEnd();
    const std::string& what() const { return m_what; }

private:
    void need(std::size_t n, const char* field) const;
    const std::uint8_t* m_data;
    std::size_t m_size;
    std::size_t m_pos = 0;
    std::string m_what;
};

} // namespace larimar
