// report.json and report.html of an evidence audit (see compliance/audit.hpp).
#include <algorithm>
#include <future>
#include <system_error>
#include <thread>
#include <map>
#include <set>

#include "audit_trace.hpp"
#include "json_read.hpp"
#include "report_wording.hpp"
#include "worm/compliance/audit.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"

namespace worm::compliance {

namespace fs = std::filesystem;
using namespace detail;

namespace {

// "2027-02" for a retain-until date.
std::string month_of(RetentionDate t) { return format_rfc3339(t).substr(0, 7); }

std::map<std::string, std::int64_t> retain_until_by_month(const AuditReport& r) {
    std::map<std::string, std::int64_t> months;
    for (const auto& b : r.bundles)
        if (b.lock.retention) months[month_of(b.lock.retention->retain_until)]++;
    return months;
}

// An RFC 3339 time, or none (written as null).
template <typename Time>
std::optional<std::string> rfc3339_or_null(const std::optional<Time>& t) {
    return t ? std::optional(format_rfc3339(*t)) : std::nullopt;
}

void write_inventory(json::Writer& w, const AuditInventory& inv) {
    w.begin_object();
    w.member("bundles", inv.bundles).member("bundles_ok", inv.bundles_ok).member("bundles_failed", inv.bundles_failed);
    w.member("objects", inv.objects).member("versions", inv.versions);
    w.member("missing_signatures", inv.missing_signatures).member("orphan_signatures", inv.orphan_signatures);
    w.member("legal_holds", inv.legal_holds);
    w.key("modes").begin_object();
    w.member("COMPLIANCE", inv.compliance_mode).member("GOVERNANCE", inv.governance_mode).member("none", inv.unlocked);
    w.end_object();
    w.member("earliest_retain_until", rfc3339_or_null(inv.earliest_retain_until));
    w.member("latest_retain_until", rfc3339_or_null(inv.latest_retain_until));
    w.member("failures", inv.failures);
    w.end_object();
}

std::string html_escape(std::string_view s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string time_or_none(const std::optional<RetentionDate>& t) { return t ? format_rfc3339(*t) : "none"; }

// A bar chart of bundles per retain-until month, drawn as inline SVG.
std::string retain_until_chart(const std::map<std::string, std::int64_t>& months) {
    if (months.empty()) return "<p id=\"chart-empty\">No retain-until dates (nothing locked, or a local directory).</p>\n";
    std::int64_t max = 1;
    for (const auto& [m, n] : months) max = std::max(max, n);
    const int bar = 36, gap = 12, height = 160, top = 20, bottom = 40;
    const int width = static_cast<int>(months.size()) * (bar + gap) + gap;
    std::string svg = "<svg id=\"retain-until-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                      std::to_string(width) + "\" height=\"" + std::to_string(height + top + bottom) +
                      "\" role=\"img\" aria-label=\"bundles per retain-until month\">\n";
    int x = gap;
    for (const auto& [month, n] : months) {
        const int h = static_cast<int>(n * height / max);
        const int y = top + height - h;
        svg += "<rect class=\"bar\" data-month=\"" + month + "\" data-count=\"" + std::to_string(n) + "\" x=\"" +
               std::to_string(x) + "\" y=\"" + std::to_string(y) + "\" width=\"" + std::to_string(bar) +
               "\" height=\"" + std::to_string(h) + "\" fill=\"#3b6ea5\"/>\n";
        svg += "<text x=\"" + std::to_string(x + bar / 2) + "\" y=\"" + std::to_string(y - 4) +
               "\" text-anchor=\"middle\" font-size=\"11\">" + std::to_string(n) + "</text>\n";
        svg += "<text x=\"" + std::to_string(x + bar / 2) + "\" y=\"" + std::to_string(top + height + 16) +
               "\" text-anchor=\"middle\" font-size=\"10\">" + month + "</text>\n";
        x += bar + gap;
    }
    return svg + "</svg>\n";
}

void write_manifest_entry(json::Writer& w, const ManifestEntry& m) {
    w.begin_object().member("key", m.key).member("version_id", m.version_id).member("sha256", m.sha256_hex).end_object();
}

void write_failure(json::Writer& w, const AuditFailure& f) {
    w.begin_object().member("key", f.key).member("check", f.check).member("reason", f.reason).end_object();
}

void write_bundle(json::Writer& w, const BundleAudit& b) {
    w.begin_object();
    w.member("key", b.key).member("bundle_id", b.bundle_id).member("signature_key", b.signature_key);
    w.member("sha256", b.sha256_hex).member("evidence_bundle_hash", b.evidence_bundle_hash);
    w.member("size", static_cast<std::int64_t>(b.size)).member("version_id", b.lock.version_id);
    w.member("last_modified", rfc3339_or_null(b.lock.last_modified));
    w.key("lock_mode");
    if (b.lock.retention) w.value(to_string(b.lock.retention->mode));
    else w.null();
    w.key("retain_until");
    if (b.lock.retention) w.value(format_rfc3339(b.lock.retention->retain_until));
    else w.null();
    w.member("legal_hold", b.lock.legal_hold).member("ok", b.ok);
    w.end_object();
}

// Runs f on another thread when there is one to spare, else when get() is called.
template <typename F>
auto on_another_thread(F f) -> std::future<decltype(f())> {
    try {
        return std::async(std::launch::async, f);
    } catch (const std::system_error&) {
        return std::async(std::launch::deferred, f);
    }
}

// What the pretty form writes for `items` as a member of the report object (depth 1), in
// pieces to append in order, rendered in slices side by side: the manifest and bundle
// lists of a large audit are most of report.json, and rendering them was most of what an
// audit ran on one core after the parallel checks.
template <typename T>
std::vector<std::string> pretty_member_array(const std::vector<T>& items, void (*write_item)(json::Writer&, const T&)) {
    if (items.empty()) return {"[]"};
    constexpr std::size_t min_slice = 4096;
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    const std::size_t slices = std::clamp<std::size_t>(items.size() / min_slice, 1, cores);
    // "\n    {...},\n    {...}" for items [first, last): written two arrays deep, where the
    // items are indented as in the report's member, and cut out of the outer brackets.
    const auto render = [&items, write_item](std::size_t first, std::size_t last) {
        json::Writer w(json::Writer::Style::pretty);
        w.begin_array().begin_array();
        for (std::size_t i = first; i < last; ++i) write_item(w, items[i]);
        w.end_array().end_array();
        std::string text = w.take();  // "[\n  [" items "\n  ]\n]"
        text.erase(text.size() - 6);
        text.erase(0, 5);
        return text;
    };
    std::vector<std::future<std::string>> parts;
    for (std::size_t k = 1; k < slices; ++k) {
        const std::size_t first = items.size() * k / slices, last = items.size() * (k + 1) / slices;
        parts.push_back(on_another_thread([=] { return render(first, last); }));
    }
    std::vector<std::string> pieces{"[", render(0, items.size() / slices)};
    for (auto& part : parts) {
        pieces.emplace_back(",");
        pieces.push_back(part.get());
    }
    pieces.emplace_back("\n  ]");
    return pieces;
}

}  // namespace

std::string to_json(const AuditReport& r) {
    json::Writer w(json::Writer::Style::pretty);
    w.begin_object();
    w.member("report_version", 1);
    w.key("tool").begin_object().member("name", "libworm").member("version", r.tool_version).end_object();
    w.member("started_at", format_rfc3339(r.started_at)).member("finished_at", format_rfc3339(r.finished_at));
    w.member("result", r.clean() ? "clean" : "failures");

    w.key("store").begin_object();
    w.member("source", r.source).member("endpoint", r.endpoint).member("bucket", r.bucket).member("prefix", r.prefix);
    w.end_object();

    w.key("range").begin_object().member("from", rfc3339_or_null(r.from)).member("to", rfc3339_or_null(r.to)).end_object();

    w.key("policy").begin_object();
    w.key("mode");
    if (r.policy.mode) w.value(to_string(*r.policy.mode));
    else w.null();
    w.member("min_retention_days", r.policy.min_retention_days);
    w.end_object();
    w.member("public_key_fingerprint", r.public_key_fingerprint);
    if (r.shard.count > 1)  // a shard's part of a fleet audit (worm audit merge joins them)
        w.key("shard").begin_object().member("index", r.shard.index).member("count", r.shard.count).end_object();

    w.key("inventory");
    write_inventory(w, r.inventory);
    w.key("retain_until_by_month").begin_object();
    for (const auto& [m, n] : retain_until_by_month(r)) w.member(m, n);
    w.end_object();
    w.member("manifest_sha256", r.manifest_sha256);
    // The three lists are rendered apart (pretty_member_array) and put in place of these.
    w.key("manifest").begin_array().end_array();

    w.key("bucket_verification");
    if (r.bucket_verification_json.empty()) w.null();
    else w.value(json::parse_strict(r.bucket_verification_json, "bucket verification"));

    w.key("database");
    if (r.database) {
        const DatabaseComparison& d = *r.database;
        w.begin_object();
        w.member("url", d.url).member("rows", d.rows).member("objects", d.objects).member("matched", d.matched);
        w.member("rows_without_objects", d.rows_without_objects).member("objects_without_rows", d.objects_without_rows);
        w.member("sha256_mismatches", d.sha256_mismatches).member("retention_mismatches", d.retention_mismatches);
        w.end_object();
    } else {
        w.null();
    }

    w.key("failures").begin_array().end_array();
    w.key("bundles").begin_array().end_array();
    w.end_object();

    const std::string head = w.take() + "\n";
    const std::pair<std::string_view, std::vector<std::string>> lists[] = {
        {"manifest", pretty_member_array(r.manifest, write_manifest_entry)},
        {"failures", pretty_member_array(r.failures, write_failure)},
        {"bundles", pretty_member_array(r.bundles, write_bundle)}};  // in the document's order
    std::size_t size = head.size();
    for (const auto& [name, pieces] : lists)
        for (const std::string& piece : pieces) size += piece.size();
    std::string text;
    text.reserve(size);
    // A member of the report object starts a line indented by two spaces, and string
    // values hold no raw newline: each `"name": []` is found once, where the member is.
    std::size_t copied = 0;
    for (const auto& [name, pieces] : lists) {
        const std::string empty = "\n  \"" + std::string(name) + "\": []";
        const std::size_t at = head.find(empty, copied);
        if (at == std::string::npos) throw Error(ErrorCode::internal, "report.json: no " + std::string(name) + " member to fill");
        const std::size_t brackets = at + empty.size() - 2;
        text.append(head, copied, brackets - copied);
        for (const std::string& piece : pieces) text += piece;
        copied = brackets + 2;
    }
    text.append(head, copied);
    return text;
}

std::string to_html(const AuditReport& r) {
    const AuditInventory& inv = r.inventory;
    auto row = [](const std::string& id, const std::string& label, const std::string& value) {
        return "<tr><th>" + html_escape(label) + "</th><td id=\"" + id + "\">" + html_escape(value) + "</td></tr>\n";
    };
    std::string h;
    h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    // Self-contained: nothing is fetched, nothing runs.
    h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
         "img-src data:\">\n";
    h += "<title>Evidence audit: " + html_escape(r.source) + "</title>\n";
    h += "<style>body{font-family:sans-serif;margin:2em;max-width:70em;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;"
         "vertical-align:top}th{background:#f3f3f3}.clean{color:#176b2c}.failures{color:#a31515}"
         "code{font-size:90%}</style>\n</head>\n<body>\n";
    h += "<h1>Evidence audit</h1>\n";
    h += "<p id=\"result\" class=\"" + std::string(r.clean() ? "clean" : "failures") + "\">" +
         (r.clean() ? "Clean: every bundle verified and is locked as the policy requires."
                    : std::to_string(inv.failures) + " failure(s) found.") +
         "</p>\n";

    const auto when = [](const auto& t) { return t ? format_rfc3339(*t) : std::string(); };
    h += "<h2>Summary</h2>\n<table id=\"summary\">\n";
    h += row("range", "Date range audited", date_range_text(when(r.from), when(r.to)));
    h += row("bundles", inventory_label("bundles"), std::to_string(inv.bundles));
    h += row("bundles-ok", inventory_label("bundles_ok"), std::to_string(inv.bundles_ok));
    h += row("bundles-failed", inventory_label("bundles_failed"), std::to_string(inv.bundles_failed));
    h += row("failures", inventory_label("failures"), std::to_string(inv.failures));
    h += row("missing-signatures", inventory_label("missing_signatures"), std::to_string(inv.missing_signatures));
    h += row("orphan-signatures", inventory_label("orphan_signatures"), std::to_string(inv.orphan_signatures));
    h += row("legal-holds", inventory_label("legal_holds"), std::to_string(inv.legal_holds));
    h += row("key-fingerprint", "Evidence signing key", r.public_key_fingerprint);
    h += row("tool", "Tool", "libworm " + r.tool_version);
    h += row("audited-at", "Audited", format_rfc3339(r.started_at) + " to " + format_rfc3339(r.finished_at));
    h += "</table>\n";

    std::set<std::string> failed_checks;
    h += "<h2>Failures</h2>\n";
    if (r.failures.empty()) {
        h += "<p id=\"no-failures\">None.</p>\n";
    } else {
        h += "<table id=\"failure-list\">\n<tr><th>Object</th><th>Check</th><th>Reason</th></tr>\n";
        for (const auto& f : r.failures) {
            failed_checks.insert(f.check);
            h += "<tr class=\"failure\"><td><code>" + html_escape(f.key) + "</code></td><td>" + html_escape(check_label(f.check)) +
                 "</td><td>" + html_escape(f.reason) + "</td></tr>\n";
        }
        h += "</table>\n";
    }

    h += "<h2>Recommendations</h2>\n<ul id=\"recommendations\">\n";
    for (const auto& text : recommendations(failed_checks, !r.bucket_verification_passed))
        h += "<li>" + html_escape(text) + "</li>\n";
    h += "</ul>\n";

    h += "<h2>Storage</h2>\n<table id=\"storage\">\n";
    h += row("source", "Source", r.source);
    if (!r.bucket.empty()) h += row("bucket", "Bucket", r.bucket + (r.endpoint.empty() ? "" : " at " + r.endpoint));
    h += row("prefix", "Prefix", r.prefix.empty() ? "(all)" : r.prefix);
    h += row("objects", inventory_label("objects"), std::to_string(inv.objects));
    h += row("versions", inventory_label("versions"), std::to_string(inv.versions));
    h += row("manifest-sha256", "Manifest SHA-256", r.manifest_sha256);
    h += "</table>\n";

    h += "<h2>Retention</h2>\n<table id=\"retention\">\n";
    h += row("policy", "Policy", (r.policy.mode ? std::string(to_string(*r.policy.mode)) + " mode" : std::string("any lock mode")) +
                                     ", retained at least " + std::to_string(r.policy.min_retention_days) +
                                     " days after upload");
    h += row("earliest-retain-until", inventory_label("earliest_retain_until"), time_or_none(inv.earliest_retain_until));
    h += row("latest-retain-until", inventory_label("latest_retain_until"), time_or_none(inv.latest_retain_until));
    h += "</table>\n<table id=\"modes\">\n<tr><th>Lock mode</th><th>Bundles</th></tr>\n";
    for (const auto& [mode, n] : {std::pair{"COMPLIANCE", inv.compliance_mode}, std::pair{"GOVERNANCE", inv.governance_mode},
                                  std::pair{"none", inv.unlocked}})
        h += "<tr><td>" + lock_mode_label(mode) + "</td><td id=\"mode-" + std::string(mode) + "\">" + std::to_string(n) +
             "</td></tr>\n";
    h += "</table>\n";
    h += "<h3>Retain-until dates per month</h3>\n" + retain_until_chart(retain_until_by_month(r));

    if (r.database) {
        const DatabaseComparison& d = *r.database;
        h += "<h2>Evidence database</h2>\n<table id=\"database\">\n";
        h += row("db-url", "Database", d.url);
        h += row("db-rows", "Rows compared", std::to_string(d.rows));
        h += row("db-objects", "Objects compared", std::to_string(d.objects));
        h += row("db-matched", "Rows matching the store", std::to_string(d.matched));
        h += row("db-rows-without-objects", "Rows without an object", std::to_string(d.rows_without_objects));
        h += row("db-objects-without-rows", "Objects without a row", std::to_string(d.objects_without_rows));
        h += row("db-sha256-mismatches", "SHA-256 disagreements", std::to_string(d.sha256_mismatches));
        h += row("db-retention-mismatches", "Retain-until disagreements", std::to_string(d.retention_mismatches));
        h += "</table>\n";
    }

    h += "<h2>Checks</h2>\n<p id=\"evidence-checks\">Every bundle: SHA-256 against the store's checksum and "
         "metadata (and the upload registry, when one was given), signature, canonical hash, schema, and Object Lock "
         "against the policy" + std::string(r.database ? "; every evidence database row against the store, both ways" : "") +
         ".</p>\n";
    if (r.bucket_verification_json.empty())
        h += "<p id=\"bucket-checks-not-run\">Bucket checks: not run (not an S3 store, or --no-bucket-checks).</p>\n";
    if (!r.bucket_verification_json.empty()) {
        h += "<table id=\"bucket-checks\">\n"
             "<tr><th>Bucket check</th><th>Status</th><th>Observed</th><th>Expected</th><th>Reference</th></tr>\n";
        const rapidjson::Document bucket = json::parse_strict(r.bucket_verification_json, "bucket verification");
        if (const auto* checks = json::find_member(bucket, "checks"); checks && checks->IsArray())
            for (const auto& c : checks->GetArray())
                h += "<tr><td>" + html_escape(get_string(c, "title", get_string(c, "id"))) + "</td><td>" +
                     html_escape(check_status_text(get_string(c, "status"))) + "</td><td>" +
                     html_escape(get_string(c, "observed")) + "</td><td>" + html_escape(get_string(c, "expected")) +
                     "</td><td>" + html_escape(get_string(c, "cross_reference")) + "</td></tr>\n";
        h += "</table>\n";
    }

    h += "<h2>Bundles</h2>\n<table id=\"bundle-list\">\n<tr><th>Object</th><th>Bundle</th><th>Lock</th>"
         "<th>Retain until</th><th>Legal hold</th><th>Result</th></tr>\n";
    for (const auto& b : r.bundles)
        h += "<tr><td><code>" + html_escape(b.key) + "</code></td><td>" + html_escape(b.bundle_id) + "</td><td>" +
             (b.lock.retention ? std::string(to_string(b.lock.retention->mode)) : "-") + "</td><td>" +
             (b.lock.retention ? format_rfc3339(b.lock.retention->retain_until) : "-") + "</td><td>" +
             (b.lock.legal_hold ? "yes" : "no") + "</td><td>" + (b.ok ? "ok" : "FAILED") + "</td></tr>\n";
    h += "</table>\n</body>\n</html>\n";
    return h;
}

fs::path write_audit_report(const AuditReport& report, const fs::path& dir) {
    detail::PhaseTrace trace;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(ErrorCode::io, "cannot create report directory " + dir.string() + ": " + ec.message());
    // The two renderings side by side: they only read the report, and on a large audit
    // they are most of what runs on one core after the parallel checks.
    std::future<std::string> html_rendering = on_another_thread([&report] { return to_html(report); });
    const std::string json = to_json(report);
    trace.mark("report.json");
    const std::string html = html_rendering.get();
    trace.mark("report.html");
    write_file_atomic(dir / "report.json", json);
    write_file_atomic(dir / "report.html", html);
    trace.mark("write reports");
    return dir / "report.json";
}

}  // namespace worm::compliance
