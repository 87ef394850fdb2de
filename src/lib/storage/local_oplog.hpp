// local_oplog.hpp (private): the operation log of a LocalWormStore.
//
// root/oplog.jsonl is append-only, one JSON record per line, hash-chained:
//   {"seq":1,"prev":"<hex SHA-256 of the previous line, or 64 zeros>","op":"put",
//    "key":"..","version_id":"..","sidecar_sha256":"<hex>","sidecar":"<the sidecar file's exact text>"}
// op is put | delete_marker | retention | legal_hold | adopt (a version found when a store
// without a log was first opened) | remove (a version deleted for good: no sidecar fields).
// The log, not the sidecar files, says which versions exist and what their sidecars hold:
// the store refuses a version whose sidecar file is missing or differs (Error(integrity)),
// lists keys from the log (a deleted sidecar cannot hide an object) and ignores sidecars the
// log does not know (a crashed put, or one planted by hand).
//
// Not thread-safe: LocalWormStore serialises calls (store lock + its own mutex).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../util/posix.hpp"

namespace worm::detail {

class OperationLog {
public:
    // key -> version id -> the sidecar text the log recorded last (versions sort oldest first).
    using Index = std::map<std::string, std::map<std::string, std::string>>;

    static constexpr std::string_view file_name = "oplog.jsonl";

    explicit OperationLog(std::filesystem::path root);

    // Whether root/oplog.jsonl exists (a store written before the log had none).
    bool exists() const;

    // Creates the log of a store that has none: one "adopt" record per (key, version, sidecar
    // text) given, written to a temp file and linked into place (never over an existing log).
    // Call under the exclusive store lock.
    struct Adopted {
        std::string key, version_id, sidecar;
    };
    void create(const std::vector<Adopted>& versions, bool durable);

    // Reads records appended since the last call (by this or another process). Call under
    // the store lock. Throws Error(integrity) naming the line when the chain is broken, a
    // record is malformed, or the file shrank; a last line without its newline is an append
    // a crash cut short: it is ignored (and cut off by the next append).
    void refresh();

    const Index& index() const noexcept { return index_; }
    // The sidecar text recorded for key/version, or nullptr when the log does not know it.
    const std::string* sidecar(const std::string& key, const std::string& version_id) const;
    // The versions of key, oldest first (empty when none).
    std::vector<std::string> versions(const std::string& key) const;

    // Appends one record (after refresh(), under the exclusive store lock); sidecar is null
    // for "remove". durable: fdatasync before returning.
    void append(std::string_view op, const std::string& key, const std::string& version_id,
                const std::string* sidecar, bool durable);

    std::uint64_t records() const noexcept { return seq_; }
    // SHA-256 (hex) of the last record: what a checkpoint kept elsewhere would pin.
    const std::string& head() const noexcept { return prev_; }

private:
    void open_for_append();
    void apply_line(std::string_view line, std::uint64_t line_number);

    std::filesystem::path path_;
    UniqueFd fd_;               // O_RDWR | O_APPEND, opened on first use
    std::uint64_t offset_ = 0;  // bytes of complete lines read so far
    std::uint64_t seq_ = 0;
    std::string prev_;          // hash of the last line
    Index index_;
};

}  // namespace worm::detail
