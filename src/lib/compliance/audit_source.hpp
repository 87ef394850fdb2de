// audit_source.hpp: where an evidence audit reads from: an ObjectStore (with locks and
// checksums) or a plain local evidence directory (bytes only).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "worm/compliance/audit.hpp"
#include "worm/storage.hpp"

namespace worm::compliance {

struct SourceEntry {
    std::string key;
    // From the listing when it comes free (stores); else AuditSource::last_modified asks
    // for it, only for the few keys whose date the name does not give.
    std::optional<TimePoint> last_modified{};
    // Versioned stores: the key's other versions (ids, newest first; delete markers left
    // out), each audited as well, and whether the newest version is a delete marker (the
    // key then has no current object and only older_versions hold its bytes).
    std::vector<std::string> older_versions{};
    bool deleted = false;
};

struct FetchedObject {
    std::string bytes;
    ObjectLockState lock;
    std::string store_sha256_hex;     // the checksum the store computed ("" when none)
    std::string metadata_sha256_hex;  // x-amz-meta-sha256, what the writer claimed ("" when none)
};

class AuditSource {
public:
    virtual ~AuditSource() = default;
    // Every object whose key starts with prefix (flat, sorted or not); with a versioned
    // store, every key that has versions, with the older ones listed in the entry.
    virtual std::vector<SourceEntry> list(const std::string& prefix) = 0;
    // When the object was stored, for an entry listed without it.
    virtual TimePoint last_modified(const SourceEntry& entry) = 0;
    // Throws Error when the object cannot be read. version_id "" is the current version.
    virtual FetchedObject fetch(const std::string& key, const std::string& version_id) = 0;
    // Whether objects carry Object Lock settings worth checking.
    virtual bool has_locks() const = 0;
    // Fills source, endpoint and bucket.
    virtual void describe(AuditReport& report) const = 0;
    // What uri(key) puts before key ("" when unknown): registry URIs are matched against it.
    virtual std::string uri_base() const = 0;
};

std::unique_ptr<AuditSource> make_store_source(std::shared_ptr<ObjectStore> store, std::string url);
// Throws Error(not_found) when dir does not exist or is not a directory.
std::unique_ptr<AuditSource> make_directory_source(const std::filesystem::path& dir);

}  // namespace worm::compliance
