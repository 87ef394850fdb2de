// The evidence database compared with the store (see evidence_db_check.hpp).
#include "evidence_db_check.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "worm/compliance/sigstore.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"

namespace worm::compliance::detail {

namespace {

bool in_range(const AuditOptions& o, TimePoint t) { return (!o.from || t >= *o.from) && (!o.to || t <= *o.to); }

bool is_signature(const std::string& key) { return key.ends_with(".sig") || is_sigstore_bundle_name(key); }

std::string seconds_text(const std::optional<RetentionDate>& t) { return t ? format_rfc3339(*t) : "none"; }

// What one row's object turned out to be.
struct RowResult {
    std::optional<AuditFailure> failure;
    int kind = 0;  // 0 matched, 1 missing object, 2 sha256, 3 retention
};

RowResult check_row(const EvidenceRow& row, ObjectStore& store, const std::map<std::string, std::string>& audited_sha) {
    const std::string who = "database row " + row.evidence_id;
    const std::optional<std::string> version =
        row.version_id.empty() ? std::nullopt : std::optional<std::string>(row.version_id);
    ObjectInfo head;
    try {
        head = store.head(row.object_key, version);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::not_found) throw;
        return {AuditFailure{row.object_key, "db_missing_object",
                             who + " records this object" + (version ? " (version " + *version + ")" : std::string()) +
                                 ", but the store has no such object"},
                1};
    }
    std::string sha;
    if (const auto it = audited_sha.find(row.object_key); it != audited_sha.end() && !version) sha = it->second;
    else {
        GetOptions get;
        get.version_id = version;
        sha = sha256_hex(store.get(row.object_key, get));
    }
    if (sha != row.sha256)
        return {AuditFailure{row.object_key, "db_sha256",
                             who + " records SHA-256 " + row.sha256 + " but the stored bytes hash to " + sha}, 2};
    const std::optional<RetentionDate> stored = head.retention ? std::optional(head.retention->retain_until) : std::nullopt;
    if (seconds_text(stored) != seconds_text(row.retain_until))
        return {AuditFailure{row.object_key, "db_retention",
                             who + " records retain-until " + seconds_text(row.retain_until) + " but the store holds " +
                                 seconds_text(stored)},
                3};
    return {};
}

}  // namespace

void compare_evidence_database(EvidenceDatabase& db, ObjectStore& store, const AuditOptions& o, AuditReport& report) {
    DatabaseComparison cmp;
    cmp.url = db.url();
    std::vector<EvidenceRow> all_rows = db.rows(o.prefix);
    std::set<std::string> row_keys;
    for (const auto& r : all_rows) row_keys.insert(r.object_key);
    std::vector<EvidenceRow> rows;
    for (auto& r : all_rows)
        if (in_range(o, r.created_at)) rows.push_back(std::move(r));

    std::vector<std::string> objects_in_scope;
    for (const auto& s : store.list_all(o.prefix)) {
        if (is_signature(s.key)) continue;
        if (in_range(o, s.last_modified)) objects_in_scope.push_back(s.key);
    }
    std::map<std::string, std::string> audited_sha;  // the audit already hashed the bundles
    for (const auto& b : report.bundles)
        if (!b.sha256_hex.empty()) audited_sha[b.key] = b.sha256_hex;

    // Rows checked side by side: most of the time is the object reads.
    std::vector<RowResult> results(rows.size());
    std::atomic<std::size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&] {
        for (std::size_t i; (i = next++) < rows.size();) {
            try {
                results[i] = check_row(rows[i], store, audited_sha);
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!error) error = std::current_exception();
                next = rows.size();
            }
        }
    };
    std::vector<std::thread> threads;
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(o.workers), rows.size());
    for (std::size_t t = 1; t < n; ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);

    std::vector<AuditFailure> found;
    for (auto& r : results) {
        if (r.failure) found.push_back(std::move(*r.failure));
        (r.kind == 0 ? cmp.matched : r.kind == 1 ? cmp.rows_without_objects : r.kind == 2 ? cmp.sha256_mismatches
                                                                                          : cmp.retention_mismatches)++;
    }
    for (const auto& key : objects_in_scope)
        if (!row_keys.count(key)) {
            found.push_back({key, "db_missing_row", "the store holds this object but the evidence database has no row for it"});
            cmp.objects_without_rows++;
        }
    cmp.rows = static_cast<std::int64_t>(rows.size());
    cmp.objects = static_cast<std::int64_t>(objects_in_scope.size());

    // A bundle a database finding names is no longer ok.
    std::set<std::string> named;
    for (const auto& f : found) named.insert(f.key);
    for (auto& b : report.bundles)
        if (b.ok && named.count(b.key)) {
            b.ok = false;
            report.inventory.bundles_ok--;
            report.inventory.bundles_failed++;
        }
    std::move(found.begin(), found.end(), std::back_inserter(report.failures));
    std::sort(report.failures.begin(), report.failures.end(), [](const AuditFailure& a, const AuditFailure& b) {
        return std::tie(a.key, a.check, a.reason) < std::tie(b.key, b.check, b.reason);
    });
    report.inventory.failures = static_cast<std::int64_t>(report.failures.size());
    report.database = std::move(cmp);
}

}  // namespace worm::compliance::detail
