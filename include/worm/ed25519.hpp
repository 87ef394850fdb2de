// ed25519.hpp: Ed25519 keys (RFC 8032 PureEdDSA) over OpenSSL 3's EVP API.
//
// Ed25519PrivateKey signs; Ed25519PublicKey verifies. Both own one EVP_PKEY (RAII).
// Keys travel as PEM: private keys as PKCS#8 ("PRIVATE KEY", or "ENCRYPTED PRIVATE KEY"
// with a passphrase), public keys as SPKI ("PUBLIC KEY"), so openssl, ssh-keygen and
// Python's cryptography read them as they are. Raw forms are the 32-byte RFC 8032 seed
// and public key. No message ever contains key bytes or a passphrase.
//
// Files (permissions, atomic writes) are signer.hpp's concern, not this header's.
//
// Example:
//   worm::Ed25519PrivateKey key = worm::Ed25519PrivateKey::generate();
//   std::string signature = key.sign("message");  // 64 raw bytes
//   bool valid = key.public_key().verify("message", signature);
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "worm/export.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace worm {

namespace detail {
struct WORM_API EvpPkeyDeleter {
    void operator()(evp_pkey_st* key) const noexcept;
};
using EvpPkeyPtr = std::unique_ptr<evp_pkey_st, EvpPkeyDeleter>;
}  // namespace detail

inline constexpr std::size_t ed25519_seed_size = 32;
inline constexpr std::size_t ed25519_public_key_size = 32;
inline constexpr std::size_t ed25519_signature_size = 64;

class WORM_API Ed25519PublicKey {
public:
    // Throws Error(invalid_argument) unless raw is exactly 32 bytes.
    static Ed25519PublicKey from_raw(std::string_view raw);
    // SPKI "-----BEGIN PUBLIC KEY-----". Throws Error(parse) on malformed PEM and
    // Error(crypto) when the key is not an Ed25519 key (e.g. RSA).
    static Ed25519PublicKey from_pem(std::string_view pem);

    std::string to_pem() const;  // SPKI PEM, ends with "\n"
    std::string raw() const;     // 32 bytes

    // True only for a valid signature over exactly these bytes. A signature that is
    // not 64 bytes, a non-canonical S, or a bad R encoding is simply false.
    bool verify(std::string_view message, std::string_view signature) const;

    // Copies share the immutable EVP_PKEY (reference counted).
    Ed25519PublicKey(const Ed25519PublicKey& other);
    Ed25519PublicKey& operator=(const Ed25519PublicKey& other);
    Ed25519PublicKey(Ed25519PublicKey&&) noexcept = default;
    Ed25519PublicKey& operator=(Ed25519PublicKey&&) noexcept = default;
    ~Ed25519PublicKey() = default;

    friend bool operator==(const Ed25519PublicKey& a, const Ed25519PublicKey& b) { return a.raw() == b.raw(); }

private:
    explicit Ed25519PublicKey(detail::EvpPkeyPtr key) : key_(std::move(key)) {}
    friend class Ed25519PrivateKey;
    detail::EvpPkeyPtr key_;
};

class WORM_API Ed25519PrivateKey {
public:
    // A fresh key from OpenSSL's CSPRNG.
    static Ed25519PrivateKey generate();
    // The 32-byte RFC 8032 private key ("seed"). Throws Error(invalid_argument) on
    // another size. The caller still owns (and should wipe) its copy of the seed.
    static Ed25519PrivateKey from_raw_seed(std::string_view seed);
    // PKCS#8 PEM, plain or encrypted. Throws:
    //   Error(config)  encrypted and no passphrase given, or the passphrase is wrong;
    //   Error(parse)   not a PEM private key;
    //   Error(crypto)  a valid key of another type (RSA, EC, Ed448).
    // A passphrase given for an unencrypted key is ignored.
    static Ed25519PrivateKey from_pem(std::string_view pem, const std::optional<std::string>& passphrase = {});

    // PKCS#8 PEM. With a passphrase: "ENCRYPTED PRIVATE KEY", PBES2 with scrypt
    // (N=2^14, r=8, p=1) and AES-256-CBC. Throws Error(invalid_argument) on an empty
    // passphrase. The returned text is secret: wipe it (OPENSSL_cleanse) after use.
    std::string to_pem(const std::optional<std::string>& passphrase = {}) const;

    std::string sign(std::string_view message) const;  // 64 raw bytes (R || S)
    Ed25519PublicKey public_key() const;

    Ed25519PrivateKey(const Ed25519PrivateKey&) = delete;
    Ed25519PrivateKey& operator=(const Ed25519PrivateKey&) = delete;
    Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept = default;
    Ed25519PrivateKey& operator=(Ed25519PrivateKey&&) noexcept = default;
    ~Ed25519PrivateKey() = default;  // OpenSSL cleanses the key material when freeing it

private:
    explicit Ed25519PrivateKey(detail::EvpPkeyPtr key) : key_(std::move(key)) {}
    detail::EvpPkeyPtr key_;
};

}  // namespace worm
