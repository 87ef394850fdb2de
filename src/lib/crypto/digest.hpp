// digest.hpp (private): SHA-256 and HMAC-SHA256 into fixed arrays, for hot paths that
// hash per request (SigV4) and should not allocate a std::string per digest.
// The public sha256()/hmac_sha256() in worm/crypto.hpp are thin wrappers over these.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace worm::detail {

using Sha256Digest = std::array<unsigned char, 32>;

// SHA-256 with a per-thread context and the pre-fetched digest.
Sha256Digest sha256_digest(std::string_view data);

// HMAC-SHA256 with a per-thread context. Signing many messages with one key (a cached
// SigV4 signing key) skips the key schedule: the context keeps its key, and a call with
// the same key only re-initializes it.
Sha256Digest hmac_sha256_digest(std::string_view key, std::string_view data);

// What one pass over some bytes gave.
struct Digests {
    std::string sha256;  // raw 32 bytes
    std::string md5;     // raw 16 bytes; empty when not asked for
};

// SHA-256 and, when asked, MD5 of bytes that arrive in pieces, in one pass (a file read in
// chunks, a download as it comes off the socket). restart() begins again from nothing.
class DigestStream {
public:
    explicit DigestStream(bool want_md5 = false);
    ~DigestStream();
    DigestStream(const DigestStream&) = delete;
    DigestStream& operator=(const DigestStream&) = delete;
    void restart(bool want_md5);
    void update(std::string_view bytes);
    Digests finish();  // then restart() before the next use

private:
    struct Contexts;
    std::unique_ptr<Contexts> contexts_;
    bool want_md5_ = false;
};

// Raw SHA-256 and, when asked, MD5 of [offset, offset + length) of a file, in one pass
// (S3 bodies need both for Content-MD5). sha256_file_slice() is this without the MD5.
// Error(not_found) when the file is missing, Error(io) when it is shorter or unreadable.
Digests digest_file_slice(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t length,
                          bool want_md5);

inline std::string_view as_chars(const Sha256Digest& d) {
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace worm::detail
