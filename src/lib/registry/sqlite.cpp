#include "sqlite.hpp"

#include "worm/error.hpp"

namespace worm::detail {

SqliteQuery& SqliteQuery::bind(int index, std::string_view text) {
    const int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) db_.fail(rc, "binding a parameter");
    return *this;
}

SqliteQuery& SqliteQuery::bind(int index, std::int64_t value) {
    const int rc = sqlite3_bind_int64(stmt_, index, value);
    if (rc != SQLITE_OK) db_.fail(rc, "binding a parameter");
    return *this;
}

SqliteQuery& SqliteQuery::bind_null(int index) {
    const int rc = sqlite3_bind_null(stmt_, index);
    if (rc != SQLITE_OK) db_.fail(rc, "binding a parameter");
    return *this;
}

bool SqliteQuery::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.fail(rc, sqlite3_sql(stmt_));
}

std::string SqliteQuery::text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    if (!p) return {};
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<std::string> SqliteQuery::optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
}

SqliteDb::SqliteDb(const std::filesystem::path& path, int busy_timeout_ms, std::string what)
    : path_(path), busy_timeout_ms_(busy_timeout_ms), what_(std::move(what)) {
    // FULLMUTEX: the uploader's worker threads share this connection (the registry also
    // serialises calls itself; this keeps SQLite's own state safe regardless).
    const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw Error(ErrorCode::io, "cannot open " + what_ + " " + path.string() + ": " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, busy_timeout_ms);
}

SqliteDb::~SqliteDb() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
}

void SqliteDb::exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (err) sqlite3_free(err);
    if (rc != SQLITE_OK) fail(rc, sql);
}

SqliteQuery SqliteDb::query(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
        sqlite3_stmt* stmt = nullptr;
        const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                          SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
        if (rc != SQLITE_OK) fail(rc, sql);
        it = cache_.emplace(sql, stmt).first;
    }
    return SqliteQuery(*this, it->second);
}

void SqliteDb::fail(int rc, std::string_view during) const {
    const int primary = rc & 0xff;
    const std::string where = what_ + " " + path_.string();
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        throw Error(ErrorCode::io, where + " is locked by another process (waited " +
                                       std::to_string(busy_timeout_ms_) + " ms)");
    if (primary == SQLITE_CONSTRAINT)
        throw Error(ErrorCode::invalid_argument,
                    where + ": constraint failed: " + std::string(sqlite3_errmsg(db_)));
    const std::string detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    if ((primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) && what_ != "upload registry")
        throw Error(ErrorCode::integrity, where + " is damaged: " + detail);
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
        throw Error(ErrorCode::integrity, where + " is damaged: " + detail +
                                              "; rebuild it from the signed bundles with `worm registry rebuild "
                                              "--evidence-dir " + path_.parent_path().string() + "`");
    if (primary == SQLITE_FULL || primary == SQLITE_IOERR)  // a full or failing disk: storage, as for files
        throw Error(ErrorCode::storage, where + ": " + detail + " (during " + std::string(during.substr(0, 80)) + ")");
    throw Error(ErrorCode::io, where + ": " + detail + " (during " + std::string(during.substr(0, 80)) + ")");
}

}  // namespace worm::detail
