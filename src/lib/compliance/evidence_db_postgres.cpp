// The evidence database on PostgreSQL, through libpq (Debian libpq-dev).
#include <libpq-fe.h>

#include <mutex>
#include <string_view>

#include "evidence_db_impl.hpp"
#include "worm/error.hpp"

namespace worm::compliance::detail {

namespace {

// Times travel as RFC 3339 text in UTC both ways, so no libpq type handling is needed.
constexpr const char* kSelect =
    "SELECT evidence_id, object_key, sha256,"
    " to_char(retain_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " lock_mode, version_id, session_id, evidence_type, metadata,"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM worm_evidence ";
static_assert(std::string_view(kEvidenceTable) == "worm_evidence", "the SQL below names the table");

struct ResultFree {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultFree>;

std::string first_line(const char* message) {
    std::string m = message ? message : "";
    if (const auto nl = m.find('\n'); nl != std::string::npos) m.resize(nl);
    return m;
}

class PostgresEvidenceDatabase final : public EvidenceDatabase {
public:
    PostgresEvidenceDatabase(const std::string& url, std::string masked) : url_(std::move(masked)) {
        // expand_dbname: the URL carries host, port, user, password and database.
        const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
        const char* values[] = {url.c_str(), "10", "libworm", nullptr};
        conn_ = PQconnectdbParams(keys, values, 1);
        if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
            const std::string why = conn_ ? first_line(PQerrorMessage(conn_)) : "out of memory";
            PQfinish(conn_);
            conn_ = nullptr;
            throw Error(ErrorCode::io, "cannot connect to the evidence database " + url_ + ": " + why);
        }
        // Notices ("relation already exists, skipping") are not for the user's stderr.
        PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    }
    ~PostgresEvidenceDatabase() override { PQfinish(conn_); }

    void create_schema() override {
        run("CREATE TABLE IF NOT EXISTS worm_evidence (evidence_id TEXT PRIMARY KEY, object_key TEXT NOT NULL UNIQUE,"
            " sha256 TEXT NOT NULL, retain_until TIMESTAMPTZ, lock_mode TEXT NOT NULL DEFAULT '',"
            " version_id TEXT NOT NULL DEFAULT '', session_id TEXT NOT NULL DEFAULT '',"
            " evidence_type TEXT NOT NULL DEFAULT '', metadata TEXT NOT NULL DEFAULT '',"
            " created_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            {});
    }

    void insert(const EvidenceRow& row) override {
        validate_evidence_row(row);
        const std::string until = row.retain_until ? format_rfc3339_millis(*row.retain_until) : "";
        const std::string created =
            format_rfc3339(row.created_at == TimePoint{} ? std::chrono::system_clock::now() : row.created_at);
        try {
            run("INSERT INTO worm_evidence (evidence_id, object_key, sha256, retain_until, lock_mode, version_id,"
                " session_id, evidence_type, metadata, created_at)"
                " VALUES ($1, $2, $3, NULLIF($4, '')::timestamptz, $5, $6, $7, $8, $9, $10::timestamptz)",
                {row.evidence_id, row.object_key, row.sha256, until, row.lock_mode, row.version_id, row.session_id,
                 row.evidence_type, row.metadata, created});
        } catch (const Error& e) {
            if (e.code() != ErrorCode::already_exists) throw;
            throw Error(ErrorCode::already_exists, "evidence database " + url_ + " already holds evidence id " +
                                                       row.evidence_id + " or object key " + row.object_key);
        }
    }

    std::optional<EvidenceRow> find(const std::string& evidence_id) override {
        auto rows = select(std::string(kSelect) + "WHERE evidence_id = $1", {evidence_id});
        if (rows.empty()) return std::nullopt;
        return std::move(rows.front());
    }

    std::vector<EvidenceRow> rows(const std::string& key_prefix) override {
        // left(), not LIKE: a prefix holding % or _ means itself; C collation sorts as bytes.
        return select(std::string(kSelect) +
                          "WHERE left(object_key, length($1)) = $1 ORDER BY object_key COLLATE \"C\"",
                      {key_prefix});
    }

    std::string url() const override { return url_; }

private:
    Result run(const std::string& sql, const std::vector<std::string>& params) {
        std::lock_guard lock(mutex_);
        std::vector<const char*> values;
        for (const auto& p : params) values.push_back(p.c_str());
        Result r(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                              nullptr, 0));
        const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
        const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
        const std::string why = first_line(r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn_));
        if (state && std::string_view(state) == "23505")  // unique_violation
            throw Error(ErrorCode::already_exists, "evidence database " + url_ + ": " + why);
        if (state && std::string_view(state).starts_with("22"))  // data exception: a bad value
            throw Error(ErrorCode::invalid_argument, "evidence database " + url_ + ": " + why);
        throw Error(ErrorCode::io, "evidence database " + url_ + ": " + why);
    }

    std::vector<EvidenceRow> select(const std::string& sql, const std::vector<std::string>& params) {
        const Result r = run(sql, params);
        std::vector<EvidenceRow> out;
        const int n = PQntuples(r.get());
        out.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            auto text = [&](int c) { return std::string(PQgetvalue(r.get(), i, c), PQgetlength(r.get(), i, c)); };
            EvidenceRow row;
            row.evidence_id = text(0);
            row.object_key = text(1);
            row.sha256 = text(2);
            if (!PQgetisnull(r.get(), i, 3)) row.retain_until = parse_retention_date(text(3));
            row.lock_mode = text(4);
            row.version_id = text(5);
            row.session_id = text(6);
            row.evidence_type = text(7);
            row.metadata = text(8);
            row.created_at = parse_rfc3339(text(9));
            out.push_back(std::move(row));
        }
        return out;
    }

    std::mutex mutex_;
    PGconn* conn_ = nullptr;
    std::string url_;
};

}  // namespace

std::unique_ptr<EvidenceDatabase> open_postgres_evidence_database(const std::string& url, const std::string& masked_url) {
    return std::make_unique<PostgresEvidenceDatabase>(url, masked_url);
}

}  // namespace worm::compliance::detail
