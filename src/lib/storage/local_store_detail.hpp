// Private pieces of LocalWormStore: safe directory walks, the store lock, streaming
// body staging, and the metadata sidecar format. Not installed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../util/posix.hpp"
#include "worm/storage.hpp"

namespace worm::detail {

namespace fs = std::filesystem;

// ---- file system ------------------------------------------------------------------

// The store lock: an exclusive or shared flock() on root/.lock.
using StoreLock = FileLock;

// base/names[0]/names[1]/..., refusing to pass through a symbolic link or a non-directory.
// With create, missing directories are made (races with other processes are fine) and
// their parents fsynced; without it, returns nullopt at the first missing one.
// Throws Error(storage) on a symlink, Error(already_exists) on a file in the way.
std::optional<fs::path> walk_dirs(const fs::path& base, const std::vector<std::string>& names, bool create,
                                  std::string_view key, bool durable = true);

// What lstat() says a path is.
enum class EntryType { missing, file, directory, symlink, other };
EntryType entry_type(const fs::path& path);

// Reads a regular file without following a symlink; nullopt when missing.
std::optional<std::string> read_file_nofollow(const fs::path& path);
// Opens a regular file for reading without following a symlink; -1 with errno on failure.
int open_nofollow(const fs::path& path);
// Names in a directory (not "." or ".."); empty when the directory is missing.
std::vector<std::string> list_directory(const fs::path& dir);

// Writes a body into dir under a fresh temp name, hashing as it goes; mode 0444, fsynced.
struct StagedBody {
    fs::path path;
    std::uint64_t size = 0;
    std::string sha256_hex;
};
StagedBody stage_body(const fs::path& dir, const PutBody& body, bool durable);

// Streams fd from offset 0 to the end: every byte goes through SHA-256, and the bytes
// in [first, last] go to sink. Returns the byte count and the hex digest.
struct StreamResult {
    std::uint64_t size = 0;
    std::string sha256_hex;
};
StreamResult stream_fd(int fd, std::uint64_t first, std::uint64_t last,
                       const std::function<void(std::string_view)>& sink);

// ---- sidecar ----------------------------------------------------------------------

struct Sidecar {
    std::string key;
    std::string version_id;
    bool delete_marker = false;
    std::uint64_t size = 0;
    std::string sha256_hex;
    std::string content_type;
    std::map<std::string, std::string> metadata;
    std::optional<Retention> retention;
    bool legal_hold = false;
    TimePoint last_modified{};
};

std::string sidecar_to_json(const Sidecar& sidecar);
// Throws Error(integrity) naming the key and version when the document is not a sidecar
// of exactly that key and version.
Sidecar sidecar_from_json(std::string_view json, std::string_view key, std::string_view version_id);

}  // namespace worm::detail
