// The directory audit with several workers reports exactly what one worker does (same
// bundles, failures, manifest), and its listing names files in subdirectories by their
// path below the directory while skipping hidden bookkeeping directories.
#include <doctest/doctest.h>

#include <set>
#include <sstream>

#include "support/evidence_fixture.hpp"
#include "support/test_env.hpp"
#include "worm/compliance.hpp"
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
