// A fleet audit: shards of one audit (AuditShard), report.json read back, and the shards'
// reports merged into the report one machine would have written (see compliance/audit.hpp).
#include <algorithm>
#include <charconv>
#include <cstring>
#include <set>
#include <tuple>

#include "json_read.hpp"
#include "worm/compliance/audit.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"

namespace worm::compliance {

namespace fs = std::filesystem;
using namespace detail;

AuditShard AuditShard::parse(std::string_view text) {
    const auto bad = [&] {
        return Error(ErrorCode::invalid_argument,
                     "shard must be I/N with 0 <= I < N <= 100000 (I counts from 0), got '" + std::string(text) + "'");
    };
    const std::size_t slash = text.find('/');
    if (slash == std::string_view::npos) throw bad();
    AuditShard s;
    const auto number = [&](std::string_view part, int& out) {
        const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
        if (part.empty() || ec != std::errc() || ptr != part.data() + part.size()) throw bad();
    };
    number(text.substr(0, slash), s.index);
    number(text.substr(slash + 1), s.count);
    if (s.count < 1 || s.count > 100000 || s.index < 0 || s.index >= s.count) throw bad();
    return s;
}

bool AuditShard::holds(std::string_view bundle_key) const {
    if (count <= 1) return true;
    const std::string digest = sha256(bundle_key);
    std::uint64_t h = 0;
    for (int i = 0; i < 8; ++i) h = (h << 8) | static_cast<unsigned char>(digest[static_cast<std::size_t>(i)]);
    return h % static_cast<std::uint64_t>(count) == static_cast<std::uint64_t>(index);
}

AuditInventory count_inventory(const std::vector<BundleAudit>& bundles, const std::vector<AuditFailure>& failures,
                               const std::vector<ManifestEntry>& manifest) {
    AuditInventory inv;
    for (const auto& b : bundles) {
        inv.bundles++;
        (b.ok ? inv.bundles_ok : inv.bundles_failed)++;
        if (b.signature_key.empty()) inv.missing_signatures++;
        if (b.lock.legal_hold) inv.legal_holds++;
        if (!b.lock.retention) {
            inv.unlocked++;
            continue;
        }
        (b.lock.retention->mode == LockMode::compliance ? inv.compliance_mode : inv.governance_mode)++;
        const RetentionDate t = b.lock.retention->retain_until;
        if (!inv.earliest_retain_until || t < *inv.earliest_retain_until) inv.earliest_retain_until = t;
        if (!inv.latest_retain_until || t > *inv.latest_retain_until) inv.latest_retain_until = t;
    }
    for (const auto& f : failures) inv.orphan_signatures += f.check == "orphan_signature";
    std::set<std::pair<std::string_view, std::string_view>> versions;
    for (const auto& m : manifest)
        if (!m.version_id.empty()) versions.emplace(m.key, m.version_id);
    inv.objects = static_cast<std::int64_t>(manifest.size());
    inv.versions = static_cast<std::int64_t>(versions.size());
    inv.failures = static_cast<std::int64_t>(failures.size());
    return inv;
}

namespace {

const rapidjson::Value& member(const rapidjson::Value& obj, std::string_view name, const std::string& path) {
    const auto* v = obj.IsObject() ? json::find_member(obj, name) : nullptr;
    if (!v) throw Error(ErrorCode::schema, path + ": not an audit report (no \"" + std::string(name) + "\")");
    return *v;
}

std::optional<TimePoint> time_member(const rapidjson::Value& obj, std::string_view name) {
    const auto* v = json::find_member(obj, name);
    return v && v->IsString() ? std::optional(parse_rfc3339(v->GetString())) : std::nullopt;
}

std::optional<RetentionDate> date_member(const rapidjson::Value& obj, std::string_view name) {
    const auto* v = json::find_member(obj, name);
    return v && v->IsString() ? std::optional(parse_retention_date(v->GetString())) : std::nullopt;
}

bool bool_member(const rapidjson::Value& obj, std::string_view name) {
    const auto* v = json::find_member(obj, name);
    return v && v->IsBool() && v->GetBool();
}

const rapidjson::Value::ConstArray array_member(const rapidjson::Value& obj, std::string_view name, const std::string& path) {
    const rapidjson::Value& v = member(obj, name, path);
    if (!v.IsArray()) throw Error(ErrorCode::schema, path + ": \"" + std::string(name) + "\" is not a list");
    return v.GetArray();
}

// What makes two reports parts of one audit: everything but the shard and the findings.
auto audit_identity(const AuditReport& r) {
    return std::tie(r.source, r.endpoint, r.bucket, r.prefix, r.from, r.to, r.policy.mode, r.policy.min_retention_days,
                    r.public_key_fingerprint);
}

}  // namespace

AuditReport read_audit_report(const fs::path& report_json) {
    const std::string path = report_json.string();
    const rapidjson::Document doc = json::parse_strict(read_file(report_json), path);
    if (get_int(doc, "report_version", 0) != 1) throw Error(ErrorCode::schema, path + ": not a report_version 1 audit report");
    AuditReport r;
    r.tool_version = get_string(member(doc, "tool", path), "version");
    r.started_at = time_member(doc, "started_at").value_or(TimePoint{});
    r.finished_at = time_member(doc, "finished_at").value_or(TimePoint{});
    const rapidjson::Value& store = member(doc, "store", path);
    r.source = get_string(store, "source");
    r.endpoint = get_string(store, "endpoint");
    r.bucket = get_string(store, "bucket");
    r.prefix = get_string(store, "prefix");
    const rapidjson::Value& range = member(doc, "range", path);
    r.from = time_member(range, "from");
    r.to = time_member(range, "to");
    const rapidjson::Value& policy = member(doc, "policy", path);
    const std::string mode = get_string(policy, "mode");
    r.policy.mode = mode.empty() ? std::nullopt : std::optional(parse_lock_mode(mode));
    r.policy.min_retention_days = static_cast<int>(get_int(policy, "min_retention_days", 0));
    r.public_key_fingerprint = get_string(doc, "public_key_fingerprint");
    if (const auto* shard = json::find_member(doc, "shard"); shard && shard->IsObject())
        r.shard = {static_cast<int>(get_int(*shard, "index", 0)), static_cast<int>(get_int(*shard, "count", 1))};
    for (const auto& m : array_member(doc, "manifest", path))
        r.manifest.push_back({get_string(m, "key"), get_string(m, "version_id"), get_string(m, "sha256")});
    r.manifest_sha256 = get_string(doc, "manifest_sha256");
    for (const auto& f : array_member(doc, "failures", path))
        r.failures.push_back({get_string(f, "key"), get_string(f, "check"), get_string(f, "reason")});
    for (const auto& b : array_member(doc, "bundles", path)) {
        BundleAudit out;
        out.key = get_string(b, "key");
        out.bundle_id = get_string(b, "bundle_id");
        out.signature_key = get_string(b, "signature_key");
        out.sha256_hex = get_string(b, "sha256");
        out.evidence_bundle_hash = get_string(b, "evidence_bundle_hash");
        out.size = static_cast<std::uint64_t>(get_int(b, "size", 0));
        out.lock.version_id = get_string(b, "version_id");
        out.lock.last_modified = time_member(b, "last_modified");
        const std::string lock_mode = get_string(b, "lock_mode");
        if (const auto until = date_member(b, "retain_until"); until && !lock_mode.empty())
            out.lock.retention = Retention{parse_lock_mode(lock_mode), *until};
        out.lock.legal_hold = bool_member(b, "legal_hold");
        out.ok = bool_member(b, "ok");
        r.bundles.push_back(std::move(out));
    }
    if (const auto* bucket = json::find_member(doc, "bucket_verification"); bucket && bucket->IsObject()) {
        r.bucket_verification_json = json::to_compact(*bucket);
        r.bucket_verification_passed = bool_member(*bucket, "passed");
    }
    // Recounted rather than read: a report edited by hand cannot carry counts its lists do not.
    r.inventory = count_inventory(r.bundles, r.failures, r.manifest);
    if (manifest_sha256(r.manifest) != r.manifest_sha256)
        throw Error(ErrorCode::verification, path + ": manifest_sha256 does not match its manifest (the report was changed)");
    return r;
}

AuditReport merge_audit_reports(const std::vector<AuditReport>& shards) {
    if (shards.empty()) throw Error(ErrorCode::invalid_argument, "merge needs the shards' reports");
    const int count = shards.front().shard.count;
    std::vector<int> seen(static_cast<std::size_t>(std::max(count, 1)), 0);
    for (const auto& s : shards) {
        if (s.shard.count != count)
            throw Error(ErrorCode::invalid_argument, "the reports are shards of different splits (" +
                                                         std::to_string(s.shard.count) + " and " + std::to_string(count) + " shards)");
        if (audit_identity(s) != audit_identity(shards.front()))
            throw Error(ErrorCode::invalid_argument, "the reports are not of one audit: source, prefix, range, policy or key differ (" +
                                                         s.source + " and " + shards.front().source + ")");
        if (++seen[static_cast<std::size_t>(s.shard.index)] > 1)
            throw Error(ErrorCode::invalid_argument, "shard " + std::to_string(s.shard.index) + "/" + std::to_string(count) + " is given twice");
    }
    for (std::size_t i = 0; i < seen.size(); ++i)
        if (!seen[i]) throw Error(ErrorCode::invalid_argument, "shard " + std::to_string(i) + "/" + std::to_string(count) + " is missing");

    AuditReport out = shards.front();
    out.shard = {};
    out.bundles.clear();
    out.failures.clear();
    out.manifest.clear();
    for (const auto& s : shards) {
        out.started_at = std::min(out.started_at, s.started_at);
        out.finished_at = std::max(out.finished_at, s.finished_at);
        out.bundles.insert(out.bundles.end(), s.bundles.begin(), s.bundles.end());
        out.failures.insert(out.failures.end(), s.failures.begin(), s.failures.end());
        out.manifest.insert(out.manifest.end(), s.manifest.begin(), s.manifest.end());
        // Every shard verified the same bucket: the merged audit passes only if each did.
        if (!s.bucket_verification_passed) {
            out.bucket_verification_passed = false;
            out.bucket_verification_json = s.bucket_verification_json;
        }
    }
    // The orders audit() gives (audit.cpp: bundles by key, failures by key/check/reason,
    // manifest by key/version).
    std::sort(out.bundles.begin(), out.bundles.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    std::sort(out.failures.begin(), out.failures.end(),
              [](const auto& a, const auto& b) { return std::tie(a.key, a.check, a.reason) < std::tie(b.key, b.check, b.reason); });
    std::sort(out.manifest.begin(), out.manifest.end(),
              [](const auto& a, const auto& b) { return std::tie(a.key, a.version_id) < std::tie(b.key, b.version_id); });
    out.inventory = count_inventory(out.bundles, out.failures, out.manifest);
    out.manifest_sha256 = manifest_sha256(out.manifest);
    return out;
}

}  // namespace worm::compliance
