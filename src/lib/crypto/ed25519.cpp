// Ed25519 keys through OpenSSL 3's EVP API (EVP_PKEY_ED25519, one-shot
// EVP_DigestSign/EVP_DigestVerify with a NULL digest, as Ed25519 hashes internally).
#include "worm/ed25519.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <climits>
#include <cstdint>
#include <cstring>

#include "worm/error.hpp"

namespace worm {

void detail::EvpPkeyDeleter::operator()(evp_pkey_st* key) const noexcept { EVP_PKEY_free(key); }

namespace {

struct BioDeleter {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// scrypt parameters for encrypted private keys: 16 MiB per load. N=2^15 would need
// just over OpenSSL's default 32 MiB scrypt limit, which `openssl pkey` and the
// decoder also apply, so 2^14 is the strongest setting every reader accepts.
constexpr uint64_t scrypt_n = 1u << 14;
constexpr uint64_t scrypt_r = 8;
constexpr uint64_t scrypt_p = 1;
constexpr int scrypt_salt_size = 16;  // random, drawn by OpenSSL (its default is only 8)

// Drops whatever OpenSSL queued, so a failure here never leaks into a later,
// unrelated error report.
[[noreturn]] void fail(ErrorCode code, const std::string& message) {
    ERR_clear_error();
    throw Error(code, message);
}

BioPtr read_bio(std::string_view text) {
    if (text.size() > static_cast<size_t>(INT_MAX)) fail(ErrorCode::invalid_argument, "PEM text is too large");
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) fail(ErrorCode::crypto, "OpenSSL could not allocate a memory BIO");
    return bio;
}

// Copies a memory BIO's contents out. For secret output the BIO is a secure-memory
// BIO (BIO_s_secmem), which OpenSSL cleanses when it is freed.
std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    if (len < 0 || (len > 0 && !data)) fail(ErrorCode::crypto, "OpenSSL could not read a memory BIO");
    return std::string(data, static_cast<size_t>(len));
}

void require_ed25519(const EVP_PKEY* key, std::string_view what) {
    if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
        const char* type = EVP_PKEY_get0_type_name(key);
        fail(ErrorCode::crypto, std::string(what) + " is a " + (type ? type : "non-Ed25519") +
                                    " key, not an Ed25519 key");
    }
}

const EVP_PKEY* require_key(const detail::EvpPkeyPtr& key) {
    if (!key) throw Error(ErrorCode::invalid_argument, "Ed25519 key object is empty (it was moved from)");
    return key.get();
}

bool looks_encrypted(std::string_view pem) {
    return pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos ||
           pem.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
}

// OpenSSL's passphrase callback. Without a passphrase it refuses (it must never fall
// back to prompting on a terminal).
struct Passphrase {
    const std::optional<std::string>* value;
};

int passphrase_cb(char* buf, int size, int /*rwflag*/, void* user) {
    const auto* p = static_cast<const Passphrase*>(user);
    if (!p || !p->value || !p->value->has_value()) return -1;
    const std::string& pass = **p->value;
    if (size < 0 || pass.size() > static_cast<size_t>(size)) return -1;
    std::memcpy(buf, pass.data(), pass.size());
    return static_cast<int>(pass.size());
}

}  // namespace

// ---- public key --------------------------------------------------------------------

Ed25519PublicKey Ed25519PublicKey::from_raw(std::string_view raw) {
    if (raw.size() != ed25519_public_key_size)
        fail(ErrorCode::invalid_argument, "Ed25519 public key must be 32 bytes, got " + std::to_string(raw.size()));
    detail::EvpPkeyPtr key(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
    if (!key) fail(ErrorCode::crypto, "OpenSSL rejected the raw Ed25519 public key");
    return Ed25519PublicKey(std::move(key));
}

Ed25519PublicKey Ed25519PublicKey::from_pem(std::string_view pem) {
    auto bio = read_bio(pem);
    detail::EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!key) fail(ErrorCode::parse, "not a PEM public key (expected \"-----BEGIN PUBLIC KEY-----\", SPKI)");
    require_ed25519(key.get(), "public key");
    return Ed25519PublicKey(std::move(key));
}

Ed25519PublicKey::Ed25519PublicKey(const Ed25519PublicKey& other) {
    if (other.key_) {
        if (EVP_PKEY_up_ref(other.key_.get()) != 1) fail(ErrorCode::crypto, "OpenSSL could not share a public key");
        key_.reset(other.key_.get());
    }
}

Ed25519PublicKey& Ed25519PublicKey::operator=(const Ed25519PublicKey& other) {
    if (this != &other) *this = Ed25519PublicKey(other);
    return *this;
}

std::string Ed25519PublicKey::to_pem() const {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), require_key(key_)) != 1)
        fail(ErrorCode::crypto, "OpenSSL could not write the public key as PEM");
    return bio_text(bio.get());
}

std::string Ed25519PublicKey::raw() const {
    std::string out(ed25519_public_key_size, '\0');
    size_t len = out.size();
    if (EVP_PKEY_get_raw_public_key(require_key(key_), reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
        len != ed25519_public_key_size)
        fail(ErrorCode::crypto, "OpenSSL could not export the raw public key");
    return out;
}

namespace {

// A verification context set up for `key`, kept per thread: OpenSSL 3 looks the key's
// algorithm and signature method up by name in its global method store, under its locks,
// in every EVP_DigestVerifyInit; a copy of a context set up once skips all that (threads
// verifying at once otherwise contend on those locks). The context holds a reference to
// the key, so while it is kept no other key can have that address.
const EVP_MD_CTX* verify_template(const EVP_PKEY* key) {
    struct Template {
        const EVP_PKEY* key = nullptr;
        MdCtxPtr ctx;
    };
    thread_local Template kept;
    if (kept.key != key) {
        MdCtxPtr ctx(EVP_MD_CTX_new());
        if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, const_cast<EVP_PKEY*>(key)) != 1)
            fail(ErrorCode::crypto, "OpenSSL could not start Ed25519 verification");
        kept = {key, std::move(ctx)};
    }
    return kept.ctx.get();
}

}  // namespace

bool Ed25519PublicKey::verify(std::string_view message, std::string_view signature) const {
    const EVP_PKEY* key = require_key(key_);
    if (signature.size() != ed25519_signature_size) return false;
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), verify_template(key)) != 1)
        fail(ErrorCode::crypto, "OpenSSL could not start Ed25519 verification");
    const int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                    signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                                    message.size());
    // 1 = valid; 0 = invalid; < 0 = malformed signature or key. Only 1 is valid.
    ERR_clear_error();
    return rc == 1;
}

// ---- private key -------------------------------------------------------------------

Ed25519PrivateKey Ed25519PrivateKey::generate() {
    detail::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (!key) fail(ErrorCode::crypto, "OpenSSL could not generate an Ed25519 key");
    return Ed25519PrivateKey(std::move(key));
}

Ed25519PrivateKey Ed25519PrivateKey::from_raw_seed(std::string_view seed) {
    if (seed.size() != ed25519_seed_size)
        fail(ErrorCode::invalid_argument,
             "Ed25519 private key seed must be 32 bytes, got " + std::to_string(seed.size()));
    detail::EvpPkeyPtr key(EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size()));
    if (!key) fail(ErrorCode::crypto, "OpenSSL rejected the raw Ed25519 private key");
    return Ed25519PrivateKey(std::move(key));
}

Ed25519PrivateKey Ed25519PrivateKey::from_pem(std::string_view pem, const std::optional<std::string>& passphrase) {
    const bool encrypted = looks_encrypted(pem);
    if (encrypted && !passphrase)
        fail(ErrorCode::config, "private key is encrypted and no passphrase was given");
    auto bio = read_bio(pem);
    Passphrase pass{&passphrase};
    detail::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, &pass));
    if (!key) {
        if (encrypted) fail(ErrorCode::config, "cannot decrypt the private key: wrong passphrase (or a damaged key)");
        fail(ErrorCode::parse, "not a PEM private key (expected \"-----BEGIN PRIVATE KEY-----\", PKCS#8)");
    }
    require_ed25519(key.get(), "private key");
    return Ed25519PrivateKey(std::move(key));
}

std::string Ed25519PrivateKey::to_pem(const std::optional<std::string>& passphrase) const {
    const EVP_PKEY* key = require_key(key_);
    if (passphrase && passphrase->empty())
        fail(ErrorCode::invalid_argument, "passphrase for the private key is empty");
    if (passphrase && passphrase->size() > static_cast<size_t>(INT_MAX))
        fail(ErrorCode::invalid_argument, "passphrase for the private key is too long");
    BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio) fail(ErrorCode::crypto, "OpenSSL could not allocate a memory BIO");
    if (!passphrase) {
        if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
            fail(ErrorCode::crypto, "OpenSSL could not write the private key as PKCS#8 PEM");
        return bio_text(bio.get());
    }
    // PBES2 with scrypt + AES-256-CBC: PEM_write_bio_PKCS8PrivateKey would use PBKDF2
    // with OpenSSL's low default iteration count, so build the PKCS#8 envelope here.
    std::unique_ptr<PKCS8_PRIV_KEY_INFO, decltype(&PKCS8_PRIV_KEY_INFO_free)> p8(EVP_PKEY2PKCS8(key),
                                                                                  &PKCS8_PRIV_KEY_INFO_free);
    if (!p8) fail(ErrorCode::crypto, "OpenSSL could not convert the private key to PKCS#8");
    X509_ALGOR* pbe =
        PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), nullptr, scrypt_salt_size, nullptr, scrypt_n, scrypt_r, scrypt_p);
    if (!pbe) fail(ErrorCode::crypto, "OpenSSL could not set up scrypt/AES-256-CBC key encryption");
    X509_SIG* sealed = PKCS8_set0_pbe(passphrase->data(), static_cast<int>(passphrase->size()), p8.get(), pbe);
    if (!sealed) {
        X509_ALGOR_free(pbe);  // ownership passes only on success
        fail(ErrorCode::crypto, "OpenSSL could not encrypt the private key");
    }
    std::unique_ptr<X509_SIG, decltype(&X509_SIG_free)> sealed_ptr(sealed, &X509_SIG_free);
    if (PEM_write_bio_PKCS8(bio.get(), sealed) != 1)
        fail(ErrorCode::crypto, "OpenSSL could not write the encrypted private key as PEM");
    return bio_text(bio.get());
}

std::string Ed25519PrivateKey::sign(std::string_view message) const {
    const EVP_PKEY* key = require_key(key_);
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, const_cast<EVP_PKEY*>(key)) != 1)
        fail(ErrorCode::crypto, "OpenSSL could not start Ed25519 signing");
    std::string sig(ed25519_signature_size, '\0');
    size_t len = sig.size();
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
        len != ed25519_signature_size)
        fail(ErrorCode::crypto, "OpenSSL Ed25519 signing failed");
    return sig;
}

Ed25519PublicKey Ed25519PrivateKey::public_key() const {
    const EVP_PKEY* key = require_key(key_);
    unsigned char raw[ed25519_public_key_size];
    size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != sizeof raw)
        fail(ErrorCode::crypto, "OpenSSL could not derive the public key");
    return Ed25519PublicKey::from_raw(std::string_view(reinterpret_cast<const char*>(raw), len));
}

}  // namespace worm
