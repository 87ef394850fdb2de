// cosign's keys (see compliance/cosign.hpp): SPKI public keys, and the encrypted private
// key envelope {"kdf": {"name": "scrypt", "params": {"N", "r", "p"}, "salt"},
// "cipher": {"name": "nacl/secretbox", "nonce"}, "ciphertext"} holding PKCS#8 DER.
// scrypt and XSalsa20-Poly1305 come from libsodium; everything else from OpenSSL.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <cstdlib>
#include <memory>

#include "../signer/key_file.hpp"
#include "worm/compliance/cosign.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"

namespace worm::compliance {

namespace {

struct BioFree {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

std::shared_ptr<evp_pkey_st> share(EVP_PKEY* key) { return {key, [](EVP_PKEY* k) { EVP_PKEY_free(k); }}; }

Bio memory_bio(std::string_view text) {
    Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) throw Error(ErrorCode::crypto, "OpenSSL could not allocate a buffer");
    return bio;
}

// Only the key types cosign generates and verifies offline.
void require_supported(EVP_PKEY* key, const char* what) {
    if (EVP_PKEY_is_a(key, "ED25519")) return;
    if (EVP_PKEY_is_a(key, "EC")) {
        char curve[64] = {};
        size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &len) == 1 &&
            std::string_view(curve) == "prime256v1")
            return;
        throw Error(ErrorCode::crypto, std::string(what) + " is an EC key on curve " +
                                           (len ? std::string(curve) : std::string("(unknown)")) +
                                           "; cosign keys are ECDSA P-256 (prime256v1)");
    }
    throw Error(ErrorCode::crypto, std::string(what) + " must be ECDSA P-256 (cosign generate-key-pair) or Ed25519");
}

const rapidjson::Value& member(const rapidjson::Value& obj, const char* name) {
    const rapidjson::Value* v = obj.IsObject() ? json::find_member(obj, name) : nullptr;
    if (!v) throw Error(ErrorCode::parse, std::string("cosign private key: the envelope has no \"") + name + "\"");
    return *v;
}
std::string text_of(const rapidjson::Value& obj, const char* name) {
    const rapidjson::Value& v = member(obj, name);
    if (!v.IsString()) throw Error(ErrorCode::parse, std::string("cosign private key: \"") + name + "\" is not a string");
    return {v.GetString(), v.GetStringLength()};
}
std::string bytes_of(const rapidjson::Value& obj, const char* name) {
    try {
        return base64_decode(text_of(obj, name));
    } catch (const Error& e) {
        if (e.code() == ErrorCode::parse && std::string_view(e.what()).starts_with("cosign")) throw;
        throw Error(ErrorCode::parse, std::string("cosign private key: \"") + name + "\" is not base64");
    }
}
std::uint64_t uint_of(const rapidjson::Value& obj, const char* name) {
    const rapidjson::Value& v = member(obj, name);
    if (!v.IsUint64()) throw Error(ErrorCode::parse, std::string("cosign private key: scrypt \"") + name + "\" is not a number");
    return v.GetUint64();
}

// The PEM's base64 body, for the PEM types cosign has used.
std::string pem_body(std::string_view pem) {
    for (const std::string_view type : {"ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"}) {
        const std::string begin = "-----BEGIN " + std::string(type) + "-----";
        const std::string end = "-----END " + std::string(type) + "-----";
        const auto b = pem.find(begin);
        if (b == std::string_view::npos) continue;
        const auto e = pem.find(end, b);
        if (e == std::string_view::npos) break;
        std::string body;
        for (char c : pem.substr(b + begin.size(), e - b - begin.size()))
            if (c != '\n' && c != '\r' && c != ' ' && c != '\t') body += c;
        try {
            return base64_decode(body);
        } catch (const Error&) {
            throw Error(ErrorCode::parse, "cosign private key: the PEM body is not base64");
        }
    }
    throw Error(ErrorCode::parse,
                "not a cosign private key (expected \"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\" or "
                "\"ENCRYPTED COSIGN PRIVATE KEY\", as cosign generate-key-pair writes)");
}

void init_sodium() {
    if (sodium_init() < 0) throw Error(ErrorCode::crypto, "libsodium could not be initialised");
}

}  // namespace

// ---- public keys ------------------------------------------------------------------

CosignPublicKey CosignPublicKey::from_pem(std::string_view pem) {
    Bio bio = memory_bio(pem);
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (!key) throw Error(ErrorCode::parse, "the public key is not a PEM public key (SPKI \"BEGIN PUBLIC KEY\", as cosign.pub)");
    auto shared = share(key);
    require_supported(key, "the public key");
    return CosignPublicKey(std::move(shared));
}

CosignPublicKey CosignPublicKey::load(const std::filesystem::path& path) {
    std::string text;
    try {
        text = read_file(path, 64 * 1024);
    } catch (const Error& e) {
        if (e.code() == ErrorCode::not_found)
            throw Error(ErrorCode::not_found, "public key " + path.string() + " does not exist");
        throw;
    }
    try {
        return from_pem(text);
    } catch (const Error& e) {
        throw Error(e.code(), path.string() + ": " + e.what());
    }
}

bool CosignPublicKey::is_ecdsa() const { return EVP_PKEY_is_a(key_.get(), "EC"); }

std::string CosignPublicKey::algorithm() const { return is_ecdsa() ? "ECDSA P-256" : "Ed25519"; }

bool CosignPublicKey::verify(std::string_view message, std::string_view signature) const {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx) return false;
    // ECDSA signs SHA-256 of the message; Ed25519 (PureEdDSA) the message itself.
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, is_ecdsa() ? EVP_sha256() : nullptr, nullptr, key_.get()) != 1)
        return false;
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

std::string CosignPublicKey::hint() const {
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key_.get(), &der);
    if (len <= 0) throw Error(ErrorCode::crypto, "OpenSSL could not encode the public key");
    const std::string out = base64_encode(sha256(std::string_view(reinterpret_cast<const char*>(der), static_cast<size_t>(len))));
    OPENSSL_free(der);
    return out;
}

std::string CosignPublicKey::to_pem() const {
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1)
        throw Error(ErrorCode::crypto, "OpenSSL could not write the public key as PEM");
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return {data, static_cast<size_t>(n)};
}

// ---- private keys -----------------------------------------------------------------

std::optional<std::string> cosign_password_from_env() {
    // Not env_or_empty: an empty COSIGN_PASSWORD is a password cosign accepts.
    if (const char* v = std::getenv("COSIGN_PASSWORD")) return std::string(v);
    return std::nullopt;
}

CosignPrivateKey CosignPrivateKey::from_pem(std::string_view pem, std::string_view password) {
    init_sodium();
    const std::string envelope_text = pem_body(pem);
    rapidjson::Document env;
    try {
        env = json::parse_strict(envelope_text, "cosign private key");
    } catch (const Error&) {
        throw Error(ErrorCode::parse, "cosign private key: the PEM body is not the JSON envelope cosign writes");
    }
    const rapidjson::Value& kdf = member(env, "kdf");
    const rapidjson::Value& cipher = member(env, "cipher");
    if (text_of(kdf, "name") != "scrypt")
        throw Error(ErrorCode::parse, "cosign private key: unsupported kdf '" + text_of(kdf, "name") + "' (expected scrypt)");
    if (text_of(cipher, "name") != "nacl/secretbox")
        throw Error(ErrorCode::parse,
                    "cosign private key: unsupported cipher '" + text_of(cipher, "name") + "' (expected nacl/secretbox)");
    const rapidjson::Value& params = member(kdf, "params");
    const std::uint64_t n = uint_of(params, "N"), r = uint_of(params, "r"), p = uint_of(params, "p");
    // cosign writes N=32768 r=8 p=1 (32 MiB); scrypt needs 128 * N * r bytes, kept to 256 MiB
    // so a hostile file cannot ask for gigabytes.
    if (n < 2 || (n & (n - 1)) != 0 || r == 0 || r > 64 || p == 0 || p > 16 || 128 * n * r > (256u << 20))
        throw Error(ErrorCode::parse, "cosign private key: scrypt parameters N=" + std::to_string(n) + " r=" +
                                          std::to_string(r) + " p=" + std::to_string(p) + " are out of range");
    const std::string salt = bytes_of(kdf, "salt");
    const std::string nonce = bytes_of(cipher, "nonce");
    const std::string sealed = bytes_of(env, "ciphertext");
    if (nonce.size() != crypto_secretbox_NONCEBYTES)
        throw Error(ErrorCode::parse, "cosign private key: the secretbox nonce must be 24 bytes");
    if (sealed.size() <= crypto_secretbox_MACBYTES)
        throw Error(ErrorCode::parse, "cosign private key: the ciphertext is too short");

    std::string box_key(crypto_secretbox_KEYBYTES, '\0');
    worm::detail::WipeOnExit wipe_key(box_key);
    if (crypto_pwhash_scryptsalsa208sha256_ll(reinterpret_cast<const uint8_t*>(password.data()), password.size(),
                                              reinterpret_cast<const uint8_t*>(salt.data()), salt.size(), n,
                                              static_cast<uint32_t>(r), static_cast<uint32_t>(p),
                                              reinterpret_cast<uint8_t*>(box_key.data()), box_key.size()) != 0)
        throw Error(ErrorCode::crypto, "cosign private key: scrypt failed (out of memory?)");
    std::string der(sealed.size() - crypto_secretbox_MACBYTES, '\0');
    worm::detail::WipeOnExit wipe_der(der);
    if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(der.data()),
                                   reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
                                   reinterpret_cast<const unsigned char*>(nonce.data()),
                                   reinterpret_cast<const unsigned char*>(box_key.data())) != 0)
        throw Error(ErrorCode::crypto, "cosign private key: wrong password (COSIGN_PASSWORD) or damaged key");

    const unsigned char* in = reinterpret_cast<const unsigned char*>(der.data());
    PKCS8_PRIV_KEY_INFO* info = d2i_PKCS8_PRIV_KEY_INFO(nullptr, &in, static_cast<long>(der.size()));
    EVP_PKEY* key = info ? EVP_PKCS82PKEY(info) : nullptr;
    PKCS8_PRIV_KEY_INFO_free(info);
    if (!key) throw Error(ErrorCode::parse, "cosign private key: the decrypted key is not PKCS#8");
    auto shared = share(key);
    require_supported(key, "the cosign private key");
    return CosignPrivateKey(std::move(shared));
}

CosignPrivateKey CosignPrivateKey::load(const std::filesystem::path& path, std::optional<std::string> password) {
    if (!password) password = cosign_password_from_env();
    if (!password)
        throw Error(ErrorCode::config, "cosign private key " + path.string() +
                                           " needs its password: set COSIGN_PASSWORD (or pass the password)");
    worm::detail::WipeOnExit wipe_password(*password);
    std::string pem = worm::detail::read_private_key_file(path);
    worm::detail::WipeOnExit wipe_pem(pem);
    try {
        return from_pem(pem, *password);
    } catch (const Error& e) {
        throw Error(e.code(), path.string() + ": " + e.what());
    }
}

std::string CosignPrivateKey::sign(std::string_view message) const {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    const bool ecdsa = EVP_PKEY_is_a(key_.get(), "EC");
    size_t len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, ecdsa ? EVP_sha256() : nullptr, nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
        throw Error(ErrorCode::crypto, "OpenSSL could not sign with the cosign key");
    std::string signature(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
        throw Error(ErrorCode::crypto, "OpenSSL could not sign with the cosign key");
    signature.resize(len);
    return signature;
}

CosignPublicKey CosignPrivateKey::public_key() const {
    // The public half through its SPKI encoding: a key object without the private scalar.
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key_.get(), &der);
    if (len <= 0) throw Error(ErrorCode::crypto, "OpenSSL could not encode the public key");
    const unsigned char* in = der;
    EVP_PKEY* pub = d2i_PUBKEY(nullptr, &in, len);
    OPENSSL_free(der);
    if (!pub) throw Error(ErrorCode::crypto, "OpenSSL could not decode the public key");
    return CosignPublicKey(share(pub));
}

}  // namespace worm::compliance
