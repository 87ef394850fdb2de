// digest.hpp (private): SHA-256 and HMAC-SHA256 into fixed arrays, for hot paths that
// hash per request (SigV4) and should not allocate a std::string per digest.
// The public sha256()/hmac_sha256() in worm/crypto.hpp are thin wrappers over these.
#pragma once

#include <array>
#include <string_view>

namespace worm::detail {

using Sha256Digest = std::array<unsigned char, 32>;

// SHA-256 with a per-thread context and the pre-fetched digest.
Sha256Digest sha256_digest(std::string_view data);

// HMAC-SHA256 with a per-thread context. Signing many messages with one key (a cached
// SigV4 signing key) skips the key schedule: the context keeps its key, and a call with
// the same key only re-initializes it.
Sha256Digest hmac_sha256_digest(std::string_view key, std::string_view data);

inline std::string_view as_chars(const Sha256Digest& d) {
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace worm::detail
