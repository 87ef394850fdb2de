// Hashing and encoding through OpenSSL's EVP interface (OpenSSL 3).
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "../util/posix.hpp"
#include "../util/text.hpp"
#include "digest.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"

namespace worm {

namespace {

std::string digest(const EVP_MD* md, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1)
        throw Error(ErrorCode::crypto, "OpenSSL digest failed");
    return std::string(reinterpret_cast<const char*>(out.data()), len);
}

// OpenSSL 3 looks an algorithm up by name (under a lock) every time EVP_sha256() or the
// one-shot HMAC() is used. SigV4 hashes and MACs many times per request, so fetch once.
const EVP_MD* fetched_sha256() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!md) throw Error(ErrorCode::crypto, "OpenSSL has no SHA-256");
    return md;
}

const EVP_MD* fetched_md5() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "MD5", nullptr);
    if (!md) throw Error(ErrorCode::crypto, "OpenSSL has no MD5");
    return md;
}

// One SHA-256 context per thread, re-initialized per digest: EVP_Digest would allocate
// and free a context on every call.
EVP_MD_CTX* thread_sha256() {
    struct Holder {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        ~Holder() { EVP_MD_CTX_free(ctx); }
    };
    static thread_local Holder holder;
    if (!holder.ctx) throw Error(ErrorCode::crypto, "OpenSSL SHA-256 context allocation failed");
    return holder.ctx;
}

// One HMAC-SHA256 context per thread, with the digest already set, and the key it holds
// (at most one block, the size of every SigV4 key) so that a call with the same key only
// re-initializes it. The remembered key is wiped when the thread ends.
struct ThreadHmac {
    EVP_MAC_CTX* ctx = nullptr;
    std::array<unsigned char, 64> key{};
    std::size_t key_len = 0;
    bool keyed = false;  // key/key_len hold the context's key

    ThreadHmac() {
        EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        if (mac) ctx = EVP_MAC_CTX_new(mac);
        EVP_MAC_free(mac);  // the context keeps its own reference
        char digest_name[] = "SHA256";
        const OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0), OSSL_PARAM_construct_end()};
        if (ctx && EVP_MAC_CTX_set_params(ctx, params) != 1) {
            EVP_MAC_CTX_free(ctx);
            ctx = nullptr;
        }
    }
    ~ThreadHmac() {
        OPENSSL_cleanse(key.data(), key.size());
        EVP_MAC_CTX_free(ctx);
    }

    bool holds(std::string_view k) const {
        return keyed && k.size() == key_len && CRYPTO_memcmp(k.data(), key.data(), key_len) == 0;
    }
    // EVP_MAC_init with a null key re-initializes with the key already set.
    bool init(std::string_view k) {
        if (holds(k)) return EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1;
        keyed = false;
        OPENSSL_cleanse(key.data(), key.size());  // no tail of a longer previous key stays behind
        if (EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(k.data()), k.size(), nullptr) != 1) return false;
        if (k.size() <= key.size()) {
            std::copy(k.begin(), k.end(), key.begin());
            key_len = k.size();
            keyed = true;
        }
        return true;
    }
};

ThreadHmac& thread_hmac_sha256() {
    static thread_local ThreadHmac holder;
    if (!holder.ctx) throw Error(ErrorCode::crypto, "OpenSSL HMAC-SHA256 is not available");
    return holder;
}

}  // namespace

namespace detail {

Sha256Digest sha256_digest(std::string_view data) {
    EVP_MD_CTX* ctx = thread_sha256();
    Sha256Digest out{};
    unsigned int len = 0;
    if (EVP_DigestInit_ex2(ctx, fetched_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 || EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 ||
        len != out.size())
        throw Error(ErrorCode::crypto, "OpenSSL SHA-256 failed");
    return out;
}

Sha256Digest hmac_sha256_digest(std::string_view key, std::string_view data) {
    ThreadHmac& hmac = thread_hmac_sha256();
    Sha256Digest out{};
    size_t len = 0;
    if (!hmac.init(key) ||
        EVP_MAC_update(hmac.ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
        EVP_MAC_final(hmac.ctx, out.data(), &len, out.size()) != 1 || len != out.size()) {
        hmac.keyed = false;
        throw Error(ErrorCode::crypto, "OpenSSL HMAC-SHA256 failed");
    }
    return out;
}

}  // namespace detail

std::string sha256(std::string_view data) { return std::string(detail::as_chars(detail::sha256_digest(data))); }
std::string sha256_hex(std::string_view data) {
    std::string out;
    detail::append_hex(out, detail::as_chars(detail::sha256_digest(data)));
    return out;
}
std::string md5(std::string_view data) { return digest(fetched_md5(), data); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
    return std::string(detail::as_chars(detail::hmac_sha256_digest(key, data)));
}

struct Sha256Stream::Impl {
    EVP_MD_CTX* ctx = nullptr;
    ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) {
    impl_->ctx = EVP_MD_CTX_new();
    if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, fetched_sha256(), nullptr) != 1)
        throw Error(ErrorCode::crypto, "OpenSSL SHA-256 init failed");
}
Sha256Stream::~Sha256Stream() = default;
Sha256Stream::Sha256Stream(Sha256Stream&&) noexcept = default;
Sha256Stream& Sha256Stream::operator=(Sha256Stream&&) noexcept = default;

void Sha256Stream::update(std::string_view data) {
    if (!impl_ || EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) != 1)
        throw Error(ErrorCode::crypto, "OpenSSL SHA-256 update failed");
}

std::string Sha256Stream::finish() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int len = 0;
    if (!impl_ || EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) != 1)
        throw Error(ErrorCode::crypto, "OpenSSL SHA-256 final failed");
    impl_.reset();
    return std::string(reinterpret_cast<const char*>(out.data()), len);
}

namespace detail {

struct DigestStream::Contexts {
    EVP_MD_CTX* sha256 = EVP_MD_CTX_new();
    EVP_MD_CTX* md5 = EVP_MD_CTX_new();
    ~Contexts() {
        EVP_MD_CTX_free(sha256);
        EVP_MD_CTX_free(md5);
    }
};

DigestStream::DigestStream(bool want_md5) : contexts_(std::make_unique<Contexts>()) { restart(want_md5); }
DigestStream::~DigestStream() = default;

void DigestStream::restart(bool want_md5) {
    want_md5_ = want_md5;
    if (!contexts_->sha256 || !contexts_->md5 || EVP_DigestInit_ex(contexts_->sha256, fetched_sha256(), nullptr) != 1 ||
        (want_md5 && EVP_DigestInit_ex(contexts_->md5, fetched_md5(), nullptr) != 1))
        throw Error(ErrorCode::crypto, "cannot initialise SHA-256/MD5");
}

void DigestStream::update(std::string_view bytes) {
    if (EVP_DigestUpdate(contexts_->sha256, bytes.data(), bytes.size()) != 1 ||
        (want_md5_ && EVP_DigestUpdate(contexts_->md5, bytes.data(), bytes.size()) != 1))
        throw Error(ErrorCode::crypto, "OpenSSL digest update failed");
}

Digests DigestStream::finish() {
    Digests out;
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest_bytes{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(contexts_->sha256, digest_bytes.data(), &len) != 1)
        throw Error(ErrorCode::crypto, "OpenSSL SHA-256 final failed");
    out.sha256.assign(reinterpret_cast<const char*>(digest_bytes.data()), len);
    if (want_md5_) {
        if (EVP_DigestFinal_ex(contexts_->md5, digest_bytes.data(), &len) != 1)
            throw Error(ErrorCode::crypto, "OpenSSL MD5 final failed");
        out.md5.assign(reinterpret_cast<const char*>(digest_bytes.data()), len);
    }
    return out;
}

Digests digest_file_slice(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t length,
                          bool want_md5) {
    DigestStream digests(want_md5);
    // 256 KiB: read and hashed while still in the core's L2 cache; not zero-filled.
    constexpr std::size_t chunk = 256 * 1024;
    const std::unique_ptr<char[]> buf(new char[chunk]);
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        throw Error(errno == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                    "cannot open " + path.string() + ": " + std::strerror(errno));
    std::uint64_t done = 0;
    while (done < length) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, length - done));
        const ssize_t n = ::pread(fd.get(), buf.get(), want, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            throw Error(ErrorCode::io, "cannot read " + path.string() +
                                           (n == 0 ? std::string(": file is shorter than expected")
                                                   : ": " + std::string(std::strerror(errno))));
        digests.update(std::string_view(buf.get(), static_cast<std::size_t>(n)));
        done += static_cast<std::uint64_t>(n);
    }
    return digests.finish();
}

}  // namespace detail

std::string sha256_file_slice(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t length) {
    return detail::digest_file_slice(path, offset, length, false).sha256;
}

std::string sha256_file(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) throw Error(ErrorCode::io, "cannot read " + path.string() + ": " + ec.message());
    return sha256_file_slice(path, 0, size);
}

std::string to_hex(std::string_view bytes) {
    std::string out;
    detail::append_hex(out, bytes);
    return out;
}

std::string from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) throw Error(ErrorCode::invalid_argument, "hex string has an odd length");
    std::string out(hex.size() / 2, '\0');
    for (size_t i = 0; i < out.size(); ++i) {
        const int hi = detail::hex_digit_value(hex[2 * i]), lo = detail::hex_digit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) throw Error(ErrorCode::invalid_argument, "not a hex digit in hex string");
        out[i] = static_cast<char>((hi << 4) | lo);
    }
    return out;
}

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

std::string base64_decode(std::string_view text) {
    // EVP_DecodeBlock accepts some sloppy input, so check the alphabet and padding first.
    if (text.size() % 4 != 0) throw Error(ErrorCode::invalid_argument, "base64 length is not a multiple of 4");
    size_t pad = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                           c == '+' || c == '/';
        if (c == '=') {
            if (i + 2 < text.size()) throw Error(ErrorCode::invalid_argument, "base64 padding in the middle");
            ++pad;
        } else if (!alpha || pad > 0) {
            throw Error(ErrorCode::invalid_argument, "invalid base64 character");
        }
    }
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) throw Error(ErrorCode::invalid_argument, "invalid base64");
    out.resize(static_cast<size_t>(n) - pad);
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace worm
