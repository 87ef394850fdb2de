// The SQLite upload registry (see registry.hpp for the guarantees).
#include "worm/registry.hpp"

#include <signal.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <fstream>
#include <mutex>
#include <sstream>

#include "registry_impl.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "../util/posix.hpp"

namespace worm {

std::string_view to_string(UploadStatus status) noexcept {
    switch (status) {
        case UploadStatus::pending: return "pending";
        case UploadStatus::uploading: return "uploading";
        case UploadStatus::uploaded: return "uploaded";
        case UploadStatus::failed: return "failed";
    }
    return "pending";
}

UploadStatus parse_upload_status(std::string_view text) {
    if (text == "pending") return UploadStatus::pending;
    if (text == "uploading") return UploadStatus::uploading;
    if (text == "uploaded") return UploadStatus::uploaded;
    if (text == "failed") return UploadStatus::failed;
    throw Error(ErrorCode::invalid_argument, "upload status must be pending, uploading, uploaded or failed, got '" +
                                                 std::string(text) + "'");
}

namespace {

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
    return buf;
}

// Field 22 (starttime, clock ticks since boot) and field 3 (state) of /proc/<pid>/stat.
// The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
struct ProcStat {
    char state = '?';
    std::string start_ticks;
};

std::optional<ProcStat> read_proc_stat(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    if (!in) return std::nullopt;
    std::string line;
    std::getline(in, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(line.substr(close + 1));
    ProcStat st;
    std::string field;
    // After ')': field 3 (state) is the first, field 22 (starttime) the twentieth.
    for (int i = 3; i <= 22 && (fields >> field); ++i) {
        if (i == 3) st.state = field.empty() ? '?' : field[0];
        if (i == 22) st.start_ticks = field;
    }
    if (st.start_ticks.empty()) return std::nullopt;
    return st;
}

}  // namespace

std::string process_lease_owner(long pid) {
    const auto st = read_proc_stat(pid);
    if (!st) return "";
    return host_name() + ":" + std::to_string(pid) + ":" + st->start_ticks;
}

std::string process_lease_owner() { return process_lease_owner(static_cast<long>(getpid())); }

bool lease_owner_alive(const std::string& owner) {
    // host:pid:start; the host itself may not contain ':' (hostnames cannot).
    const auto first = owner.find(':');
    const auto second = first == std::string::npos ? std::string::npos : owner.find(':', first + 1);
    if (second == std::string::npos) return true;
    if (owner.substr(0, first) != host_name()) return true;  // cannot tell: wait for expiry
    long pid = 0;
    try {
        std::size_t used = 0;
        pid = std::stol(owner.substr(first + 1, second - first - 1), &used);
        if (used != second - first - 1 || pid <= 0) return true;
    } catch (const std::exception&) {
        return true;
    }
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
    const auto st = read_proc_stat(pid);
    if (!st) return false;                     // gone between the two checks
    if (st->state == 'Z' || st->state == 'X') return false;  // exited, not yet reaped
    return st->start_ticks == owner.substr(second + 1);   // else the pid was reused
}

void RegistryOptions::validate() const {
    if (busy_timeout_ms < 0) throw Error(ErrorCode::invalid_argument, "busy_timeout_ms must not be negative");
    if (!clock) throw Error(ErrorCode::invalid_argument, "registry clock is null (leave it unset for the system clock)");
}

namespace detail {

// Schema version 1. Times are RFC 3339 UTC with milliseconds: fixed width, so text
// order is time order and MIN() works on them.
constexpr const char* schema_v1 = R"sql(
CREATE TABLE bundles (
  bundle_id         TEXT PRIMARY KEY NOT NULL,
  client_id         TEXT NOT NULL,
  bundle_path       TEXT NOT NULL,
  sig_path          TEXT NOT NULL,
  bundle_sha256     TEXT NOT NULL,
  sig_sha256        TEXT NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('pending','uploading','uploaded','failed')),
  bundle_uri        TEXT NOT NULL DEFAULT '',
  sig_uri           TEXT NOT NULL DEFAULT '',
  bundle_version_id TEXT NOT NULL DEFAULT '',
  sig_version_id    TEXT NOT NULL DEFAULT '',
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  uploaded_at       TEXT,
  attempts          INTEGER NOT NULL DEFAULT 0,
  last_error        TEXT NOT NULL DEFAULT '',
  extra_json        TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;
CREATE INDEX bundles_by_status ON bundles(status, bundle_id);
CREATE INDEX bundles_by_status_created ON bundles(status, created_at);
CREATE TABLE attempts (
  id          INTEGER PRIMARY KEY,
  bundle_id   TEXT NOT NULL REFERENCES bundles(bundle_id),
  started_at  TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  outcome     TEXT NOT NULL,
  error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX attempts_by_bundle ON attempts(bundle_id, id);
CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
)sql";

// Version 1 -> 2: the upload lease. New files get v1 and then this, so the upgrade path
// is the one every file takes.
constexpr const char* migrate_v1_to_v2 = R"sql(
ALTER TABLE bundles ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE bundles ADD COLUMN lease_until TEXT;
)sql";

const char* const record_columns =
    "bundle_id, client_id, bundle_path, sig_path, bundle_sha256, sig_sha256, status, bundle_uri, sig_uri, "
    "bundle_version_id, sig_version_id, created_at, updated_at, uploaded_at, attempts, last_error, extra_json, "
    "lease_owner, lease_until, COALESCE(json_extract(extra_json, '$.replica_bundle_uri'), ''), "
    "COALESCE(json_extract(extra_json, '$.replica_sig_uri'), '')";

RegistryRecord read_record(const SqliteQuery& q) {
    RegistryRecord r;
    r.bundle_id = q.text(0);
    r.client_id = q.text(1);
    r.bundle_path = q.text(2);
    r.sig_path = q.text(3);
    r.bundle_sha256 = q.text(4);
    r.sig_sha256 = q.text(5);
    r.status = parse_upload_status(q.text(6));
    r.bundle_uri = q.text(7);
    r.sig_uri = q.text(8);
    r.bundle_version_id = q.text(9);
    r.sig_version_id = q.text(10);
    r.created_at = parse_rfc3339(q.text(11));
    r.updated_at = parse_rfc3339(q.text(12));
    if (auto u = q.optional_text(13)) r.uploaded_at = parse_rfc3339(*u);
    r.attempts = q.integer(14);
    r.last_error = q.text(15);
    r.extra_json = q.text(16);
    r.lease_owner = q.text(17);
    if (auto u = q.optional_text(18)) r.lease_until = parse_rfc3339(*u);
    r.replica_bundle_uri = q.text(19);
    r.replica_sig_uri = q.text(20);
    return r;
}

RegistryImpl::RegistryImpl(const std::filesystem::path& db_path, RegistryOptions opts)
    : options(opts), clock(opts.clock), db(db_path, opts.busy_timeout_ms) {
    // journal_mode=WAL is persistent in the file; setting it again is a no-op.
    db.exec("PRAGMA journal_mode=WAL");
    db.exec(options.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
    db.exec("PRAGMA foreign_keys=ON");
    migrate();
}

std::int64_t RegistryImpl::user_version() {
    auto q = db.query("PRAGMA user_version");
    q.step();
    return q.integer(0);
}

void RegistryImpl::migrate() {
    if (user_version() == UploadRegistry::schema_version) return;
    // Another process may be creating the schema at the same moment: decide under the lock.
    WriteTransaction tx(db);
    const std::int64_t version = user_version();
    if (version > UploadRegistry::schema_version)
        throw Error(ErrorCode::config, "upload registry " + db.path().string() + " has schema version " +
                                           std::to_string(version) + ", newer than this libworm supports (" +
                                           std::to_string(UploadRegistry::schema_version) + ")");
    if (version == 0) db.exec(schema_v1);
    if (version <= 1) db.exec(migrate_v1_to_v2);
    db.exec("PRAGMA user_version=" + std::to_string(UploadRegistry::schema_version));
    tx.commit();
}

std::string RegistryImpl::now_text() const { return format_rfc3339_millis(clock->now()); }

std::optional<RegistryRecord> RegistryImpl::get(const std::string& bundle_id) {
    auto q = db.query(std::string("SELECT ") + record_columns + " FROM bundles WHERE bundle_id = ?1");
    q.bind(1, bundle_id);
    if (!q.step()) return std::nullopt;
    return read_record(q);
}

RegistryRecord RegistryImpl::require(const std::string& bundle_id) {
    auto r = get(bundle_id);
    if (!r) throw Error(ErrorCode::not_found, "bundle " + bundle_id + " is not in the upload registry");
    return std::move(*r);
}

void RegistryImpl::check_new_record(const RegistryRecord& r) const {
    if (r.bundle_id.empty()) throw Error(ErrorCode::invalid_argument, "registry record has no bundle_id");
    if (r.client_id.empty())
        throw Error(ErrorCode::invalid_argument, "registry record " + r.bundle_id + " has no client_id");
    if (r.bundle_sha256.empty())
        throw Error(ErrorCode::invalid_argument, "registry record " + r.bundle_id + " has no bundle_sha256");
}

// Inserts r, or checks it against the row already there. Call inside a write transaction.
bool RegistryImpl::insert_or_check(const RegistryRecord& r, UploadStatus status) {
    if (auto existing = get(r.bundle_id)) {
        auto conflict = [&](const std::string& have, const std::string& got, const char* what) {
            if (!have.empty() && !got.empty() && have != got)
                throw Error(ErrorCode::integrity, "bundle " + r.bundle_id + " is already registered with a different " +
                                                      what + " sha256 (" + have + ", now " + got + ")");
        };
        conflict(existing->bundle_sha256, r.bundle_sha256, ".json");
        conflict(existing->sig_sha256, r.sig_sha256, ".sig");
        // An imported row may not have known its hashes: learn them now.
        if ((existing->bundle_sha256.empty() && !r.bundle_sha256.empty()) ||
            (existing->sig_sha256.empty() && !r.sig_sha256.empty())) {
            auto q = db.query(
                "UPDATE bundles SET bundle_sha256 = CASE WHEN bundle_sha256 = '' THEN ?2 ELSE bundle_sha256 END, "
                "sig_sha256 = CASE WHEN sig_sha256 = '' THEN ?3 ELSE sig_sha256 END WHERE bundle_id = ?1");
            q.bind(1, r.bundle_id).bind(2, r.bundle_sha256).bind(3, r.sig_sha256).run();
        }
        return false;
    }
    const std::string now = now_text();
    const std::string created = r.created_at == TimePoint{} ? now : format_rfc3339_millis(r.created_at);
    const std::string updated = r.updated_at == TimePoint{} ? now : format_rfc3339_millis(r.updated_at);
    auto q = db.query(
        "INSERT INTO bundles (bundle_id, client_id, bundle_path, sig_path, bundle_sha256, sig_sha256, status, "
        "bundle_uri, sig_uri, bundle_version_id, sig_version_id, created_at, updated_at, uploaded_at, attempts, "
        "last_error, extra_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
    q.bind(1, r.bundle_id).bind(2, r.client_id).bind(3, r.bundle_path).bind(4, r.sig_path);
    q.bind(5, r.bundle_sha256).bind(6, r.sig_sha256).bind(7, to_string(status));
    q.bind(8, r.bundle_uri).bind(9, r.sig_uri).bind(10, r.bundle_version_id).bind(11, r.sig_version_id);
    q.bind(12, created).bind(13, updated);
    q.bind_optional(14, r.uploaded_at ? std::optional<std::string>(format_rfc3339_millis(*r.uploaded_at)) : std::nullopt);
    q.bind(15, r.attempts).bind(16, r.last_error).bind(17, r.extra_json.empty() ? "{}" : r.extra_json);
    q.run();
    return true;
}

void RegistryImpl::set_meta(const std::string& key, const std::string& value) {
    auto q = db.query("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2");
    q.bind(1, key).bind(2, value).run();
}

std::optional<std::string> RegistryImpl::meta(const std::string& key) {
    auto q = db.query("SELECT value FROM meta WHERE key = ?1");
    q.bind(1, key);
    if (!q.step()) return std::nullopt;
    return q.text(0);
}

}  // namespace detail

using detail::WriteTransaction;

namespace {

std::string rebuild_advice(const std::filesystem::path& evidence_dir) {
    return "rebuild it from the signed bundles with `worm registry rebuild --evidence-dir " + evidence_dir.string() + "`";
}

// SQLite takes an empty file for a new, empty database, so a truncated registry would
// silently drop the backlog: an existing registry of 0 bytes is refused. For the same
// reason a new registry is never empty on disk: it is made whole under a temporary name
// and linked into place, so no other process sees it half-created.
void create_or_check_registry_file(const std::filesystem::path& evidence_dir, const std::filesystem::path& db_path,
                                   const RegistryOptions& options) {
    struct stat st {};
    if (::stat(db_path.c_str(), &st) == 0) {
        if (st.st_size == 0)
            throw Error(ErrorCode::integrity, "upload registry " + db_path.string() +
                                                  " is empty (0 bytes): it was truncated, and reading it as empty "
                                                  "would drop the backlog; " +
                                                  rebuild_advice(evidence_dir));
        return;
    }
    if (errno != ENOENT) return;  // SQLite names the problem when it opens the file
    const std::filesystem::path fresh =
        db_path.string() + ".new-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
    { detail::RegistryImpl create(fresh, options); }  // closing the last connection folds the WAL in
    const int rc = ::link(fresh.c_str(), db_path.c_str());
    const int err = errno;
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(fresh.string() + suffix, ignored);
    if (rc != 0 && err != EEXIST) detail::io_error("cannot create upload registry", db_path, err);
    if (options.durable) fsync_directory(evidence_dir);
}

}  // namespace

UploadRegistry::UploadRegistry(const std::filesystem::path& evidence_dir, RegistryOptions options) {
    options.validate();
    std::error_code ec;
    if (!std::filesystem::is_directory(evidence_dir, ec))
        throw Error(ErrorCode::io, "evidence directory " + evidence_dir.string() + " does not exist");
    create_or_check_registry_file(evidence_dir, evidence_dir / file_name, options);
    impl_ = std::make_unique<Impl>(evidence_dir / file_name, options);
}

std::filesystem::path UploadRegistry::set_aside(const std::filesystem::path& evidence_dir, TimePoint now) {
    const std::filesystem::path db_path = evidence_dir / file_name;
    std::string stamp = format_amz_date(now);
    const std::filesystem::path aside = db_path.string() + ".damaged-" + stamp;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        const std::filesystem::path from = db_path.string() + suffix;
        if (!std::filesystem::exists(from)) continue;
        const std::filesystem::path to = aside.string() + suffix;
        if (std::filesystem::exists(to))
            throw Error(ErrorCode::already_exists, to.string() + " already exists; move it away first");
        if (::rename(from.c_str(), to.c_str()) != 0) detail::io_error("cannot move aside", from, errno);
    }
    fsync_directory(evidence_dir);
    return aside;
}

UploadRegistry::UploadRegistry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<UploadRegistry> UploadRegistry::open_file(const std::filesystem::path& db_path,
                                                          RegistryOptions options) {
    options.validate();
    return std::unique_ptr<UploadRegistry>(new UploadRegistry(std::make_unique<Impl>(db_path, options)));
}

UploadRegistry::~UploadRegistry() = default;

const std::filesystem::path& UploadRegistry::path() const noexcept { return impl_->db.path(); }

bool UploadRegistry::add_pending(const RegistryRecord& record) {
    impl_->check_new_record(record);
    std::lock_guard lock(impl_->mutex);
    WriteTransaction tx(impl_->db);
    const bool added = impl_->insert_or_check(record, UploadStatus::pending);
    tx.commit();
    return added;
}

std::size_t UploadRegistry::add_pending_batch(const std::vector<RegistryRecord>& records) {
    for (const auto& r : records) impl_->check_new_record(r);
    std::lock_guard lock(impl_->mutex);
    WriteTransaction tx(impl_->db);
    std::size_t added = 0;
    for (const auto& r : records) added += impl_->insert_or_check(r, UploadStatus::pending) ? 1 : 0;
    tx.commit();
    return added;
}

void UploadRegistry::mark_uploading(const std::string& bundle_id) {
    std::lock_guard lock(impl_->mutex);
    WriteTransaction tx(impl_->db);
    const auto r = impl_->require(bundle_id);
    if (r.status == UploadStatus::uploaded)
        throw Error(ErrorCode::invalid_argument, "bundle " + bundle_id + " is already uploaded (" + r.bundle_uri + ")");
    auto q = impl_->db.query(
        "UPDATE bundles SET status = 'uploading', updated_at = ?2, extra_json = json_remove(extra_json, '$.status', '$.updated_at') "
        "WHERE bundle_id = ?1");
    q.bind(1, bundle_id).bind(2, impl_->now_text()).run();
    tx.commit();
}

std::string UploadRegistry::lease_owner() const {
    return impl_->options.lease_owner.empty() ? process_lease_owner() : impl_->options.lease_owner;
}

LeaseClaim UploadRegistry::acquire_lease(const std::string& bundle_id, std::chrono::milliseconds duration) {
    if (duration.count() <= 0)
        throw Error(ErrorCode::invalid_argument, "lease duration for bundle " + bundle_id + " must be positive");
    const std::string me = lease_owner();
    std::lock_guard lock(impl_->mutex);
    // The write lock (BEGIN IMMEDIATE) makes the read and the update below one step for
    // every process sharing the file.
    WriteTransaction tx(impl_->db);
    const auto r = impl_->require(bundle_id);
    if (r.status == UploadStatus::uploaded)
        throw Error(ErrorCode::invalid_argument, "bundle " + bundle_id + " is already uploaded (" + r.bundle_uri + ")");
    const TimePoint now = impl_->clock->now();
    const bool held_elsewhere = !r.lease_owner.empty() && r.lease_owner != me && r.lease_until &&
                                *r.lease_until > now && lease_owner_alive(r.lease_owner);
    if (held_elsewhere) {
        LeaseClaim busy;
        busy.holder = r.lease_owner;
        busy.until = r.lease_until;
        return busy;  // tx rolls back: nothing changed
    }
    const auto until = std::chrono::time_point_cast<TimePoint::duration>(now + duration);
    auto q = impl_->db.query(
        "UPDATE bundles SET status = 'uploading', lease_owner = ?2, lease_until = ?3, updated_at = ?4, "
        "extra_json = json_remove(extra_json, '$.status', '$.updated_at') WHERE bundle_id = ?1");
    q.bind(1, bundle_id).bind(2, me).bind(3, format_rfc3339_millis(until)).bind(4, format_rfc3339_millis(now)).run();
    tx.commit();
    LeaseClaim ok;
    ok.acquired = true;
    return ok;
}

void UploadRegistry::release_lease(const std::string& bundle_id) {
    const std::string me = lease_owner();
    std::lock_guard lock(impl_->mutex);
    WriteTransaction tx(impl_->db);
    auto q = impl_->db.query(
        "UPDATE bundles SET lease_owner = '', lease_until = NULL WHERE bundle_id = ?1 AND lease_owner = ?2");
    q.bind(1, bundle_id).bind(2, me).run();
    tx.commit();
}

void UploadRegistry::mark_uploaded(const std::string& bundle_id, const UploadLocation& location) {
    std::lock_guard lock(impl_->mutex);
    WriteTransaction tx(impl_->db);
    const auto r = impl_->require(bundle_id);
    if (r.status == UploadStatus::uploaded) {
        if (r.bundle_uri == location.bundle_uri && r.sig_uri == location.sig_uri) {
            if (!location.replica_bundle_uri.empty() && r.replica_bundle_uri != location.replica_bundle_uri) {
                auto q = impl_->db.query(
                    "UPDATE bundles SET extra_json = json_set(extra_json, '$.replica_bundle_uri', ?2, "
                    "'$.replica_sig_uri', ?3), updated_at = ?4 WHERE bundle_id = ?1");
                q.bind(1, bundle_id).bind(2, location.replica_bundle_uri).bind(3, location.replica_sig_uri);
                q.bind(4, impl_->now_text()).run();
                tx.commit();
            }
            return;  // already recorded
        }
        throw Error(ErrorCode::integrity, "bundle " + bundle_id + " is already recorded as uploaded to " +
                                              r.bundle_uri + ", not " + location.bundle_uri);
    }
    const std::string now = impl_->now_text();
    auto q = impl_->db.query(
        "UPDATE bundles SET status = 'uploaded', bundle_uri = ?2, sig_uri = ?3, bundle_version_id = ?4, "
        "sig_version_id = ?5, uploaded_at = ?6, updated_at = ?6, last_error = '', lease_owner = '', lease_until = NULL, "
        "extra_json = json_remove(extra_json, '$.status', '$.updated_at', '$.bundle_uri', '$.sig_uri', '$.bundle_version_id', "
        "'$.sig_version_id', '$.uploaded_at', '$.last_error') WHERE bundle_id = ?1");
    q.bind(1, bundle_id).bind(2, location.bundle_uri).bind(3, location.sig_uri);
    q.bind(4, location.bundle_version_id).bind(5, location.sig_version_id).bind(6, now).run();
    if (!location.replica_bundle_uri.empty()) {
        auto rq = impl_->db.query(
            "UPDATE bundles SET extra_json = json_set(extra_json, '$.replica_bundle_uri', ?2, '$.replica_sig_uri', ?3) "
            "WHERE bundle_id = ?1");
        rq.bind(1, bundle_id).bind(2, location.replica_bundle_uri).bind(3, location.replica_sig_uri).run();
    }
    impl_->set_meta("consecutive_failures", "0");
    impl_->set_meta("last_uploaded_at", now);
    tx.commit();
}

void UploadRegistry::mark_failed(const std::string& bundle_id, const std::string& error) {
    std::lock_guard lock(impl_->mutex);
    WriteTransaction tx(impl_->db);
    const auto r = impl_->require(bundle_id);
    if (r.status == UploadStatus::uploaded)
        throw Error(ErrorCode::invalid_argument, "bundle " + bundle_id + " is already uploaded; it cannot fail");
    const std::string now = impl_->now_text();
    auto q = impl_->db.query(
        "UPDATE bundles SET status = 'failed', last_error = ?2, updated_at = ?3, lease_owner = '', lease_until = NULL, "
        "extra_json = json_remove(extra_json, '$.status', '$.updated_at', '$.last_error') WHERE bundle_id = ?1");
    q.bind(1, bundle_id).bind(2, error).bind(3, now).run();
    const std::int64_t failures = std::stoll(impl_->meta("consecutive_failures").value_or("0")) + 1;
    impl_->set_meta("consecutive_failures", std::to_string(failures));
    impl_->set_meta("last_error", error);
    impl_->set_meta("last_error_at", now);
    tx.commit();
}

void UploadRegistry::mark_pending(const std::string& bundle_id) {
    std::lock_guard lock(impl_->mutex);
    WriteTransaction tx(impl_->db);
    const auto r = impl_->require(bundle_id);
    if (r.status == UploadStatus::uploaded)
        throw Error(ErrorCode::invalid_argument, "bundle " + bundle_id + " is already uploaded");
    auto q = impl_->db.query(
        "UPDATE bundles SET status = 'pending', updated_at = ?2, lease_owner = '', lease_until = NULL, extra_json = json_remove(extra_json, '$.status', '$.updated_at') "
        "WHERE bundle_id = ?1");
    q.bind(1, bundle_id).bind(2, impl_->now_text()).run();
    tx.commit();
}

void UploadRegistry::record_attempt(const UploadAttempt& attempt) {
    std::lock_guard lock(impl_->mutex);
    WriteTransaction tx(impl_->db);
    impl_->require(attempt.bundle_id);
    const std::string now = impl_->now_text();
    auto q = impl_->db.query(
        "INSERT INTO attempts (bundle_id, started_at, finished_at, outcome, error) VALUES (?1, ?2, ?3, ?4, ?5)");
    q.bind(1, attempt.bundle_id);
    q.bind(2, attempt.started_at == TimePoint{} ? now : format_rfc3339_millis(attempt.started_at));
    q.bind(3, attempt.finished_at == TimePoint{} ? now : format_rfc3339_millis(attempt.finished_at));
    q.bind(4, attempt.outcome.empty() ? std::string("unknown") : attempt.outcome).bind(5, attempt.error).run();
    auto u = impl_->db.query(
        "UPDATE bundles SET attempts = attempts + 1, updated_at = ?2, "
        "extra_json = json_remove(extra_json, '$.attempts', '$.updated_at') WHERE bundle_id = ?1");
    u.bind(1, attempt.bundle_id).bind(2, now).run();
    tx.commit();
}

std::vector<UploadAttempt> UploadRegistry::recent_attempts(std::size_t limit) {
    std::lock_guard lock(impl_->mutex);
    auto q = impl_->db.query(
        "SELECT bundle_id, started_at, finished_at, outcome, error FROM attempts ORDER BY id DESC LIMIT ?1");
    q.bind(1, static_cast<std::int64_t>(limit));
    std::vector<UploadAttempt> out;
    while (q.step())
        out.push_back({.bundle_id = q.text(0), .started_at = parse_rfc3339(q.text(1)),
                       .finished_at = parse_rfc3339(q.text(2)), .outcome = q.text(3), .error = q.text(4)});
    return out;
}

std::optional<RegistryRecord> UploadRegistry::get(const std::string& bundle_id) {
    std::lock_guard lock(impl_->mutex);
    return impl_->get(bundle_id);
}

std::vector<UploadAttempt> UploadRegistry::attempts(const std::string& bundle_id) {
    std::lock_guard lock(impl_->mutex);
    auto q = impl_->db.query(
        "SELECT bundle_id, started_at, finished_at, outcome, error FROM attempts WHERE bundle_id = ?1 ORDER BY id");
    q.bind(1, bundle_id);
    std::vector<UploadAttempt> out;
    while (q.step())
        out.push_back(UploadAttempt{.bundle_id = q.text(0),
                                    .started_at = parse_rfc3339(q.text(1)),
                                    .finished_at = parse_rfc3339(q.text(2)),
                                    .outcome = q.text(3),
                                    .error = q.text(4)});
    return out;
}

std::vector<RegistryRecord> UploadRegistry::list_by_status(UploadStatus status, std::size_t limit,
                                                           const std::string& after_id) {
    std::lock_guard lock(impl_->mutex);
    auto q = impl_->db.query(std::string("SELECT ") + detail::record_columns +
                             " FROM bundles WHERE status = ?1 AND bundle_id > ?2 ORDER BY bundle_id LIMIT ?3");
    q.bind(1, to_string(status)).bind(2, after_id).bind(3, static_cast<std::int64_t>(limit));
    std::vector<RegistryRecord> out;
    while (q.step()) out.push_back(detail::read_record(q));
    return out;
}

std::vector<RegistryRecord> UploadRegistry::list_missing_replica(std::size_t limit, const std::string& after_id) {
    std::lock_guard lock(impl_->mutex);
    auto q = impl_->db.query(std::string("SELECT ") + detail::record_columns +
                             " FROM bundles WHERE status = 'uploaded' AND bundle_id > ?1 AND"
                             " COALESCE(json_extract(extra_json, '$.replica_bundle_uri'), '') = ''"
                             " ORDER BY bundle_id LIMIT ?2");
    q.bind(1, after_id).bind(2, static_cast<std::int64_t>(limit));
    std::vector<RegistryRecord> out;
    while (q.step()) out.push_back(detail::read_record(q));
    return out;
}

std::int64_t UploadRegistry::count_missing_replica() {
    std::lock_guard lock(impl_->mutex);
    auto q = impl_->db.query(
        "SELECT COUNT(*) FROM bundles WHERE status = 'uploaded' AND"
        " COALESCE(json_extract(extra_json, '$.replica_bundle_uri'), '') = ''");
    q.step();
    return q.integer(0);
}

RegistryCounts UploadRegistry::counts() {
    std::lock_guard lock(impl_->mutex);
    return impl_->counts();
}

RegistryCounts detail::RegistryImpl::counts() {
    RegistryCounts c;
    auto q = db.query("SELECT status, COUNT(*) FROM bundles GROUP BY status");
    while (q.step()) {
        const auto n = q.integer(1);
        switch (parse_upload_status(q.text(0))) {
            case UploadStatus::pending: c.pending = n; break;
            case UploadStatus::uploading: c.uploading = n; break;
            case UploadStatus::uploaded: c.uploaded = n; break;
            case UploadStatus::failed: c.failed = n; break;
        }
    }
    return c;
}

std::optional<TimePoint> detail::RegistryImpl::oldest_backlog() {
    // One indexed MIN per status (the (status, created_at) index answers each directly).
    std::optional<TimePoint> oldest;
    for (const char* s : {"pending", "uploading", "failed"}) {
        auto q = db.query("SELECT MIN(created_at) FROM bundles WHERE status = ?1");
        q.bind(1, std::string_view(s));
        if (q.step() && !q.is_null(0)) {
            const TimePoint t = parse_rfc3339(q.text(0));
            if (!oldest || t < *oldest) oldest = t;
        }
    }
    return oldest;
}

std::optional<TimePoint> UploadRegistry::oldest_pending_created_at() {
    std::lock_guard lock(impl_->mutex);
    return impl_->oldest_backlog();
}

std::int64_t UploadRegistry::consecutive_failures() {
    std::lock_guard lock(impl_->mutex);
    return std::stoll(impl_->meta("consecutive_failures").value_or("0"));
}

RegistryStats UploadRegistry::stats() {
    std::lock_guard lock(impl_->mutex);
    // One read transaction, so the figures belong together.
    impl_->db.exec("BEGIN");
    try {
        RegistryStats s;
        s.counts = impl_->counts();
        s.oldest_backlog_created_at = impl_->oldest_backlog();
        s.consecutive_failures = std::stoll(impl_->meta("consecutive_failures").value_or("0"));
        s.last_error = impl_->meta("last_error").value_or("");
        if (auto t = impl_->meta("last_error_at")) s.last_error_at = parse_rfc3339(*t);
        if (auto t = impl_->meta("last_uploaded_at")) s.last_uploaded_at = parse_rfc3339(*t);
        {
            // Times are RFC 3339 text, which julianday() reads; whole milliseconds suffice.
            auto q = impl_->db.query(
                "SELECT CAST(ROUND(AVG(d)) AS INTEGER), CAST(ROUND(MAX(d)) AS INTEGER) FROM (SELECT "
                "(julianday(uploaded_at) - julianday(created_at)) * 86400000.0 AS d FROM bundles "
                "WHERE status = 'uploaded' AND uploaded_at IS NOT NULL)");
            if (q.step() && !q.is_null(0)) {
                s.mean_upload_latency = std::chrono::milliseconds(std::max<std::int64_t>(0, q.integer(0)));
                s.max_upload_latency = std::chrono::milliseconds(std::max<std::int64_t>(0, q.integer(1)));
            }
        }
        {
            auto q = impl_->db.query("SELECT COUNT(*) FROM bundles WHERE attempts > 1");
            if (q.step()) s.retried_bundles = q.integer(0);
        }
        impl_->db.exec("COMMIT");
        return s;
    } catch (...) {
        try {
            impl_->db.exec("ROLLBACK");
        } catch (...) {
        }
        throw;
    }
}

}  // namespace worm
