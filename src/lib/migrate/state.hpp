// state.hpp (private): the migration's SQLite state file, one row per source key.
//
// A batch's rows are written `copying` (one transaction) before any of its puts and with
// their outcomes (one transaction) when the batch is done (WAL, synchronous=NORMAL: a commit
// is not an fsync), so after a kill -9 the next run knows which objects may have reached the
// destination unseen and HEADs those before anything else. Two commits per batch instead of
// two per object: the state costs the client almost nothing, and a kill costs at most one
// batch of HEADs on the next run.
// A large object's multipart upload is recorded too (upload id, part size, the SHA-256 of
// the bytes it carries, and every finished part with its ETag and checksum), so the next
// run continues that upload from the first part that never finished.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../registry/sqlite.hpp"
#include "../util/posix.hpp"
#include "worm/migrate.hpp"
#include "worm/s3/client.hpp"

namespace worm::detail {

// An S3 endpoint as a state file records it: scheme://host[:port] (no user info, path or
// query: nothing secret is written or printed); "" for "" (AWS's own endpoint).
std::string endpoint_identity(const std::string& endpoint);

class MigrationState {
public:
    // Where a migration reads from or writes to: the URL and the S3 endpoint serving it
    // (scheme://host[:port], never user info; "" for a directory or the default endpoint).
    struct Side {
        std::string url;
        std::string endpoint;
    };

    // Opens or creates the file; a file made for another source or destination (URL or
    // endpoint: the same bucket name on another server is another bucket) is refused
    // (Error(invalid_argument)) so two migrations never share one state by mistake. The file
    // is locked (flock on PATH.lock) for the object's lifetime: a second run on the same
    // state while one is going is refused (Error(config)) instead of racing it.
    MigrationState(const std::filesystem::path& path, const Side& source, const Side& destination,
                   const std::string& new_migration_id);

    const std::string& migration_id() const { return migration_id_; }
    // Every row, by source key.
    std::map<std::string, MigrationRow> rows();
    // Both write every row in one transaction.
    void mark_copying(const std::vector<MigrationRow>& rows);
    void record(const std::vector<MigrationRow>& rows);

    // The multipart upload an earlier run left for this source key, if it carries these bytes
    // (same dest key and SHA-256); one for other bytes is forgotten (returned as `stale` for
    // the caller to abort).
    struct Upload {
        s3::MultipartCheckpoint checkpoint;
        std::string stale_upload_id;  // an upload of other bytes or key, to abort
        std::string stale_dest_key;
    };
    Upload upload_for(const std::string& source_key, const std::string& dest_key, const std::string& sha256);
    void record_upload(const std::string& source_key, const std::string& dest_key, const std::string& sha256,
                       const s3::MultipartCheckpoint& checkpoint);
    void record_part(const std::string& source_key, const s3::CompletedPart& part);
    void forget_upload(const std::string& source_key);

private:
    void write(const MigrationRow& row);

    std::mutex mutex_;
    detail::UniqueFd lock_;  // first: held before the database is opened, released after it is closed
    SqliteDb db_;
    std::string migration_id_;
};

}  // namespace worm::detail
