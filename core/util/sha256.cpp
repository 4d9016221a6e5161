#include "core/util/sha256.h"

#include "core/util/error.h"

#include <openssl/evp.h>

#include <fstream>
#include <vector>

namespace larimar {

struct Sha256::Impl {
    EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
    m_impl->ctx = EVP_MD_CTX_new();
    if (!m_impl->ctx || EVP_DigestInit_ex(m_impl->ctx, EVP_sha256(), nullptr) != 1)
        throw Error("OpenSSL: cannot initialise SHA-256");
}

Sha256::~Sha256() { EVP_MD_CTX_free(m_impl->ctx); }

Sha256& Sha256::update(const void* data, std::size_t size) {
    if (size > 0 && EVP_DigestUpdate(m_impl->ctx, data, size) != 1)
        throw Error("OpenSSL: SHA-256 update failed");
    return *this;
}

Sha256Digest Sha256::finish() {
    Sha256Digest out{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(m_impl->ctx, out.data(), &len) != 1 || len != out.size())
        throw Error("OpenSSL: SHA-256 finish failed");
    return out;
}

Sha256Digest sha256(const void* data, std::size_t size) {
    Sha256 h;
    h.update(data, size);
    return h.finish();
}

std::string fileSha256(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open to hash");
    Sha256 h;
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), std::streamsize(buf.size()));
        h.update(buf.data(), std::size_t(in.gcount()));
    }
    if (in.bad()) throw Error(path + ": read error while hashing");
    return toHex(h.finish());
}

std::string toHex(const std::uint8_t* data, std::size_t size) {
    static const char* digits = "0123456789abcdef";
    std::string out(size * 2, '0');
    for (std::size_t i = 0; i < size; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0xF];
    }
    return out;
}

} // namespace larimar
