// state.hpp (private): the migration's SQLite state file, one row per source key.
//
// A row is written `copying` before the put and with the outcome after it, each in its own
// transaction (WAL, synchronous=FULL), so after a kill -9 the next run knows which objects
// may have reached the destination unseen and HEADs those before anything else.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "../registry/sqlite.hpp"
#include "worm/migrate.hpp"

namespace worm::detail {

class MigrationState {
public:
    // Opens or creates the file; a file made for another source or destination is refused
    // (Error(invalid_argument)) so two migrations never share one state by mistake.
    MigrationState(const std::filesystem::path& path, const std::string& source, const std::string& destination,
                   const std::string& new_migration_id);

    const std::string& migration_id() const { return migration_id_; }
    // Every row, by source key.
    std::map<std::string, MigrationRow> rows();
    void mark_copying(const MigrationRow& row);
    void record(const MigrationRow& row);

private:
    void write(const MigrationRow& row);

    std::mutex mutex_;
    SqliteDb db_;
    std::string migration_id_;
};

}  // namespace worm::detail
