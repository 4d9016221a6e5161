#include "core/store/signing.h"

#include "core/util/error.h"
#include "core/util/file_io.h"
#include "core/util/sha256.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace larimar {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string opensslError() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (!e) return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

bool isHex(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    });
}

std::vector<unsigned char> fromHex(std::string_view s) {
    std::vector<unsigned char> out(s.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<unsigned char>(std::stoi(std::string(s.substr(2 * i, 2)), nullptr, 16));
    return out;
}

std::string rawPublicHex(EVP_PKEY* key) {
    unsigned char raw[32];
    std::size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != sizeof raw)
        throw Error("cannot read an Ed25519 public key: " + opensslError());
    return toHex(raw, len);
}

Pkey publicFromHex(const std::string& hex) {
    const auto raw = fromHex(hex);
    return Pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
}

std::string bioText(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

} // namespace

// ---------------------------------------------------------------------------------------
// PublicKey

std::string PublicKey::pem() const {
    Pkey key = publicFromHex(hex);
    Bio bio(BIO_new(BIO_s_mem()));
    if (!key || !bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1)
        throw Error("cannot write a public key as PEM: " + opensslError());
    return bioText(bio.get());
}

PublicKey PublicKey::fromPem(std::string_view pem, const std::string& what) {
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    Pkey key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    ERR_clear_error();
    if (!key)
        throw UserError(what + " is not a PEM public key (expected '-----BEGIN PUBLIC KEY-----', as "
                               "'larimar key export' writes it)");
    if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519)
        throw UserError(what + " is a public key of another kind (" + EVP_PKEY_get0_type_name(key.get()) +
                        "); Larimar signs with Ed25519 keys");
    return {rawPublicHex(key.get())};
}

PublicKey PublicKey::fromHex(std::string_view hex) {
    if (hex.size() != 64 || !isHex(hex))
        throw UserError("'" + std::string(hex) + "' is not an Ed25519 public key (64 hex digits)");
    std::string lower(hex);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
    return {lower};
}

// ---------------------------------------------------------------------------------------
// SigningKey

struct SigningKey::Impl {
    Pkey key;
    PublicKey pub;
};

SigningKey SigningKey::generate() {
    Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (!key) throw Error("cannot generate an Ed25519 key: " + opensslError());
    auto impl = std::make_shared<Impl>();
    impl->pub.hex = rawPublicHex(key.get());
    impl->key = std::move(key);
    SigningKey k;
    k.m_impl = std::move(impl);
    return k;
}

SigningKey SigningKey::fromPem(std::string_view pem, const std::string& what) {
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    Pkey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    ERR_clear_error();
    if (!key) throw UserError(what + " is not a PEM private key (as 'larimar key create' writes it)");
    if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519)
        throw UserError(what + " is a private key of another kind (" + EVP_PKEY_get0_type_name(key.get()) +
                        "); Larimar signs with Ed25519 keys");
    auto impl = std::make_shared<Impl>();
    impl->pub.hex = rawPublicHex(key.get());
    impl->key = std::move(key);
    SigningKey k;
    k.m_impl = std::move(impl);
    return k;
}

std::string SigningKey::privatePem() const {
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), m_impl->key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw Error("cannot write a private key as PEM: " + opensslError());
    return bioText(bio.get());
}

const PublicKey& SigningKey::publicKey() const { return m_impl->pub; }
const std::string& SigningKey::name() const { return m_name; }
void SigningKey::setName(std::string name) { m_name = std::move(name); }

std::string SigningKey::sign(std::string_view message) const {
    MdCtx ctx(EVP_MD_CTX_new());
    unsigned char sig[64];
    std::size_t len = sizeof sig;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, m_impl->key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1)
        throw Error("cannot sign with Ed25519: " + opensslError());
    return toHex(sig, len);
}

bool verifySignature(const PublicKey& key, std::string_view message, std::string_view signatureHex) {
    if (key.hex.size() != 64 || !isHex(key.hex) || signatureHex.size() != 128 || !isHex(signatureHex))
        return false;
    Pkey pkey = publicFromHex(key.hex);
    MdCtx ctx(EVP_MD_CTX_new());
    if (!pkey || !ctx) {
        ERR_clear_error();
        return false;
    }
    const auto sig = fromHex(signatureHex);
    const bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
                    EVP_DigestVerify(ctx.get(), sig.data(), sig.size(),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
    ERR_clear_error();
    return ok;
}

std::string editSignatureMessage(std::string_view hash, std::string_view prevHash) {
    std::string m = "larimar.edit-signature.v1\nhash=";
    m += hash;
    m += "\nprev_hash=";
    m += prevHash;
    m += "\n";
    return m;
}

// ---------------------------------------------------------------------------------------
// KeyStore

KeyStore::KeyStore(std::string dir) : m_dir(dir.empty() ? defaultDirectory() : std::move(dir)) {}

std::string KeyStore::defaultDirectory() {
    namespace fs = std::filesystem;
    fs::path base;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg && fs::path(xdg).is_absolute())
        base = xdg;
    else if (const char* home = std::getenv("HOME"); home && *home)
        base = fs::path(home) / ".config";
    else
        throw UserError("no key directory: neither XDG_CONFIG_HOME nor HOME is set");
    return (base / "larimar" / "keys").string();
}

void KeyStore::checkName(const std::string& name) {
    const bool ok = !name.empty() && name.size() <= 64 && name[0] != '.' &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
                    });
    if (!ok)
        throw UserError("'" + name + "' is not a key name (1-64 letters, digits, '.', '_' or '-', not starting "
                        "with '.')");
}

std::string KeyStore::path(const std::string& name, const char* ext) const {
    return (std::filesystem::path(m_dir) / (name + ext)).string();
}

KeyInfo KeyStore::create(const std::string& name) {
    checkName(name);
    std::error_code ec;
    if (!std::filesystem::exists(m_dir)) {
        std::filesystem::create_directories(m_dir, ec);
        if (ec) throw UserError("cannot create the key directory '" + m_dir + "': " + ec.message());
        ::chmod(m_dir.c_str(), 0700); // only the owner lists the keys
    }
    const SigningKey key = SigningKey::generate();
    const std::string keyPath = path(name, ".key");
    // O_EXCL: an existing key is never overwritten (it may have signed edits); 0600 from birth.
    const int fd = ::open(keyPath.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            throw UserError("a key named '" + name + "' already exists (" + keyPath + "); choose another name");
        throw UserError("cannot create '" + keyPath + "': " + std::strerror(errno));
    }
    const std::string pem = key.privatePem();
    bool ok = ::fchmod(fd, 0600) == 0; // whatever the umask
    for (std::size_t done = 0; ok && done < pem.size();) {
        const auto n = ::write(fd, pem.data() + done, pem.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) ok = false;
        else done += static_cast<std::size_t>(n);
    }
    ok = ::fsync(fd) == 0 && ok;
    const int saved = errno;
    ::close(fd);
    if (!ok) {
        ::unlink(keyPath.c_str());
        throw Error("cannot write '" + keyPath + "': " + std::strerror(saved));
    }
    const std::string pubPath = path(name, ".pub");
    {
        std::ofstream out(pubPath, std::ios::binary | std::ios::trunc);
        out << key.publicKey().pem();
        if (!out.flush()) {
            ::unlink(keyPath.c_str());
            throw Error("cannot write '" + pubPath + "'");
        }
    }
    return {name, keyPath, pubPath, key.publicKey()};
}

std::vector<KeyInfo> KeyStore::list() const {
    std::vector<KeyInfo> out;
    std::error_code ec;
    if (!std::filesystem::is_directory(m_dir, ec)) return out;
    for (const auto& entry : std::filesystem::directory_iterator(m_dir, ec)) {
        if (entry.path().extension() != ".key") continue;
        const std::string name = entry.path().stem().string();
        try {
            checkName(name);
            out.push_back({name, path(name, ".key"), path(name, ".pub"), publicKey(name)});
        } catch (const UserError&) {
            // Not a key this program wrote; list() shows only usable keys.
        }
    }
    std::sort(out.begin(), out.end(), [](const KeyInfo& a, const KeyInfo& b) { return a.name < b.name; });
    return out;
}

bool KeyStore::contains(const std::string& name) const {
    std::error_code ec;
    return std::filesystem::exists(path(name, ".key"), ec);
}

SigningKey KeyStore::load(const std::string& name) const {
    checkName(name);
    const std::string keyPath = path(name, ".key");
    struct stat st {};
    if (::stat(keyPath.c_str(), &st) != 0)
        throw UserError("no key named '" + name + "' in " + m_dir + " (create one with 'larimar key create " +
                        name + "')");
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw UserError("refusing to use the private key '" + keyPath + "': its file mode is " + mode +
                        ", so others may read or change it; a private key must be the owner's only "
                        "(chmod 600 '" + keyPath + "')");
    }
    if (st.st_uid != ::geteuid())
        throw UserError("refusing to use the private key '" + keyPath + "': it belongs to another user");
    SigningKey key = SigningKey::fromPem(readFile(keyPath), "'" + keyPath + "'");
    key.setName(name);
    return key;
}

PublicKey KeyStore::publicKey(const std::string& name) const {
    checkName(name);
    const std::string pubPath = path(name, ".pub");
    std::error_code ec;
    if (std::filesystem::exists(pubPath, ec)) return PublicKey::fromPem(readFile(pubPath), "'" + pubPath + "'");
    return load(name).publicKey();
}

} // namespace larimar
