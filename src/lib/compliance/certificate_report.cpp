// The checks issue_certificate runs on a report.json (see certificate_report.hpp).
#include "certificate_report.hpp"

#include <set>
#include <vector>

#include "json_read.hpp"
#include "worm/compliance/audit.hpp"
#include "worm/error.hpp"
#include "worm/json.hpp"

namespace worm::compliance::detail {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void inconsistent(const fs::path& path, const std::string& what) {
    throw Error(ErrorCode::integrity, "audit report " + path.string() + " is inconsistent: " + what +
                                          " (the report was edited; run worm audit again)");
}

void check_manifest(const rapidjson::Value& report, const fs::path& path) {
    const auto& manifest = json::require_array(report, "manifest", "", ErrorCode::parse);
    std::vector<ManifestEntry> entries;
    entries.reserve(manifest.Size());
    for (const auto& m : manifest.GetArray())
        entries.push_back({get_string(m, "key"), get_string(m, "version_id"), get_string(m, "sha256")});
    const std::string stated = json::require_string(report, "manifest_sha256", "", ErrorCode::parse);
    if (manifest_sha256(entries) != stated)
        throw Error(ErrorCode::integrity, "audit report " + path.string() +
                                              ": its manifest does not hash to its manifest_sha256 (the report was edited)");
}

void check_count(const fs::path& path, const rapidjson::Value& inventory, const char* name, std::int64_t counted,
                 const std::string& what) {
    const std::int64_t stated = json::require_int64(inventory, name, "inventory", ErrorCode::parse);
    if (stated != counted)
        inconsistent(path, "inventory." + std::string(name) + " says " + std::to_string(stated) + " but the report lists " +
                               std::to_string(counted) + " " + what);
}

// The bucket verification passed: null (none was run), or no check with status "fail";
// its own "passed" must agree.
bool bucket_passed(const rapidjson::Value& report, const fs::path& path) {
    const auto* bucket = json::find_member(report, "bucket_verification");
    if (!bucket || bucket->IsNull()) return true;
    if (!bucket->IsObject()) throw Error(ErrorCode::parse, path.string() + ": bucket_verification is not an object");
    bool any_failed = false;
    const auto& checks = json::require_array(*bucket, "checks", "bucket_verification", ErrorCode::parse);
    for (const auto& c : checks.GetArray()) any_failed = any_failed || get_string(c, "status") == "fail";
    const auto* passed = json::find_member(*bucket, "passed");
    if (!passed || !passed->IsBool()) throw Error(ErrorCode::parse, path.string() + ": bucket_verification.passed is not true or false");
    if (passed->GetBool() == any_failed)
        inconsistent(path, std::string("bucket_verification.passed is ") + (passed->GetBool() ? "true" : "false") +
                               (any_failed ? " but a bucket check failed" : " but no bucket check failed"));
    return !any_failed;
}

}  // namespace

std::string checked_report_result(const rapidjson::Value& report, const fs::path& path) {
    check_manifest(report, path);
    const auto& failures = json::require_array(report, "failures", "", ErrorCode::parse);
    const auto& bundles = json::require_array(report, "bundles", "", ErrorCode::parse);
    const auto& inventory = json::require_object(report, "inventory", "", ErrorCode::parse);

    std::set<std::string> failed_keys;
    for (const auto& f : failures.GetArray()) failed_keys.insert(get_string(f, "key"));
    std::int64_t ok = 0;
    for (const auto& b : bundles.GetArray()) {
        const auto* flag = json::find_member(b, "ok");
        if (!flag || !flag->IsBool()) throw Error(ErrorCode::parse, path.string() + ": a bundle has no ok flag");
        if (!flag->GetBool()) continue;
        const std::string key = get_string(b, "key");
        if (failed_keys.count(key)) inconsistent(path, "bundle " + key + " is marked ok but a failure names it");
        ++ok;
    }
    const auto listed = static_cast<std::int64_t>(bundles.Size());
    check_count(path, inventory, "failures", static_cast<std::int64_t>(failures.Size()), "failures");
    check_count(path, inventory, "bundles", listed, "bundles");
    check_count(path, inventory, "bundles_ok", ok, "bundles marked ok");
    check_count(path, inventory, "bundles_failed", listed - ok, "bundles not marked ok");

    const std::string result = failures.Empty() && bucket_passed(report, path) ? "clean" : "failures";
    const std::string stated = json::require_string(report, "result", "", ErrorCode::parse);
    if (stated != result)
        inconsistent(path, "its result says \"" + stated + "\" but its failures and checks make it \"" + result + "\"");
    return result;
}

}  // namespace worm::compliance::detail
