// Auditor-facing wording shared by report.html and certificate.pdf (see report_wording.hpp).
#include "report_wording.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace worm::compliance::detail {

namespace {

const std::map<std::string_view, std::string_view>& labels() {
    static const std::map<std::string_view, std::string_view> m = {
        {"bundles", "Bundles audited"},
        {"bundles_ok", "Bundles verified"},
        {"bundles_failed", "Bundles with failures"},
        {"objects", "Objects audited"},
        {"versions", "Object versions"},
        {"missing_signatures", "Bundles without a signature"},
        {"orphan_signatures", "Signatures without a bundle"},
        {"legal_holds", "Legal holds"},
        {"modes", "Lock modes"},
        {"earliest_retain_until", "Earliest retain-until"},
        {"latest_retain_until", "Latest retain-until"},
        {"failures", "Failures found"},
    };
    return m;
}

bool any_of(const std::set<std::string>& checks, std::initializer_list<std::string_view> names) {
    for (const auto n : names)
        if (checks.count(std::string(n))) return true;
    return false;
}

bool any_with_prefix(const std::set<std::string>& checks, std::string_view prefix) {
    for (const auto& c : checks)
        if (c.starts_with(prefix)) return true;
    return false;
}

}  // namespace

std::string inventory_label(std::string_view member) {
    if (const auto it = labels().find(member); it != labels().end()) return std::string(it->second);
    std::string out(member);
    for (char& c : out)
        if (c == '_') c = ' ';
    if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
    return out;
}

const std::vector<std::string_view>& inventory_order() {
    static const std::vector<std::string_view> order = {
        "bundles", "bundles_ok", "bundles_failed", "failures", "objects", "versions", "missing_signatures",
        "orphan_signatures", "legal_holds", "earliest_retain_until", "latest_retain_until", "modes"};
    return order;
}

std::string date_range_text(const std::string& from, const std::string& to) {
    if (from.empty() && to.empty()) return "all dates";
    if (to.empty()) return "from " + from;
    if (from.empty()) return "up to " + to;
    return from + " to " + to;
}

std::string check_status_text(std::string_view status) {
    if (status == "pass") return "passed";
    if (status == "fail") return "FAILED";
    if (status == "unsupported") return "not supported by this server";
    return std::string(status);
}

std::string check_label(std::string_view check) {
    std::string out(check);
    std::replace(out.begin(), out.end(), '_', ' ');
    return out;
}

std::string lock_mode_label(std::string_view mode) { return mode == "none" ? "Not locked" : std::string(mode); }

std::vector<std::string> recommendations(const std::set<std::string>& failed, bool bucket_failed) {
    std::vector<std::string> r;
    if (any_of(failed, {"signature", "hash", "schema", "sha256_metadata", "sha256_registry"}))
        r.push_back("Treat the bundles named under signature, hash or schema failures as altered: keep the stored "
                    "versions as found, compare them with the originals at the source, and report the incident.");
    if (any_of(failed, {"lock_missing", "lock_mode", "retention_short"}))
        r.push_back("Apply the required Object Lock retention to the objects named (worm retention set, or a "
                    "migration with the policy's lock) and audit again.");
    if (any_of(failed, {"missing_signature", "orphan_signature"}))
        r.push_back("Find the missing signature or bundle of each pair named: re-sign from the source if the "
                    "bundle is intact, otherwise investigate the missing file.");
    if (any_of(failed, {"missing_object", "not_in_registry"}))
        r.push_back("Reconcile the upload registry with the store: an object the registry records is missing, or "
                    "one is stored that it does not record.");
    if (any_with_prefix(failed, "db_"))
        r.push_back("Reconcile the evidence database with the store: rows without objects, objects without rows "
                    "and disagreeing hashes or retention dates are listed under Failures.");
    if (any_of(failed, {"unreadable"}))
        r.push_back("Objects could not be read: check the credentials and the store, then audit again.");
    if (bucket_failed)
        r.push_back("Fix the failed bucket checks (worm bucket setup applies the required configuration) and "
                    "verify again (worm bucket verify).");
    if (r.empty() && !failed.empty())
        r.push_back("Investigate each failure listed before relying on this audit, then audit again.");
    if (r.empty())
        r.push_back("No action needed. Audit again on schedule (monthly) and before the earliest retain-until date.");
    return r;
}

}  // namespace worm::compliance::detail
