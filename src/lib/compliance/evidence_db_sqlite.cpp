// The embedded evidence database: SQLite, through the registry's statement layer.
#include <mutex>

#include "../registry/sqlite.hpp"
#include "evidence_db_impl.hpp"
#include "worm/error.hpp"

namespace worm::compliance::detail {

namespace {

constexpr const char* kColumns =
    "evidence_id, object_key, sha256, retain_until, lock_mode, version_id, session_id, evidence_type, metadata, created_at";

EvidenceRow read_row(const worm::detail::SqliteQuery& q) {
    EvidenceRow r;
    r.evidence_id = q.text(0);
    r.object_key = q.text(1);
    r.sha256 = q.text(2);
    if (!q.is_null(3)) r.retain_until = parse_retention_date(q.text(3));
    r.lock_mode = q.text(4);
    r.version_id = q.text(5);
    r.session_id = q.text(6);
    r.evidence_type = q.text(7);
    r.metadata = q.text(8);
    r.created_at = parse_rfc3339(q.text(9));
    return r;
}

class SqliteEvidenceDatabase final : public EvidenceDatabase {
public:
    SqliteEvidenceDatabase(const std::filesystem::path& path, std::string url)
        : db_(path, 5000, "evidence database"), url_(std::move(url)) {}

    void create_schema() override {
        std::lock_guard lock(mutex_);
        db_.exec(std::string("CREATE TABLE IF NOT EXISTS ") + kEvidenceTable +
                 " (evidence_id TEXT PRIMARY KEY, object_key TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL,"
                 " retain_until TEXT, lock_mode TEXT NOT NULL DEFAULT '', version_id TEXT NOT NULL DEFAULT '',"
                 " session_id TEXT NOT NULL DEFAULT '', evidence_type TEXT NOT NULL DEFAULT '',"
                 " metadata TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL)");
    }

    void insert(const EvidenceRow& row) override {
        validate_evidence_row(row);
        std::lock_guard lock(mutex_);
        auto q = db_.query(std::string("INSERT INTO ") + kEvidenceTable + " (" + kColumns +
                           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
        q.bind(1, row.evidence_id).bind(2, row.object_key).bind(3, row.sha256);
        if (row.retain_until) q.bind(4, format_rfc3339_millis(*row.retain_until));
        else q.bind_null(4);
        q.bind(5, row.lock_mode).bind(6, row.version_id).bind(7, row.session_id).bind(8, row.evidence_type);
        q.bind(9, row.metadata);
        q.bind(10, format_rfc3339(row.created_at == TimePoint{} ? std::chrono::system_clock::now() : row.created_at));
        try {
            q.run();
        } catch (const Error& e) {
            // SqliteDb reports a constraint as invalid_argument; here it is a duplicate.
            if (e.code() == ErrorCode::invalid_argument)
                throw Error(ErrorCode::already_exists, "evidence database " + url_ + " already holds evidence id " +
                                                           row.evidence_id + " or object key " + row.object_key);
            throw;
        }
    }

    std::optional<EvidenceRow> find(const std::string& evidence_id) override {
        std::lock_guard lock(mutex_);
        auto q = db_.query(std::string("SELECT ") + kColumns + " FROM " + kEvidenceTable + " WHERE evidence_id = ?1");
        q.bind(1, evidence_id);
        if (!q.step()) return std::nullopt;
        return read_row(q);
    }

    std::vector<EvidenceRow> rows(const std::string& key_prefix) override {
        std::lock_guard lock(mutex_);
        // substr, not LIKE: a prefix holding % or _ means itself.
        auto q = db_.query(std::string("SELECT ") + kColumns + " FROM " + kEvidenceTable +
                           " WHERE substr(object_key, 1, length(?1)) = ?1 ORDER BY object_key");
        q.bind(1, key_prefix);
        std::vector<EvidenceRow> out;
        while (q.step()) out.push_back(read_row(q));
        return out;
    }

    std::string url() const override { return url_; }

private:
    std::mutex mutex_;
    worm::detail::SqliteDb db_;
    std::string url_;
};

}  // namespace

std::unique_ptr<EvidenceDatabase> open_sqlite_evidence_database(const std::filesystem::path& path, const std::string& url) {
    return std::make_unique<SqliteEvidenceDatabase>(path, url);
}

}  // namespace worm::compliance::detail
