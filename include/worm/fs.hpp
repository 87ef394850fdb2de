// fs.hpp: durable local file writes. Evidence must never be half-written: every write
// goes to a temp file in the same directory, is fsynced, renamed over the target, and
// the directory is fsynced so the rename itself survives a crash. Create-only writes
// (no_overwrite) use an unnamed O_TMPFILE file linked into place where the filesystem
// allows it: just as atomic, one directory operation instead of three.
//
// Example:
//   worm::write_file_atomic("out/report.json", "{}\n", {.no_overwrite = true});
//   std::string text = worm::read_file("out/report.json");
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "worm/export.hpp"

namespace worm {

struct WriteOptions {
    std::filesystem::perms mode = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                  std::filesystem::perms::group_read | std::filesystem::perms::others_read;
    bool durable = true;         // fsync file and directory (off only for benchmarks and scratch data)
    bool no_overwrite = false;   // fail with Error(already_exists) when the target exists
};

// Throws Error(io) naming the path; on failure the target is left as it was.
WORM_API void write_file_atomic(const std::filesystem::path& path, std::string_view data, const WriteOptions& options = {});
// Every file read from a path a user gives (keys, incidents, bundles, signatures, registry
// imports, configs, Sigstore bundles) goes through read_file, at most max_bytes: regular
// files, and pipes (/dev/stdin, a FIFO) read to the end or the limit; a device (/dev/zero,
// a terminal) or a directory is refused at once, and a FIFO nobody writes reads as empty.
inline constexpr std::uint64_t max_read_file_bytes = 256ull * 1024 * 1024;  // the default limit
inline constexpr std::uint64_t max_key_file_bytes = 64 * 1024;              // PEM keys and tokens

// Throws Error(not_found) when missing, Error(invalid_argument) naming the file for a
// device or directory, a pipe that gave no bytes, or input larger than max_bytes (naming the
// limit), Error(io) otherwise.
WORM_API std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes = max_read_file_bytes);
// fsync a directory so renames and creations in it are durable.
WORM_API void fsync_directory(const std::filesystem::path& dir);

}  // namespace worm
