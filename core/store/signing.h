#pragma once
/// Ed25519 signatures on audit-chain edits (OpenSSL EVP), and the key files an actor keeps
/// outside any workspace.
///
/// An edit's signature covers its hash and the previous edit's hash (editSignatureMessage), so
/// a chain rewritten consistently (every digest, prev_hash and the head recomputed) no longer
/// matches the signatures made over the original hashes, and only the holder of a private key
/// can sign the rewritten ones. A signer is named by its raw public key in hex (64 digits).
///
/// Keys live in $XDG_CONFIG_HOME/larimar/keys (default ~/.config/larimar/keys): NAME.key is the
/// private key (PKCS#8 PEM, file mode 0600; a key file readable by others is refused), NAME.pub
/// the public key (SubjectPublicKeyInfo PEM). All functions are thread-safe; a SigningKey may
/// be shared between threads (signing does not change it).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace larimar {

/// An Ed25519 public key.
struct PublicKey {
    std::string hex; ///< the raw 32-byte key, 64 lower-case hex digits: how edits name a signer

    /// SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"), what `larimar key export` prints.
    std::string pem() const;
    /// The first 16 hex digits, for listings.
    std::string shortId() const { return hex.substr(0, 16); }
    /// Parses a PEM public key; UserError naming what (a file name) when it is not an Ed25519 one.
    static PublicKey fromPem(std::string_view pem, const std::string& what);
    /// Checks 64 hex digits; UserError otherwise.
    static PublicKey fromHex(std::string_view hex);
    bool operator==(const PublicKey& other) const { return hex == other.hex; }
};

/// An Ed25519 private key with its public half.
class SigningKey {
public:
    /// A fresh random key pair (the system's CSPRNG through OpenSSL). Error if OpenSSL fails.
    static SigningKey generate();
    /// Parses a PKCS#8 PEM private key; UserError naming what when it is not an Ed25519 key.
    static SigningKey fromPem(std::string_view pem, const std::string& what);

    /// PKCS#8 PEM of the private key (unencrypted; the file mode protects it).
    std::string privatePem() const;
    const PublicKey& publicKey() const;
    /// The key's name in the key directory ("" for a key not loaded from there).
    const std::string& name() const;
    void setName(std::string name);
    /// Ed25519 signature of message: 128 lower-case hex digits.
    std::string sign(std::string_view message) const;

private:
    struct Impl;
    std::shared_ptr<const Impl> m_impl;
    std::string m_name;
};

/// True when signatureHex is a valid Ed25519 signature of message by key. False for any
/// malformed signature or key (never throws for bad input).
bool verifySignature(const PublicKey& key, std::string_view message, std::string_view signatureHex);

/// What an edit's signature covers: a domain tag, the edit's hash and the previous edit's hash.
std::string editSignatureMessage(std::string_view hash, std::string_view prevHash);

/// One key of a key directory.
struct KeyInfo {
    std::string name;
    std::string privateKeyPath; ///< NAME.key
    std::string publicKeyPath;  ///< NAME.pub
    PublicKey publicKey;
};

/// The key files of one actor, in one directory (created with mode 0700 on first create()).
class KeyStore {
public:
    /// dir empty: defaultDirectory().
    explicit KeyStore(std::string dir = {});
    /// $XDG_CONFIG_HOME/larimar/keys (when absolute), else $HOME/.config/larimar/keys.
    /// UserError when neither is set.
    static std::string defaultDirectory();
    const std::string& directory() const { return m_dir; }

    /// Names are 1-64 of [A-Za-z0-9._-], not starting with '.'; UserError otherwise.
    static void checkName(const std::string& name);
    /// Generates a key pair and writes NAME.key (0600, never overwritten: UserError when it
    /// exists) and NAME.pub.
    KeyInfo create(const std::string& name);
    /// Every key with a NAME.key file, by name. Cheap (reads the .pub files).
    std::vector<KeyInfo> list() const;
    bool contains(const std::string& name) const;
    /// Loads NAME.key. UserError when it does not exist, is not an Ed25519 key, or its file
    /// mode lets anyone but the owner read or write it (the message says to chmod 600).
    SigningKey load(const std::string& name) const;
    /// NAME.pub, or the public half of NAME.key when the .pub file is missing.
    PublicKey publicKey(const std::string& name) const;

private:
    std::string path(const std::string& name, const char* ext) const;
    std::string m_dir;
};

} // namespace larimar
