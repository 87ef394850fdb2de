// crypto.hpp: hashing and encoding primitives (OpenSSL EVP), and Ed25519 keys.
//
// Hash functions take bytes as std::string_view and return raw bytes as std::string;
// the *_hex forms return lower-case hex, as S3 and the bundle format want it.
//
// Example:
//   std::string digest = worm::sha256_hex("abc");  // "ba7816bf...f20015ad"
//   std::string mac = worm::to_hex(worm::hmac_sha256("key", "message"));
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "worm/export.hpp"

namespace worm {

WORM_API std::string sha256(std::string_view data);
WORM_API std::string sha256_hex(std::string_view data);
WORM_API std::string hmac_sha256(std::string_view key, std::string_view data);
WORM_API std::string md5(std::string_view data);  // Content-MD5 only; never used for integrity decisions alone

// Streams a file (or a slice of it) through SHA-256 without loading it; throws Error(io).
WORM_API std::string sha256_file(const std::filesystem::path& path);
WORM_API std::string sha256_file_slice(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t length);

// Incremental SHA-256 for data that arrives in pieces (downloads, multipart).
class WORM_API Sha256Stream {
public:
    Sha256Stream();
    ~Sha256Stream();
    Sha256Stream(Sha256Stream&&) noexcept;
    Sha256Stream& operator=(Sha256Stream&&) noexcept;
    void update(std::string_view data);
    std::string finish();  // raw 32 bytes; the stream cannot be updated afterwards

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

WORM_API std::string to_hex(std::string_view bytes);
// Throws Error(invalid_argument) on odd length or a non-hex digit.
WORM_API std::string from_hex(std::string_view hex);
WORM_API std::string base64_encode(std::string_view bytes);
// Strict: throws Error(invalid_argument) on characters outside the alphabet or bad padding.
WORM_API std::string base64_decode(std::string_view text);

// Compares without early exit, for MACs and signatures.
WORM_API bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace worm
