// evidence_files.hpp (private): how EvidencePipeline puts files into the evidence
// directory with the fewest file operations its durability contract allows
// (docs/pipeline-durability.md):
//
//   UnnamedFile      write the bytes into an unnamed file (O_TMPFILE), read them back,
//                    then give it its name with link(): exclusive, so the name is also the
//                    id's reservation; a name never points at incomplete bytes.
//   fsync_in_parallel the data of many files in one durability round: writeback of all
//                    started at once, then fsyncs (a few in a row, many on several
//                    threads: the kernel merges concurrent fsyncs into one journal commit).
//   GroupSync        one directory fsync shared by every caller waiting at the same time
//                    (group commit): N threads committing together cost one fsync.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "../util/posix.hpp"

namespace worm::detail {

// The evidence directory, opened once: files are created, named and synced relative to it.
class EvidenceDirectory {
public:
    explicit EvidenceDirectory(const std::filesystem::path& dir);
    const std::filesystem::path& path() const noexcept { return path_; }
    int fd() const noexcept { return fd_.get(); }
    // Whether unnamed files (O_TMPFILE + link through /proc/self/fd) work here.
    bool unnamed_files() const noexcept { return unnamed_files_; }

private:
    std::filesystem::path path_;
    UniqueFd fd_;
    bool unnamed_files_;
};

class UnnamedFile {
public:
    // Creates the file in `dir` and writes `data` (a named temporary file ".<pid>-<n>.tmp"
    // where unnamed files are not available). Throws Error(io) naming the directory.
    UnnamedFile(const EvidenceDirectory& dir, std::string_view data, mode_t mode);
    ~UnnamedFile();
    UnnamedFile(UnnamedFile&& other) noexcept;
    UnnamedFile& operator=(UnnamedFile&&) = delete;
    UnnamedFile(const UnnamedFile&) = delete;
    UnnamedFile& operator=(const UnnamedFile&) = delete;

    int fd() const noexcept { return fd_.get(); }
    // The bytes as stored, read through the file (not the caller's buffer).
    std::string read_back() const;
    // Names the file `name` in the directory; false (nothing changed) when the name exists.
    bool link_as(const std::string& name);

private:
    const EvidenceDirectory* dir_;
    UniqueFd fd_;
    std::string temp_name_;  // only without unnamed files
    std::size_t size_;
};

// fsync every descriptor (writeback of all started first; more than a few fsynced on
// several threads); throws Error(io) naming `what` if any fails.
void fsync_in_parallel(std::span<const int> fds, const std::filesystem::path& what);

// Group commit of one directory's entries: sync() returns once an fsync of the directory
// that started after the call has finished; callers arriving while one runs share the next.
class GroupSync {
public:
    explicit GroupSync(const EvidenceDirectory& dir) : dir_(&dir) {}
    void sync();  // throws Error(io) when the fsync covering this call failed

private:
    const EvidenceDirectory* dir_;
    std::mutex mutex_;
    std::condition_variable done_cv_;
    std::uint64_t requested_ = 0;   // tickets handed out
    std::uint64_t synced_ = 0;      // every ticket <= synced_ is covered by a finished fsync
    std::uint64_t failed_upto_ = 0; // tickets covered by a failed fsync
    int failed_errno_ = 0;
    bool running_ = false;
};

}  // namespace worm::detail
