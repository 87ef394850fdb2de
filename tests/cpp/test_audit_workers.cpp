// The directory audit with several workers reports exactly what one worker does (same
// bundles, failures, manifest), and its listing names files in subdirectories by their
// path below the directory while skipping hidden bookkeeping directories.
#include <doctest/doctest.h>

#include <set>
#include <sstream>

#include "support/evidence_fixture.hpp"
#include "support/test_env.hpp"
#include "worm/compliance.hpp"
#include "worm/json.hpp"
#include "worm/signer.hpp"

using namespace worm;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

// Everything in a report that does not depend on when it ran.
std::string report_text(const compliance::AuditReport& r) {
    std::ostringstream out;
    const auto& inv = r.inventory;
    out << "inventory " << inv.bundles << " " << inv.bundles_ok << " " << inv.bundles_failed << " " << inv.objects << " "
        << inv.missing_signatures << " " << inv.orphan_signatures << " " << inv.failures << "\n";
    for (const auto& b : r.bundles)
        out << "bundle " << b.key << " " << b.bundle_id << " " << b.signature_key << " " << b.sha256_hex << " "
            << b.evidence_bundle_hash << " " << b.size << " " << b.ok << "\n";
    for (const auto& f : r.failures) out << "failure " << f.key << " " << f.check << " " << f.reason << "\n";
    for (const auto& m : r.manifest) out << "manifest " << m.key << " " << m.sha256_hex << "\n";
    out << "manifest_sha256 " << r.manifest_sha256 << "\n";
    return out.str();
}

compliance::AuditReport audit_with(const fs::path& dir, const fs::path& public_key, int workers) {
    compliance::AuditOptions o;
    o.directory = dir;
    o.public_key = load_public_key(public_key);
    o.workers = workers;
    return compliance::audit(o);
}

}  // namespace

TEST_CASE("audit --dir: 1, 2 and 8 workers give the same report, failures included") {
    t::TempDir tmp("worm-audit-workers");
    t::EvidenceFixture ev(tmp.path());
    const auto b = ev.make_bundles(24);
    t::EvidenceFixture::edit_one_byte(b[3].json);  // hash + signature
    fs::remove(b[7].sig);                           // missing signature
    fs::remove(b[11].json);                         // orphan signature
    fs::remove(b[15].json);
    t::write_file(b[15].json, "{not json");  // unparsable

    const auto one = audit_with(ev.evidence_dir(), ev.keys().public_key, 1);
    REQUIRE(one.inventory.bundles == 23);
    CHECK(one.inventory.bundles_ok == 20);
    CHECK(one.inventory.missing_signatures == 1);
    CHECK(one.inventory.orphan_signatures == 1);
    const std::string expected = report_text(one);
    for (int workers : {2, 8}) {
        CAPTURE(workers);
        CHECK(report_text(audit_with(ev.evidence_dir(), ev.keys().public_key, workers)) == expected);
    }
}

TEST_CASE("audit --dir lists files below subdirectories by their relative path and skips hidden directories") {
    t::TempDir tmp("worm-audit-workers");
    t::EvidenceFixture ev(tmp.path());
    const auto b = ev.make_bundles(3);
    const fs::path nested = ev.evidence_dir() / "clinic-001" / "2026" / "11";
    fs::create_directories(nested);
    for (const auto& file : {b[1].json, b[1].sig}) fs::rename(file, nested / file.filename());
    const fs::path hidden = ev.evidence_dir() / ".staging";
    fs::create_directories(hidden);
    t::write_file(hidden / "EB-20260101-9999.json", "{not json");  // bookkeeping: never audited

    const auto report = audit_with(ev.evidence_dir(), ev.keys().public_key, 2);
    CHECK(report.failures.empty());
    REQUIRE(report.bundles.size() == 3);
    std::set<std::string> keys;
    for (const auto& bundle : report.bundles) keys.insert(bundle.key);
    CHECK(keys.count("clinic-001/2026/11/" + b[1].json.filename().string()) == 1);
    CHECK(keys.count(b[0].json.filename().string()) == 1);
    for (const auto& key : keys) CHECK(key.find(".staging") == std::string::npos);
}

TEST_CASE("report.json and report.html are the same bytes with 1, 2 and 8 workers") {
    t::TempDir tmp("worm-audit-workers");
    t::EvidenceFixture ev(tmp.path());
    // Enough bundles that workers claim several at a time (more than 64 per worker).
    const auto b = ev.make_bundles(300);
    t::EvidenceFixture::edit_one_byte(b[2].json);
    fs::remove(b[5].sig);
    fs::remove(b[9].json);
    fs::remove(b[250].sig);
    // Only the times of the run may differ.
    const auto rendered = [&](int workers) {
        compliance::AuditReport r = audit_with(ev.evidence_dir(), ev.keys().public_key, workers);
        r.started_at = r.finished_at = TimePoint{};
        return compliance::to_json(r) + compliance::to_html(r);
    };
    const std::string one = rendered(1);
    CHECK(one.find("orphan_signature") != std::string::npos);
    for (int workers : {2, 8}) {
        CAPTURE(workers);
        CHECK(rendered(workers) == one);
    }
}

TEST_CASE("report.json of a large audit (its lists rendered in slices) is exactly json::to_pretty of itself") {
    // Lists of more than 4096 items are rendered in slices side by side and indented
    // afterwards: parsing the text and pretty-printing it again must give the same bytes.
    compliance::AuditReport r;
    r.tool_version = "test";
    r.source = "dir \"quoted\"\nand a new line";
    const std::size_t n = 9001;
    for (std::size_t i = 0; i < n; ++i) {
        compliance::BundleAudit b;
        b.key = "clinic/EB-20261126-" + std::to_string(10000 + i) + ".json";
        b.bundle_id = i % 7 == 0 ? "" : "EB-20261126-" + std::to_string(10000 + i);
        b.signature_key = i % 5 == 0 ? "" : "clinic/EB-20261126-" + std::to_string(10000 + i) + ".sig";
        b.sha256_hex = std::string(64, static_cast<char>('a' + i % 6));
        b.size = 3000 + i;
        if (i % 3 == 0)
            b.lock.retention = Retention{LockMode::compliance, RetentionDate(std::chrono::sys_days(std::chrono::year(2027) /
                                                                                                std::chrono::month(1 + i % 12) / 1))};
        b.lock.legal_hold = i % 11 == 0;
        b.ok = i % 13 != 0;
        r.manifest.push_back({b.key, i % 2 ? "v" + std::to_string(i) : "", b.sha256_hex});
        r.manifest.push_back({b.key + ".sig\t\u00e9\"", "", b.sha256_hex});
        if (!b.ok) r.failures.push_back({b.key, "hash", "reason with \"quotes\",\na new line and \u00fcml\u00e4uts"});
        r.bundles.push_back(std::move(b));
    }
    const std::string text = compliance::to_json(r);
    const rapidjson::Document doc = json::parse_strict(text, "report.json");
    CHECK(json::to_pretty(doc) + "\n" == text);
    REQUIRE(doc["bundles"].Size() == n);
    CHECK(doc["manifest"].Size() == 2 * n);
    CHECK(doc["failures"].Size() == r.failures.size());
    for (std::size_t i : {std::size_t{0}, n / 2, n - 1}) {
        CHECK(std::string(doc["bundles"][static_cast<rapidjson::SizeType>(i)]["key"].GetString()) == r.bundles[i].key);
        CHECK(std::string(doc["manifest"][static_cast<rapidjson::SizeType>(2 * i + 1)]["key"].GetString()) ==
              r.manifest[2 * i + 1].key);
    }
}

TEST_CASE("audit --dir: a prefix reaches into subdirectories, and a file named without a bundle id is dated by its time") {
    t::TempDir tmp("worm-audit-workers");
    t::EvidenceFixture ev(tmp.path());
    const auto b = ev.make_bundles(3);
    const fs::path nested = ev.evidence_dir() / "clinic-001" / "2026";
    fs::create_directories(nested);
    for (const auto& file : {b[1].json, b[1].sig}) fs::rename(file, nested / file.filename());
    for (const std::string& prefix : std::vector<std::string>{"clinic-001/", "clin", "clinic-001/2026/" + b[1].bundle_id}) {
        CAPTURE(prefix);
        compliance::AuditOptions o;
        o.directory = ev.evidence_dir();
        o.public_key = load_public_key(ev.keys().public_key);
        o.prefix = prefix;
        const auto report = compliance::audit(o);
        REQUIRE(report.bundles.size() == 1);
        CHECK(report.bundles[0].key == "clinic-001/2026/" + b[1].json.filename().string());
        CHECK(report.clean());
    }

    // "custom.json" (and its .sig) carry no date in their name: the range goes by the files' time.
    const fs::path custom = ev.evidence_dir() / "custom.json";
    fs::rename(b[2].json, custom);
    fs::rename(b[2].sig, ev.evidence_dir() / "custom.sig");
    const auto year_2020 = std::chrono::file_clock::from_sys(
        std::chrono::sys_seconds(std::chrono::sys_days(std::chrono::year(2020) / 6 / 15)) + std::chrono::hours(12));
    fs::last_write_time(custom, year_2020);
    const auto keys_in_range = [&](const char* from, const char* to) {
        compliance::AuditOptions o;
        o.directory = ev.evidence_dir();
        o.public_key = load_public_key(ev.keys().public_key);
        o.from = compliance::parse_audit_date(from);
        o.to = compliance::parse_audit_date(to, true);
        std::set<std::string> keys;
        for (const auto& bundle : compliance::audit(o).bundles) keys.insert(bundle.key);
        return keys;
    };
    CHECK(keys_in_range("2020-06-15", "2020-06-15") == std::set<std::string>{"custom.json"});
    CHECK(keys_in_range("2020-06-16", "2099-01-01").count("custom.json") == 0);
    CHECK(keys_in_range("2020-06-16", "2099-01-01").count(b[0].json.filename().string()) == 1);
}
