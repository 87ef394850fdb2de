#include "state.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "worm/error.hpp"

#include "../util/url.hpp"

namespace worm::detail {

std::string endpoint_identity(const std::string& endpoint) {
    if (endpoint.empty()) return "";
    try {
        return Url::parse(endpoint, "S3 endpoint", ErrorCode::config).origin();
    } catch (const Error&) {
        return mask_url_password(endpoint);
    }
}

namespace {

// An exclusive flock on PATH.lock, refused at once when another run holds it: two runs
// sharing one state would each take the other's `copying` marks for their own puts.
UniqueFd lock_state(const std::filesystem::path& path) {
    const std::filesystem::path lock_path = path.string() + ".lock";
    UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) io_error("cannot open the migration state lock", lock_path, errno);
    while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR) continue;
        if (errno == EWOULDBLOCK)
            throw Error(ErrorCode::config, "state file " + path.string() +
                                               " is in use by another migration run; wait for it to finish or use another --state FILE");
        io_error("cannot lock", lock_path, errno);
    }
    return fd;
}

}  // namespace

MigrationState::MigrationState(const std::filesystem::path& path, const Side& source, const Side& destination,
                               const std::string& new_migration_id)
    : lock_(lock_state(path)), db_(path, 60000) {
    db_.exec("PRAGMA journal_mode=WAL");
    // NORMAL survives kill -9; after a power loss the destination listing at start (every
    // key already there is HEADed) still keeps a lost `copying` mark from causing a duplicate.
    db_.exec("PRAGMA synchronous=NORMAL");
    db_.exec("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)");
    db_.exec(
        "CREATE TABLE IF NOT EXISTS objects (source_key TEXT PRIMARY KEY, source_version_id TEXT, dest_key TEXT,"
        " dest_version_id TEXT, status TEXT NOT NULL, error_code TEXT, http_status INTEGER, message TEXT,"
        " sha256 TEXT, size INTEGER, source_etag TEXT NOT NULL DEFAULT '')");
    {
        // Files written before the source's ETag was kept: add the column (rows without it
        // are confirmed at the destination but cannot tell a changed source).
        bool has_etag = false;
        auto q = db_.query("SELECT name FROM pragma_table_info('objects')");
        while (q.step()) has_etag = has_etag || q.text(0) == "source_etag";
        if (!has_etag) db_.exec("ALTER TABLE objects ADD COLUMN source_etag TEXT NOT NULL DEFAULT ''");
    }
    db_.exec(
        "CREATE TABLE IF NOT EXISTS uploads (source_key TEXT PRIMARY KEY, dest_key TEXT NOT NULL,"
        " upload_id TEXT NOT NULL, part_size INTEGER NOT NULL, sha256 TEXT NOT NULL)");
    db_.exec(
        "CREATE TABLE IF NOT EXISTS parts (source_key TEXT NOT NULL, part_number INTEGER NOT NULL,"
        " etag TEXT NOT NULL, checksum_sha256 TEXT NOT NULL, PRIMARY KEY (source_key, part_number))");
    std::map<std::string, std::string> meta;
    {
        auto q = db_.query("SELECT name, value FROM meta");
        while (q.step()) meta[q.text(0)] = q.text(1);
    }
    const std::map<std::string, std::string> wanted{{"source", source.url},
                                                    {"source_endpoint", source.endpoint},
                                                    {"destination", destination.url},
                                                    {"destination_endpoint", destination.endpoint}};
    const bool fresh = meta.empty();
    if (!fresh) {
        const auto at = [](const std::string& url, const std::string& endpoint) {
            return endpoint.empty() ? url : url + " at " + endpoint;
        };
        // A file written before endpoints were recorded has none: it is taken as this run's.
        const auto differs = [&](const std::string& name) {
            const auto it = meta.find(name);
            return it != meta.end() && it->second != wanted.at(name);
        };
        if (differs("source") || differs("destination") || differs("source_endpoint") || differs("destination_endpoint"))
            throw Error(ErrorCode::invalid_argument,
                        "state file " + path.string() + " belongs to the migration from " +
                            at(meta["source"], meta["source_endpoint"]) + " to " +
                            at(meta["destination"], meta["destination_endpoint"]) + ", not from " +
                            at(source.url, source.endpoint) + " to " + at(destination.url, destination.endpoint) +
                            "; use another --state FILE");
    }
    WriteTransaction tx(db_);
    for (const auto& [name, value] : wanted)
        if (!meta.count(name)) db_.query("INSERT INTO meta (name, value) VALUES (?, ?)").bind(1, name).bind(2, value).run();
    if (fresh) db_.query("INSERT INTO meta (name, value) VALUES ('migration_id', ?)").bind(1, new_migration_id).run();
    tx.commit();
    migration_id_ = fresh ? new_migration_id : meta["migration_id"];
}

std::map<std::string, MigrationRow> MigrationState::rows() {
    std::lock_guard lock(mutex_);
    std::map<std::string, MigrationRow> out;
    auto q = db_.query(
        "SELECT source_key, source_version_id, dest_key, dest_version_id, status, error_code, http_status, message,"
        " sha256, size, source_etag FROM objects");
    while (q.step()) {
        MigrationRow r{.source_key = q.text(0), .source_version_id = q.text(1), .dest_key = q.text(2),
                       .dest_version_id = q.text(3), .status = q.text(4), .error_code = q.text(5),
                       .http_status = static_cast<int>(q.integer(6)), .message = q.text(7), .sha256 = q.text(8),
                       .size = static_cast<std::uint64_t>(q.integer(9)), .source_etag = q.text(10)};
        out.emplace(r.source_key, std::move(r));
    }
    return out;
}

void MigrationState::write(const MigrationRow& r) {
    db_.query(
           "INSERT OR REPLACE INTO objects (source_key, source_version_id, dest_key, dest_version_id, status,"
           " error_code, http_status, message, sha256, size, source_etag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, r.source_key)
        .bind(2, r.source_version_id)
        .bind(3, r.dest_key)
        .bind(4, r.dest_version_id)
        .bind(5, r.status)
        .bind(6, r.error_code)
        .bind(7, static_cast<std::int64_t>(r.http_status))
        .bind(8, r.message)
        .bind(9, r.sha256)
        .bind(10, static_cast<std::int64_t>(r.size))
        .bind(11, r.source_etag)
        .run();
}

void MigrationState::mark_copying(const std::vector<MigrationRow>& rows) {
    std::lock_guard lock(mutex_);
    WriteTransaction tx(db_);
    for (MigrationRow copying : rows) {
        copying.status = "copying";
        write(copying);
    }
    tx.commit();
}

void MigrationState::record(const std::vector<MigrationRow>& rows) {
    std::lock_guard lock(mutex_);
    WriteTransaction tx(db_);
    for (const MigrationRow& row : rows) write(row);
    tx.commit();
}

MigrationState::Upload MigrationState::upload_for(const std::string& source_key, const std::string& dest_key,
                                                 const std::string& sha256) {
    std::lock_guard lock(mutex_);
    Upload out;
    auto q = db_.query("SELECT dest_key, upload_id, part_size, sha256 FROM uploads WHERE source_key = ?");
    q.bind(1, source_key);
    if (!q.step()) return out;
    if (q.text(0) != dest_key || q.text(3) != sha256) {
        out.stale_upload_id = q.text(1);
        out.stale_dest_key = q.text(0);
        return out;
    }
    out.checkpoint.upload_id = q.text(1);
    out.checkpoint.part_size = static_cast<std::uint64_t>(q.integer(2));
    auto p = db_.query("SELECT part_number, etag, checksum_sha256 FROM parts WHERE source_key = ? ORDER BY part_number");
    p.bind(1, source_key);
    while (p.step())
        out.checkpoint.parts.push_back(
            s3::CompletedPart{.number = static_cast<int>(p.integer(0)), .etag = p.text(1), .checksum_sha256 = p.text(2)});
    return out;
}

void MigrationState::record_upload(const std::string& source_key, const std::string& dest_key, const std::string& sha256,
                                   const s3::MultipartCheckpoint& checkpoint) {
    std::lock_guard lock(mutex_);
    WriteTransaction tx(db_);
    db_.query("DELETE FROM parts WHERE source_key = ?").bind(1, source_key).run();
    db_.query("INSERT OR REPLACE INTO uploads (source_key, dest_key, upload_id, part_size, sha256) VALUES (?, ?, ?, ?, ?)")
        .bind(1, source_key)
        .bind(2, dest_key)
        .bind(3, checkpoint.upload_id)
        .bind(4, static_cast<std::int64_t>(checkpoint.part_size))
        .bind(5, sha256)
        .run();
    tx.commit();
}

void MigrationState::record_part(const std::string& source_key, const s3::CompletedPart& part) {
    std::lock_guard lock(mutex_);
    db_.query("INSERT OR REPLACE INTO parts (source_key, part_number, etag, checksum_sha256) VALUES (?, ?, ?, ?)")
        .bind(1, source_key)
        .bind(2, static_cast<std::int64_t>(part.number))
        .bind(3, part.etag)
        .bind(4, part.checksum_sha256)
        .run();
}

void MigrationState::forget_upload(const std::string& source_key) {
    std::lock_guard lock(mutex_);
    WriteTransaction tx(db_);
    db_.query("DELETE FROM parts WHERE source_key = ?").bind(1, source_key).run();
    db_.query("DELETE FROM uploads WHERE source_key = ?").bind(1, source_key).run();
    tx.commit();
}

}  // namespace worm::detail
