// sqlite.hpp (private): a thin RAII layer over the SQLite C API for the registry.
// Statements are prepared once and cached; errors become worm::Error naming the file.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace worm::detail {

class SqliteDb;

// A cached prepared statement in use: binds by 1-based index, steps, and resets on scope exit.
class SqliteQuery {
public:
    SqliteQuery(SqliteDb& db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
    ~SqliteQuery() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    SqliteQuery(const SqliteQuery&) = delete;
    SqliteQuery& operator=(const SqliteQuery&) = delete;

    SqliteQuery& bind(int index, std::string_view text);
    SqliteQuery& bind(int index, std::int64_t value);
    SqliteQuery& bind_null(int index);
    SqliteQuery& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
    SqliteQuery& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    SqliteQuery& bind_optional(int index, const std::optional<std::string>& text) {
        return text ? bind(index, std::string_view(*text)) : bind_null(index);
    }

    // Steps once; true when a row is available.
    bool step();
    // Steps to completion (for writes).
    void run() {
        while (step()) {
        }
    }

    std::string text(int column) const;
    std::optional<std::string> optional_text(int column) const;
    std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
    bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

private:
    SqliteDb& db_;
    sqlite3_stmt* stmt_;
};

class SqliteDb {
public:
    // `what` names the database in errors ("upload registry", "evidence database").
    SqliteDb(const std::filesystem::path& path, int busy_timeout_ms, std::string what = "upload registry");
    ~SqliteDb();
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;

    // Runs SQL without results (pragmas, DDL, BEGIN/COMMIT).
    void exec(const std::string& sql);
    // A cached statement for this SQL text.
    SqliteQuery query(const std::string& sql);
    std::int64_t changes() const { return sqlite3_changes64(db_); }

    // Throws the worm::Error that fits rc (io, or integrity for a corrupt file).
    [[noreturn]] void fail(int rc, std::string_view during) const;
    const std::filesystem::path& path() const { return path_; }
    int busy_timeout_ms() const { return busy_timeout_ms_; }

private:
    std::filesystem::path path_;
    int busy_timeout_ms_;
    std::string what_;
    sqlite3* db_ = nullptr;
    std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back when the scope exits without commit().
// IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading
// a read transaction (which busy_timeout cannot resolve).
class WriteTransaction {
public:
    explicit WriteTransaction(SqliteDb& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
    ~WriteTransaction() {
        if (!done_) {
            try {
                db_.exec("ROLLBACK");
            } catch (...) {
                // The transaction is gone either way; the original error is what matters.
            }
        }
    }
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;
    void commit() {
        db_.exec("COMMIT");
        done_ = true;
    }

private:
    SqliteDb& db_;
    bool done_ = false;
};

}  // namespace worm::detail
