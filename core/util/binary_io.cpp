#include "core/util/binary_io.h"

#include "core/util/error.h"
#include "core/util/sha256.h"

#include <cstring>

static_assert(sizeof(double) == 8, "IEEE-754 double expected");

namespace larimar {
namespace {
// Blobs are little-endian on disk. All supported targets (x86_64, aarch64) are little-endian;
// this check keeps a big-endian build from silently writing foreign blobs.
constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
static_assert(kLittleEndian, "blob I/O assumes a little-endian host");
} // namespace

void BlobWriter::bytes(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    m_data.insert(m_data.end(), p, p + size);
}
void BlobWriter::u32(std::uint32_t v) { bytes(&v, sizeof v); }
void BlobWriter::u64(std::uint64_t v) { bytes(&v, sizeof v); }
void BlobWriter::f64(double v) { bytes(&v, sizeof v); }
void BlobWriter::f64s(const double* data, std::size_t count) { bytes(data, count * sizeof(double)); }
void BlobWriter::sha256Trailer() {
    const auto d = sha256(m_data.data(), m_data.size());
    bytes(d.data(), d.size());
}

BlobReader::BlobReader(const std::uint8_t* data, std::size_t size, std::string what)
    : m_data(data), m_size(size), m_what(std::move(what)) {}

void BlobReader::need(std::size_t n, const char* field) const {
    if (n > m_size - m_pos)
        throw Error(m_what + " is truncated: " + std::to_string(m_size - m_pos) +
                    " bytes left while reading " + field + " (" + std::to_string(n) + " bytes needed)");
}
void BlobReader::bytes(void* out, std::size_t size, const char* field) {
    need(size, field);
    if (size) std::memcpy(out, m_data + m_pos, size);
    m_pos += size;
}
std::uint8_t BlobReader::u8(const char* field) { std::uint8_t v; bytes(&v, 1, field); return v; }
std::uint32_t BlobReader::u32(const char* field) { std::uint32_t v; bytes(&v, sizeof v, field); return v; }
std::uint64_t BlobReader::u64(const char* field) { std::uint64_t v; bytes(&v, sizeof v, field); return v; }
double BlobReader::f64(const char* field) { double v; bytes(&v, sizeof v, field); return v; }
void BlobReader::f64s(double* out, std::size_t count, const char* field) {
    // Checked by count, not bytes: count * 8 can overflow for a hostile length field.
    if (count > (m_size - m_pos) / sizeof(double))
        throw Error(m_what + " is truncated: " + std::to_string(m_size - m_pos) + " bytes left while reading " +
                    field + " (" + std::to_string(count) + " values needed)");
    bytes(out, count * sizeof(double), field);
}

void BlobReader::verifyTrailingSha256() {
    if (m_size - m_pos < 32)
        throw Error(m_what + " is truncated: too short to hold its checksum");
    const std::size_t body = m_size - 32;
    const auto d = sha256(m_data, body);
    if (std::memcmp(d.data(), m_data + body, 32) != 0)
        throw Error(m_what + " is corrupt: its SHA-256 checksum does not match its content");
    m_size = body;
}

void BlobReader::expectEnd() {
    if (m_pos != m_size)
        throw Error(m_what + " has " + std::to_string(m_size - m_pos) + " unexpected trailing bytes");
}

} // namespace larimar
