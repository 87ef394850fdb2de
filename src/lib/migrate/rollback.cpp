// rollback.cpp: `worm migrate rollback`: removes the versions a migration wrote where their
// lock allows it, and says per object what keeps the others (see migrate.hpp).
#include <algorithm>
#include <atomic>
#include <thread>

#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/migrate.hpp"

namespace worm {

namespace {

std::string string_member(const rapidjson::Value& object, std::string_view name) {
    const auto* v = json::find_member(object, name);
    return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

struct Written {
    std::string key;
    std::string version_id;
};

// The copies the migration itself made: `copied` rows (already_present and lock_applied
// copies were there before it, and are not its to remove).
std::vector<Written> written_by(const rapidjson::Document& report, const std::string& path) {
    const auto* rows = report.IsObject() ? json::find_member(report, "objects_detail") : nullptr;
    if (!rows || !rows->IsArray() || string_member(report, "migration_id").empty())
        throw Error(ErrorCode::invalid_argument,
                    path + " is not a migration report (no migration_id and objects_detail): give the --report FILE of `worm migrate`");
    std::vector<Written> out;
    for (const auto& row : rows->GetArray()) {
        if (!row.IsObject() || string_member(row, "status") != "copied") continue;
        out.push_back({string_member(row, "dest_key"), string_member(row, "dest_version_id")});
    }
    return out;
}

RollbackRow roll_back_one(ObjectStore& dest, const Written& w, const std::string& migration_id, const RollbackOptions& o) {
    RollbackRow row{.dest_key = w.key, .dest_version_id = w.version_id, .status = "", .message = "", .retain_until = std::nullopt};
    const std::optional<std::string> version = w.version_id.empty() ? std::nullopt : std::optional(w.version_id);
    ObjectInfo info;
    try {
        info = dest.head(w.key, version);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::not_found) throw;
        row.status = "missing";
        row.message = "already gone";
        return row;
    }
    if (const auto it = info.metadata.find("migration-id"); it == info.metadata.end() || it->second != migration_id) {
        row.status = "not_ours";
        row.message = "this version does not carry migration id " + migration_id + ": left alone";
        return row;
    }
    if (info.legal_hold) {
        row.status = "kept_legal_hold";
        row.message = "a legal hold keeps it until the hold is removed";
        if (info.retention) row.retain_until = info.retention->retain_until;
        return row;
    }
    // A lock whose date has passed no longer keeps anything.
    const bool locked = info.retention && info.retention->retain_until > RetentionDate(system_clock().now());
    if (locked && info.retention->mode == LockMode::compliance) {
        row.status = "kept_compliance";
        row.retain_until = info.retention->retain_until;
        row.message = "COMPLIANCE mode keeps it until " + format_rfc3339(info.retention->retain_until) +
                      ": nobody, not even the root account, can remove it before then";
        return row;
    }
    if (locked && !o.bypass_governance) {
        row.status = "kept_governance";
        row.retain_until = info.retention->retain_until;
        row.message = "GOVERNANCE mode keeps it until " + format_rfc3339(info.retention->retain_until) +
                      " unless removed with a governance bypass";
        return row;
    }
    if (o.dry_run) {
        row.status = "would_remove";
        row.message = locked ? "GOVERNANCE: would be removed with a governance bypass" : "unlocked: would be removed";
        return row;
    }
    dest.remove(w.key, DeleteOptions{.version_id = version, .bypass_governance = locked});
    row.status = "removed";
    row.message = locked ? "removed with a governance bypass" : "removed (it had no lock in force)";
    return row;
}

}  // namespace

std::vector<RollbackRow> rollback_migration(ObjectStore& destination, const std::filesystem::path& report_json,
                                            const RollbackOptions& options) {
    if (options.workers < 1 || options.workers > 256) throw Error(ErrorCode::invalid_argument, "workers must be 1 to 256");
    const rapidjson::Document report = json::parse_strict(read_file(report_json), report_json.string());
    const std::vector<Written> written = written_by(report, report_json.string());
    const std::string migration_id = string_member(report, "migration_id");
    std::vector<RollbackRow> rows(written.size());
    std::atomic<std::size_t> next{0};
    auto work = [&] {
        for (std::size_t i = next++; i < written.size(); i = next++) {
            try {
                rows[i] = roll_back_one(destination, written[i], migration_id, options);
            } catch (const Error& e) {
                rows[i] = RollbackRow{.dest_key = written[i].key, .dest_version_id = written[i].version_id,
                                      .status = "failed", .message = e.what(), .retain_until = std::nullopt};
            }
        }
    };
    std::vector<std::thread> pool;
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(options.workers), std::max<std::size_t>(written.size(), 1));
    for (std::size_t t = 0; t < n; ++t) pool.emplace_back(work);
    for (auto& t : pool) t.join();
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.dest_key < b.dest_key; });
    return rows;
}

}  // namespace worm
