// The `worm` CLI as a user runs it (WORM_CLI, a real process per call): the seed's
// integration scenarios (successful and failed remediation, tamper detection,
// configuration validation, sequential ids under concurrent processes), every storage
// command on a file:// store, usage errors, --help everywhere and the exit code table
// (0 ok, 1 verification failed, 2 usage or input error, 3 storage error).
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "support/json_output.hpp"
#include "support/test_env.hpp"
#include "worm/bundle_json.hpp"
#include "worm/bundle.hpp"
#include "worm/crypto.hpp"
#include "worm/json.hpp"
#include "worm/signer.hpp"
#include "worm/time.hpp"

using namespace worm;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

t::CommandResult worm_cli(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), t::cli_path());
    return t::run_command(args, env);
}

using worm::test::parse_json;
using worm::test::str;

// An error is one line on stderr: "worm <command>: <what>\n", never a stack trace.
void check_one_line_error(const t::CommandResult& r) {
    CAPTURE(r.err);
    REQUIRE_FALSE(r.err.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.back() == '\n');
    CHECK(r.err.rfind("worm", 0) == 0);
    for (const char* noise : {"terminate called", "what():", "Aborted", "core dumped", "#0 ", "Traceback"})
        CHECK(r.err.find(noise) == std::string::npos);
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

fs::perms mode_of(const fs::path& p) { return fs::status(p).permissions() & fs::perms::mask; }

fs::path example(const std::string& incident, const std::string& section) {
    return t::source_dir() / "examples" / "data" / incident / (section + ".json");
}

std::vector<std::string> incident_args(const std::string& incident) {
    std::vector<std::string> args;
    for (const char* section : {"incident", "runbook", "execution", "actions", "artifacts"})
        args.insert(args.end(), {"--" + std::string(section), example(incident, section).string()});
    return args;
}

// One key pair per test, created by `worm keygen`.
struct Keys {
    fs::path dir, priv, pub;
};

Keys keygen(const fs::path& dir) {
    const t::CommandResult r = worm_cli({"keygen", "--out", dir.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto d = parse_json(r.out);
    return {dir, str(d, "private_key"), str(d, "public_key")};
}

t::CommandResult bundle(const Keys& keys, const fs::path& evidence_dir, const std::string& incident,
                        const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"bundle", "--client-id", "clinic-001", "--evidence-dir", evidence_dir.string(),
                                  "--key", keys.priv.string()};
    const auto inc = incident_args(incident);
    args.insert(args.end(), inc.begin(), inc.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return worm_cli(args);
}

std::string file_url(const fs::path& dir) { return "file://" + fs::absolute(dir).string(); }

}  // namespace

TEST_CASE("keygen writes private 0400 and public 0644 and never overwrites a key") {
    t::TempDir tmp("worm-cli");
    const Keys keys = keygen(tmp / "keys");
    CHECK(keys.priv == tmp / "keys" / "private.pem");
    CHECK(keys.pub == tmp / "keys" / "public.pem");
    CHECK(mode_of(keys.priv) == fs::perms::owner_read);
    CHECK(mode_of(keys.pub) == (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                fs::perms::others_read));
    CHECK(contains(t::read_file(keys.priv), "-----BEGIN PRIVATE KEY-----"));
    CHECK(contains(t::read_file(keys.pub), "-----BEGIN PUBLIC KEY-----"));

    const std::string before_priv = t::read_file(keys.priv), before_pub = t::read_file(keys.pub);
    const t::CommandResult again = worm_cli({"keygen", "--out", keys.dir.string()});
    CHECK(again.exit_code == 2);
    check_one_line_error(again);
    CHECK(contains(again.err, "already exists"));
    CHECK(t::read_file(keys.priv) == before_priv);
    CHECK(t::read_file(keys.pub) == before_pub);
}

TEST_CASE("bundle: a successful remediation, signed, hashed and verifiable") {
    t::TempDir tmp("worm-cli");
    const Keys keys = keygen(tmp / "keys");
    const fs::path evidence = tmp / "evidence";
    const t::CommandResult r = bundle(keys, evidence, "backup-success");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.err.empty());
    const auto out = parse_json(r.out);
    const std::string id = str(out, "bundle_id");
    CHECK(is_valid_bundle_id(id));
    CHECK(id.ends_with("-0001"));
    CHECK(str(out, "bundle_path") == (evidence / (id + ".json")).string());
    CHECK(str(out, "sig_path") == (evidence / (id + ".sig")).string());
    CHECK_FALSE(out.HasMember("uri"));  // not stored without --store

    const std::string text = t::read_file(str(out, "bundle_path"));
    const auto b = parse_json(text);
    CHECK(str(b, "bundle_id") == id);
    CHECK(str(b, "client_id") == "clinic-001");
    CHECK(str(b["outputs"], "resolution_status") == "success");
    CHECK(b["execution"]["sla_met"].GetBool());
    CHECK(b["execution"]["mttr_seconds"].GetInt64() == 322);
    CHECK(str(b, "evidence_bundle_hash") == str(out, "evidence_bundle_hash"));
    CHECK(compute_bundle_hash(b) == str(out, "evidence_bundle_hash"));

    const t::CommandResult v = worm_cli({"verify", "--key", keys.pub.string(), str(out, "bundle_path")});
    CHECK(v.exit_code == 0);
    CHECK(contains(v.out, "valid: "));
    CHECK(contains(v.out, id));
}

TEST_CASE("bundle: a failed remediation gives a partial resolution with the error captured") {
    t::TempDir tmp("worm-cli");
    const Keys keys = keygen(tmp / "keys");
    const t::CommandResult r = bundle(keys, tmp / "evidence", "backup-failed");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto out = parse_json(r.out);
    const std::string text = t::read_file(str(out, "bundle_path"));
    const auto b = parse_json(text);
    CHECK(str(b["outputs"], "resolution_status") == "partial");
    CHECK_FALSE(b["execution"]["sla_met"].GetBool());
    CHECK(b["execution"]["mttr_seconds"].GetInt64() == 4 * 3600 + 15 * 60 + 10);
    // The failing step's error is in the bundle, word for word.
    CHECK(contains(text, "Backup repository full: No space left on device (wrote 3.1 of 12.4 GB)"));
    REQUIRE(b["outputs"].HasMember("failed_steps"));
    CHECK(contains(json::to_compact(b["outputs"]["failed_steps"]), "No space left on device"));
    CHECK(worm_cli({"verify", "--key", keys.pub.string(), str(out, "bundle_path")}).exit_code == 0);
}

TEST_CASE("verify: a tampered byte, a wrong key and a schema-invalid bundle all exit 1 with the reason") {
    t::TempDir tmp("worm-cli");
    const Keys keys = keygen(tmp / "keys");
    const auto out = parse_json(bundle(keys, tmp / "evidence", "backup-success").out);
    const fs::path path = str(out, "bundle_path"), sig = str(out, "sig_path");
    const std::string original = t::read_file(path);

    SUBCASE("one changed byte in the content") {
        std::string bytes = original;
        const size_t at = bytes.find("srv-");
        REQUIRE(at != std::string::npos);
        bytes[at] = 'S';
        t::write_file(tmp / "tampered.json", bytes);
        const t::CommandResult v = worm_cli({"verify", "--key", keys.pub.string(), (tmp / "tampered.json").string(),
                                             sig.string()});
        CHECK(v.exit_code == 1);
        check_one_line_error(v);
        CHECK(contains(v.out, "INVALID"));
        CHECK(contains(v.out, "signature: INVALID"));
        CHECK(contains(v.out, "hash:      MISMATCH"));
        CHECK(contains(v.err, "signature"));
    }
    SUBCASE("one changed byte in formatting only: the signature still catches it") {
        std::string bytes = original;
        const size_t at = bytes.find('\n');
        REQUIRE(at != std::string::npos);
        bytes.insert(at, " ");
        t::write_file(tmp / "spaced.json", bytes);
        const t::CommandResult v =
            worm_cli({"verify", "--key", keys.pub.string(), (tmp / "spaced.json").string(), sig.string()});
        CHECK(v.exit_code == 1);
        CHECK(contains(v.out, "signature: INVALID"));
        CHECK(contains(v.out, "hash:      ok"));
    }
    SUBCASE("the right bundle with someone else's public key") {
        const Keys other = keygen(tmp / "other");
        const t::CommandResult v = worm_cli({"verify", "--key", other.pub.string(), path.string()});
        CHECK(v.exit_code == 1);
        check_one_line_error(v);
        CHECK(contains(v.out, "signature: INVALID"));
        CHECK(contains(v.out, "hash:      ok"));
    }
    SUBCASE("correctly hashed and signed, but not valid against the schema") {
        rapidjson::Document b = parse_json(original);
        b["outputs"]["resolution_status"].SetString("maybe", b.GetAllocator());
        b["evidence_bundle_hash"].SetString(compute_bundle_hash(b).c_str(), b.GetAllocator());
        const fs::path bad = tmp / "EB-schema.json";
        t::write_file(bad, json::to_pretty(b));
        sign_file(load_private_key(keys.priv), bad);
        const t::CommandResult v = worm_cli({"verify", "--key", keys.pub.string(), bad.string()});
        CHECK(v.exit_code == 1);
        check_one_line_error(v);
        CHECK(contains(v.out, "signature: ok"));
        CHECK(contains(v.out, "hash:      ok"));
        CHECK(contains(v.out, "schema:    INVALID"));
        CHECK(contains(v.err, "schema"));
        CHECK(contains(v.err, "/outputs/resolution_status"));
    }
    // The original still verifies: nothing above touched it.
    CHECK(worm_cli({"verify", "--key", keys.pub.string(), path.string()}).exit_code == 0);
    // Missing inputs are input errors (2), not verification failures.
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"verify", "--key", keys.pub.string(), (tmp / "none.json").string()},
             {"verify", "--key", (tmp / "none.pem").string(), path.string()}}) {
        const t::CommandResult r = worm_cli(args);
        CHECK(r.exit_code == 2);
        check_one_line_error(r);
        CHECK(contains(r.err, (tmp / "none").string()));
    }
    // A bundle without its signature does not verify (1), and says why.
    const t::CommandResult nosig =
        worm_cli({"verify", "--key", keys.pub.string(), path.string(), (tmp / "none.sig").string()});
    CHECK(nosig.exit_code == 1);
    check_one_line_error(nosig);
    CHECK(contains(nosig.err, "signature file " + (tmp / "none.sig").string() + " does not exist"));
}

TEST_CASE("configuration validation: missing key, unusable evidence dir, world-readable key exit 2") {
    t::TempDir tmp("worm-cli");
    const Keys keys = keygen(tmp / "keys");

    SUBCASE("missing key file") {
        Keys missing = keys;
        missing.priv = tmp / "nope" / "private.pem";
        const t::CommandResult r = bundle(missing, tmp / "evidence", "backup-success");
        CHECK(r.exit_code == 2);
        check_one_line_error(r);
        CHECK(contains(r.err, missing.priv.string()));
        CHECK(contains(r.err, "does not exist"));
        CHECK_FALSE(fs::exists(tmp / "evidence" / "EB"));
    }
    SUBCASE("evidence dir is an existing file (fails for root too)") {
        t::write_file(tmp / "a-file", "x");
        const t::CommandResult r = bundle(keys, tmp / "a-file", "backup-success");
        CHECK(r.exit_code == 2);
        check_one_line_error(r);
        CHECK(contains(r.err, "evidence directory " + (tmp / "a-file").string()));
        CHECK((contains(r.err, "not a directory") || contains(r.err, "Not a directory")));
    }
    SUBCASE("evidence dir below a regular file cannot be created") {
        t::write_file(tmp / "a-file", "x");
        const t::CommandResult r = bundle(keys, tmp / "a-file" / "evidence", "backup-success");
        CHECK(r.exit_code == 2);
        check_one_line_error(r);
        CHECK(contains(r.err, "cannot create evidence directory"));
    }
    SUBCASE("world-readable private key is refused as ssh does") {
        fs::permissions(keys.priv, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                       fs::perms::others_read);
        const t::CommandResult r = bundle(keys, tmp / "evidence", "backup-success");
        CHECK(r.exit_code == 2);
        check_one_line_error(r);
        CHECK(contains(r.err, "readable by group or others"));
        CHECK(contains(r.err, "mode 0644"));
        CHECK(contains(r.err, "chmod 400 " + keys.priv.string()));
        CHECK_FALSE(contains(r.err, "PRIVATE KEY"));
    }
    SUBCASE("missing incident file") {
        const t::CommandResult r =
            worm_cli({"bundle", "--client-id", "clinic-001", "--evidence-dir", (tmp / "evidence").string(), "--key",
                      keys.priv.string(), "--incident", (tmp / "missing.json").string()});
        CHECK(r.exit_code == 2);
        check_one_line_error(r);
        CHECK(contains(r.err, (tmp / "missing.json").string()));
    }
    SUBCASE("invalid client id") {
        const t::CommandResult r = worm_cli({"bundle", "--client-id", "../etc", "--evidence-dir",
                                             (tmp / "evidence").string(), "--key", keys.priv.string(), "--incident",
                                             example("backup-success", "incident").string()});
        CHECK(r.exit_code == 2);
        check_one_line_error(r);
        CHECK(contains(r.err, "client id"));
    }
}

TEST_CASE("sequential ids under 8 concurrent `worm bundle` processes: distinct and gap-free") {
    t::TempDir tmp("worm-cli");
    const Keys keys = keygen(tmp / "keys");
    const fs::path evidence = tmp / "evidence";
    constexpr int n = 8;
    std::vector<t::CommandResult> results(n);
    {
        std::vector<std::thread> threads;
        for (int i = 0; i < n; ++i)
            threads.emplace_back([&, i] { results[i] = bundle(keys, evidence, i % 2 ? "backup-failed" : "backup-success"); });
        for (auto& th : threads) th.join();
    }
    // Ids per UTC day (a run across midnight starts a new day at 0001).
    std::map<std::string, std::set<int>> by_day;
    std::set<std::string> ids;
    for (const auto& r : results) {
        REQUIRE_MESSAGE(r.exit_code == 0, r.err);
        const std::string id = str(parse_json(r.out), "bundle_id");
        REQUIRE(is_valid_bundle_id(id));
        ids.insert(id);
        by_day[id.substr(3, 8)].insert(std::stoi(id.substr(12)));
    }
    CHECK(ids.size() == n);
    size_t total = 0;
    for (const auto& [day, numbers] : by_day) {
        CAPTURE(day);
        CHECK(*numbers.begin() == 1);
        CHECK(*numbers.rbegin() == static_cast<int>(numbers.size()));  // distinct + 1..max = no gaps
        total += numbers.size();
    }
    CHECK(total == n);
    // Every bundle on disk verifies.
    for (const auto& id : ids)
        CHECK(worm_cli({"verify", "--key", keys.pub.string(), (evidence / (id + ".json")).string()}).exit_code == 0);
    // The next one continues the sequence.
    const std::string next = str(parse_json(bundle(keys, evidence, "backup-success").out), "bundle_id");
    if (by_day.count(next.substr(3, 8)) && by_day.size() == 1) CHECK(next.ends_with("-0009"));
}

TEST_CASE("bundle --store file:// stores the bundle and its signature write-once and returns the uri") {
    t::TempDir tmp("worm-cli");
    const Keys keys = keygen(tmp / "keys");
    const std::string url = file_url(tmp / "store");
    const t::CommandResult r = bundle(keys, tmp / "evidence", "backup-success", {"--store", url});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto out = parse_json(r.out);
    const std::string id = str(out, "bundle_id");
    const std::string uri = str(out, "uri");
    CHECK(uri.rfind(url + "/", 0) == 0);
    CHECK(str(out, "sig_uri").ends_with(id + ".sig"));
    // The store holds the bundle and its signature under the evidence key layout.
    const std::string listed = worm_cli({"ls", "--store", url}).out;
    const std::string key = listed.substr(0, listed.find('\n'));
    CHECK(key.rfind("evidence/clinic-001/", 0) == 0);
    CHECK(key.ends_with("/" + id + ".json"));
    CHECK(uri.ends_with("/" + key));
    CHECK(listed == key + "\n" + key.substr(0, key.size() - 5) + ".sig\n");
    const t::CommandResult got = worm_cli({"get", "--store", url, key});
    REQUIRE(got.exit_code == 0);
    CHECK(got.out == t::read_file(str(out, "bundle_path")));
    const auto head = parse_json(worm_cli({"head", "--store", url, key}).out);
    CHECK(str(head, "lock_mode") == "COMPLIANCE");
    CHECK(worm_cli({"rm", "--store", url, key}).exit_code == 3);
}

TEST_CASE("storage commands on a file:// store") {
    t::TempDir tmp("worm-cli");
    const std::string url = file_url(tmp / "store");
    const std::string content = "{\"evidence\":true}\n\x01\x02 binary \xff tail";
    t::write_file(tmp / "in.bin", content);
    const std::string key = "evidence/clinic-001/2026/11/EB-20261122-0001.json";

    // put with a COMPLIANCE lock
    const TimePoint before = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    const t::CommandResult put = worm_cli({"put", "--store", url, key, (tmp / "in.bin").string(), "--lock-mode",
                                           "COMPLIANCE", "--retain-days", "1", "--content-type", "application/json"});
    REQUIRE_MESSAGE(put.exit_code == 0, put.err);
    const TimePoint after = std::chrono::system_clock::now();
    const auto p = parse_json(put.out);
    CHECK(str(p, "key") == key);
    CHECK(str(p, "uri").rfind(url + "/", 0) == 0);
    CHECK(str(p, "uri").ends_with("/" + key));
    CHECK(str(p, "sha256") == sha256_hex(content));

    // get to stdout and to a file
    const t::CommandResult got = worm_cli({"get", "--store", url, key});
    CHECK(got.exit_code == 0);
    CHECK(got.out == content);
    CHECK(worm_cli({"get", "--store", url, key, "-o", (tmp / "out.bin").string()}).exit_code == 0);
    CHECK(t::read_file(tmp / "out.bin") == content);
    CHECK(worm_cli({"get", "--store", url, key, "--output", (tmp / "out2.bin").string()}).exit_code == 0);
    CHECK(t::read_file(tmp / "out2.bin") == content);

    // head: the JSON fields a script relies on
    const auto h = parse_json(worm_cli({"head", "--store", url, key}).out);
    CHECK(str(h, "key") == key);
    CHECK(h["size"].GetUint64() == content.size());
    CHECK(str(h, "sha256") == sha256_hex(content));
    CHECK(str(h, "content_type") == "application/json");
    CHECK(str(h, "lock_mode") == "COMPLIANCE");
    const TimePoint until = parse_rfc3339(str(h, "retain_until"));
    CHECK(until >= before + std::chrono::days(1));
    CHECK(until <= after + std::chrono::days(1));
    CHECK(h["legal_hold"].IsBool());
    CHECK_FALSE(h["legal_hold"].GetBool());
    CHECK(h.HasMember("version_id"));
    CHECK(h["metadata"].IsObject());
    CHECK(h.HasMember("last_modified"));

    // ls, with and without a prefix
    REQUIRE(worm_cli({"put", "--store", url, "other/b.txt", (tmp / "in.bin").string()}).exit_code == 0);
    CHECK(worm_cli({"ls", "--store", url}).out == key + "\nother/b.txt\n");
    CHECK(worm_cli({"ls", "--store", url, "--prefix", "other/"}).out == "other/b.txt\n");
    CHECK(worm_cli({"ls", "--store", url, "--prefix", "nothing/"}).out.empty());

    // rm refused while locked (exit 3), and the object is intact
    const t::CommandResult rm = worm_cli({"rm", "--store", url, key});
    CHECK(rm.exit_code == 3);
    check_one_line_error(rm);
    CHECK(contains(rm.err, key));
    CHECK(worm_cli({"rm", "--store", url, key, "--bypass-governance"}).exit_code == 3);
    CHECK(worm_cli({"get", "--store", url, key}).out == content);
    // an overwrite is refused too
    CHECK(worm_cli({"put", "--store", url, key, (tmp / "in.bin").string()}).exit_code == 3);

    // retention get / set: extending is fine, shortening COMPLIANCE is refused
    const auto r0 = parse_json(worm_cli({"retention", "get", "--store", url, key}).out);
    CHECK(str(r0, "lock_mode") == "COMPLIANCE");
    CHECK(parse_rfc3339(str(r0, "retain_until")) == until);
    CHECK(worm_cli({"retention", "set", "--store", url, key, "--lock-mode", "COMPLIANCE", "--retain-days", "3"})
              .exit_code == 0);
    const TimePoint extended = parse_rfc3339(str(parse_json(worm_cli({"retention", "get", "--store", url, key}).out),
                                                 "retain_until"));
    CHECK(extended >= before + std::chrono::days(3));
    const t::CommandResult shorten =
        worm_cli({"retention", "set", "--store", url, key, "--mode", "COMPLIANCE", "--retain-days", "2"});
    CHECK(shorten.exit_code == 3);
    check_one_line_error(shorten);
    CHECK(worm_cli({"retention", "set", "--store", url, key, "--mode", "GOVERNANCE", "--retain-days", "5"})
              .exit_code == 3);  // COMPLIANCE cannot be weakened to GOVERNANCE
    CHECK(parse_rfc3339(str(parse_json(worm_cli({"retention", "get", "--store", url, key}).out), "retain_until")) ==
          extended);
    // retention of an unlocked object is null
    const auto none = parse_json(worm_cli({"retention", "get", "--store", url, "other/b.txt"}).out);
    CHECK(none["lock_mode"].IsNull());
    CHECK(none["retain_until"].IsNull());

    // legal hold get / set: a hold blocks deletion until lifted
    const std::string held = "other/b.txt";
    CHECK(worm_cli({"legal-hold", "get", "--store", url, held}).out == "{\"legal_hold\":false}\n");
    CHECK(worm_cli({"legal-hold", "set", "--store", url, held, "on"}).exit_code == 0);
    CHECK(worm_cli({"legal-hold", "get", "--store", url, held}).out == "{\"legal_hold\":true}\n");
    CHECK(parse_json(worm_cli({"head", "--store", url, held}).out)["legal_hold"].GetBool());
    CHECK(worm_cli({"rm", "--store", url, held}).exit_code == 3);
    CHECK(worm_cli({"legal-hold", "set", "--store", url, held, "off"}).exit_code == 0);
    CHECK(worm_cli({"legal-hold", "get", "--store", url, held}).out == "{\"legal_hold\":false}\n");
    CHECK(worm_cli({"rm", "--store", url, held}).exit_code == 0);
    CHECK(worm_cli({"ls", "--store", url}).out == key + "\n");
    const t::CommandResult gone = worm_cli({"get", "--store", url, held});
    CHECK(gone.exit_code == 3);
    check_one_line_error(gone);
    CHECK(worm_cli({"legal-hold", "set", "--store", url, key, "maybe"}).exit_code == 2);

    // put with a lock and a legal hold; a GOVERNANCE lock can be removed only with bypass
    CHECK(worm_cli({"put", "--store", url, "gov.txt", (tmp / "in.bin").string(), "--lock-mode", "GOVERNANCE",
                    "--retain-days", "1", "--legal-hold", "on"})
              .exit_code == 0);
    CHECK(parse_json(worm_cli({"head", "--store", url, "gov.txt"}).out)["legal_hold"].GetBool());
    CHECK(worm_cli({"legal-hold", "set", "--store", url, "gov.txt", "off"}).exit_code == 0);
    CHECK(worm_cli({"rm", "--store", url, "gov.txt"}).exit_code == 3);
    CHECK(worm_cli({"rm", "--store", url, "gov.txt", "--bypass-governance"}).exit_code == 0);
}

TEST_CASE("storage input errors: exit 2 for bad input, 3 for what the store refuses") {
    t::TempDir tmp("worm-cli");
    const std::string url = file_url(tmp / "store");
    t::write_file(tmp / "in.bin", "x");
    struct Case {
        std::vector<std::string> args;
        int exit_code;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{"put", "--store", url, "k", (tmp / "missing").string()}, 2, "missing"},
        {{"put", "--store", url, "k", (tmp / "in.bin").string(), "--retain-days", "1"}, 2, "--lock-mode"},
        {{"put", "--store", url, "k", (tmp / "in.bin").string(), "--lock-mode", "FOREVER", "--retain-days", "1"},
         2, "FOREVER"},
        {{"put", "--store", url, "k", (tmp / "in.bin").string(), "--lock-mode", "COMPLIANCE", "--retain-days", "0"},
         2, "--retain-days"},
        {{"put", "--store", url, "k", (tmp / "in.bin").string(), "--lock-mode", "COMPLIANCE", "--retain-until",
          "2001-01-01T00:00:00Z"},
         2, "2001-01-01"},
        {{"put", "--store", url, "../escape", (tmp / "in.bin").string()}, 2, "../escape"},
        {{"put", "--store", "ftp://host/x", "k", (tmp / "in.bin").string()}, 2, "ftp"},
        {{"put", "--store", "/no/scheme", "k", (tmp / "in.bin").string()}, 2, "no scheme"},
        {{"get", "--store", url, "missing-key"}, 3, "missing-key"},
        {{"head", "--store", url, "missing-key"}, 3, "missing-key"},
        {{"bucket", "create", "--store", url, "--object-lock"}, 2, "S3 stores only"},
        {{"bucket", "info", "--store", url}, 2, "S3 stores only"},
        {{"bucket", "create", "--store", "s3://b/prefix"}, 2, "without a prefix"},
        {{"bucket", "create", "--store", "s3://b", "--default-retention-days", "5"}, 2, "--default-lock-mode"},
        {{"bucket", "create", "--store", "s3://b", "--default-retention-days", "5", "--default-lock-mode",
          "COMPLIANCE"},
         2, "--object-lock"},
    };
    for (const Case& c : cases) {
        std::string joined;
        for (const auto& a : c.args) joined += a + " ";
        CAPTURE(joined);
        const t::CommandResult r = worm_cli(c.args);
        CHECK(r.exit_code == c.exit_code);
        check_one_line_error(r);
        CHECK(contains(r.err, c.says));
    }
}

TEST_CASE("usage errors exit 2 with one line naming the problem") {
    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{"get", "--store", "file:///tmp/x", "k", "--bogus"}, "unknown option --bogus"},
        {{"get", "--store"}, "--store needs a value"},
        {{"get", "k"}, "missing required option --store"},
        {{"get", "--store", "file:///tmp/x"}, "'get' needs KEY"},
        {{"get", "--store", "file:///tmp/x", "a", "b"}, "too many arguments"},
        {{"keygen"}, "missing required option --out"},
        {{"verify", "--key"}, "--key needs a value"},
        {{"ls", "--store=file:///tmp/x", "--prefix"}, "--prefix needs a value"},
        {{"rm", "--store", "file:///tmp/x", "k", "--bypass-governance=yes"}, "takes no value"},
        {{"frobnicate"}, "unknown command 'frobnicate'"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.args[0]);
        const t::CommandResult r = worm_cli(c.args);
        CHECK(r.exit_code == 2);
        check_one_line_error(r);
        CHECK(contains(r.err, c.says));
        CHECK(r.out.empty());
    }
    // A group without its subcommand lists the subcommands (several lines, still exit 2).
    const t::CommandResult group = worm_cli({"retention"});
    CHECK(group.exit_code == 2);
    CHECK(contains(group.err, "worm retention get"));
    CHECK(contains(group.err, "worm retention set"));
    // No command at all: the usage, exit 2.
    CHECK(worm_cli({}).exit_code == 2);
}

TEST_CASE("--help works on every command and exits 0") {
    const t::CommandResult top = worm_cli({"--help"});
    CHECK(top.exit_code == 0);
    CHECK(contains(top.out, "exit codes: 0 ok, 1 verification failed, 2 usage or input error, 3 storage error"));
    // The commands `worm --help` lists: "  <name><padding><summary>".
    std::vector<std::string> listed;
    std::istringstream lines(top.out.substr(top.out.find("commands:\n")));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line) && line.rfind("  ", 0) == 0) {
        const std::string rest = line.substr(2);
        listed.push_back(rest.substr(0, rest.find("  ")));
    }
    const std::set<std::string> expected = {
        "keygen", "bundle", "verify", "demo", "put", "get", "head", "ls", "rm", "retention get", "retention set",
        "legal-hold get", "legal-hold set", "bucket create", "bucket info", "sync", "status", "config check",
        "registry import", "registry export"};
    for (const auto& name : expected) {
        CAPTURE(name);
        CHECK(std::find(listed.begin(), listed.end(), name) != listed.end());
    }
    CHECK(listed.size() >= expected.size());
    for (const auto& name : listed) {
        CAPTURE(name);
        std::vector<std::string> args;
        std::istringstream words(name);
        for (std::string w; words >> w;) args.push_back(w);
        args.push_back("--help");
        const t::CommandResult r = worm_cli(args);
        CHECK(r.exit_code == 0);
        CHECK(r.out.rfind("usage: worm " + name, 0) == 0);
        CHECK(r.err.empty());
    }
    // -h and `worm help` too; bucket create documents its options.
    CHECK(worm_cli({"put", "-h"}).exit_code == 0);
    CHECK(worm_cli({"help"}).exit_code == 0);
    const std::string bucket_help = worm_cli({"bucket", "create", "--help"}).out;
    for (const char* opt : {"--object-lock", "--region", "--default-retention-days", "--default-lock-mode"})
        CHECK(contains(bucket_help, opt));
}

TEST_CASE("worm demo runs the whole local pipeline and exits 0") {
    t::TempDir tmp("worm-cli");
    const t::CommandResult r = worm_cli({"demo", "--dir", (tmp / "demo").string()});
    CAPTURE(r.out);
    CAPTURE(r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "demo finished: every step behaved as it must"));
    CHECK_FALSE(contains(r.out, "FAIL"));
}

TEST_CASE("the agents' own evidence (seed 003's example bundle) goes through worm bundle as it is") {
    t::TempDir tmp("worm-cli");
    const Keys keys = keygen(tmp / "keys");
    const fs::path seed = t::testdata_dir() / "seed" / "EB-20251101-0002.json";
    const t::CommandResult r = worm_cli({"bundle", "--client-id", "test-client-001", "--incident", seed.string(),
                                         "--evidence-dir", (tmp / "evidence").string(), "--key", keys.priv.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto out = parse_json(r.out);
    const auto b = parse_json(t::read_file(str(out, "bundle_path")));
    const auto original = parse_json(t::read_file(seed));
    CHECK(json::canonicalize(b["actions_taken"]) == json::canonicalize(original["actions_taken"]));
    CHECK_FALSE(b["actions_taken"][2].HasMember("stdout_excerpt"));
    CHECK(str(b["outputs"], "resolution_status") == "success");
    const t::CommandResult v = worm_cli({"verify", "--key", keys.pub.string(), str(out, "bundle_path")});
    CHECK_MESSAGE(v.exit_code == 0, v.out << v.err);
}

TEST_CASE("one option name for one thing across all commands; older spellings are aliases") {
    // Every option of every command, from its --help: name -> value name.
    std::map<std::string, std::set<std::string>> value_names;
    std::map<std::string, std::string> help_of;
    const std::string top = worm_cli({"--help"}).out;
    std::istringstream lines(top.substr(top.find("commands:\n")));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line) && line.rfind("  ", 0) == 0) {
        const std::string name = line.substr(2, line.find("  ", 2) - 2);
        std::vector<std::string> args;
        std::istringstream words(name);
        for (std::string w; words >> w;) args.push_back(w);
        args.push_back("--help");
        const std::string help = worm_cli(args).out;
        help_of[name] = help;
        std::istringstream options(help);
        for (std::string o; std::getline(options, o);) {
            if (o.rfind("  -", 0) != 0) continue;
            std::istringstream parts(o);
            std::string option, value;
            parts >> option >> value;
            value_names[option].insert(value.empty() || value[0] == '-' || std::islower(value[0]) ? "" : value);
        }
    }
    REQUIRE(value_names.count("--lock-mode"));
    for (const auto& [option, values] : value_names) {
        CAPTURE(option);
        if (option == "--key") continue;  // the key the command needs: PRIV to sign, PUB to verify
        if (option == "--from" || option == "--to") {
            // A time range everywhere (DATE), except `worm migrate`'s source and destination
            // (SRC, URL), the names rclone and the seed's migration tool use.
            std::set<std::string> time_range = values;
            time_range.erase(option == "--from" ? "SRC" : "URL");
            CHECK(time_range == std::set<std::string>{"DATE"});
            continue;
        }
        CHECK(values.size() == 1);  // the same option takes the same kind of value everywhere
    }
    // The old spellings are no option's name, only aliases.
    for (const char* alias : {"--mode", "-o"}) {
        CAPTURE(alias);
        CHECK_FALSE(value_names.count(alias));
    }
    CHECK(contains(help_of["retention set"], "--lock-mode MODE"));
    CHECK(contains(help_of["retention set"], "(also --mode)"));
    CHECK(contains(help_of["get"], "(also -o)"));

    // Both spellings work on retention set; both at once is a usage error.
    t::TempDir tmp("worm-cli");
    const std::string url = file_url(tmp / "store");
    t::write_file(tmp / "in.txt", "x");
    REQUIRE(worm_cli({"put", "--store", url, "k", (tmp / "in.txt").string(), "--lock-mode", "GOVERNANCE",
                      "--retain-days", "1"}).exit_code == 0);
    CHECK(worm_cli({"retention", "set", "--store", url, "k", "--lock-mode", "GOVERNANCE", "--retain-days", "2"})
              .exit_code == 0);
    CHECK(worm_cli({"retention", "set", "--store", url, "k", "--mode", "GOVERNANCE", "--retain-days", "3"}).exit_code ==
          0);
    const TimePoint until = parse_rfc3339(str(parse_json(worm_cli({"retention", "get", "--store", url, "k"}).out),
                                              "retain_until"));
    CHECK(until > std::chrono::system_clock::now() + std::chrono::days(2) + std::chrono::hours(23));
    const t::CommandResult both = worm_cli({"retention", "set", "--store", url, "k", "--mode", "GOVERNANCE",
                                            "--lock-mode", "GOVERNANCE", "--retain-days", "4"});
    CHECK(both.exit_code == 2);
    check_one_line_error(both);
    CHECK(contains(both.err, "--mode and --lock-mode are the same option"));
    const t::CommandResult missing = worm_cli({"retention", "set", "--store", url, "k", "--retain-days", "4"});
    CHECK(missing.exit_code == 2);
    CHECK(contains(missing.err, "--lock-mode"));
    // put accepts the alias too.
    CHECK(worm_cli({"put", "--store", url, "k2", (tmp / "in.txt").string(), "--mode", "GOVERNANCE", "--retain-days",
                    "1"}).exit_code == 0);
    CHECK(str(parse_json(worm_cli({"head", "--store", url, "k2"}).out), "lock_mode") == "GOVERNANCE");
}

TEST_CASE("status shows the last error with its time and whether it is still current") {
    t::TempDir tmp("worm-cli");
    const Keys keys = keygen(tmp / "keys");
    const fs::path evidence = tmp / "evidence";
    // A proxy nobody listens on: the upload fails at once (one attempt), the bundle stays pending.
    const std::vector<std::string> offline_env = {"MCP_API_KEY=cli-test-token", "WORM_UPLOAD_ATTEMPTS=1"};
    std::vector<std::string> args{"bundle", "--client-id", "clinic-001", "--evidence-dir", evidence.string(),
                                  "--key", keys.priv.string(), "--store", "mcp+http://127.0.0.1:1"};
    const auto inc = incident_args("backup-success");
    args.insert(args.end(), inc.begin(), inc.end());
    const TimePoint before = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    const t::CommandResult offline = worm_cli(args, offline_env);
    REQUIRE_MESSAGE(offline.exit_code == 0, offline.err);
    CHECK(str(parse_json(offline.out), "upload_status") == "pending");

    auto s = parse_json(worm_cli({"status", "--evidence-dir", evidence.string(), "--json"}).out);
    CHECK_FALSE(str(s, "last_error").empty());
    CHECK(s["last_error_current"].GetBool());
    const TimePoint failed_at = parse_rfc3339(str(s, "last_error_at"));
    CHECK(failed_at >= before);
    CHECK(failed_at <= std::chrono::system_clock::now());
    std::string table = worm_cli({"status", "--evidence-dir", evidence.string()}).out;
    CHECK(contains(table, str(s, "last_error_at") + " (current) " + str(s, "last_error")));

    // The store is reachable again: sync uploads everything, the error is history.
    const std::string url = file_url(tmp / "store");
    const t::CommandResult sync = worm_cli({"sync", "--evidence-dir", evidence.string(), "--store", url, "--quiet"});
    REQUIRE_MESSAGE(sync.exit_code == 0, sync.out << sync.err);
    const t::CommandResult after = worm_cli({"status", "--evidence-dir", evidence.string(), "--json"});
    CHECK(after.exit_code == 0);
    s = parse_json(after.out);
    CHECK_FALSE(s["last_error_current"].GetBool());
    CHECK(parse_rfc3339(str(s, "last_error_at")) == failed_at);
    CHECK_FALSE(str(s, "last_error").empty());
    table = worm_cli({"status", "--evidence-dir", evidence.string()}).out;
    CHECK(contains(table, str(s, "last_error_at") + " (resolved: everything registered before it is uploaded)"));
    CHECK_FALSE(contains(table, "(current)"));
    CHECK_FALSE(contains(table + after.out, "cli-test-token"));
}

TEST_CASE("bundle follows the library's upload-after-sign policy (WORM_AUTO_UPLOAD=false: registered for sync)") {
    t::TempDir tmp("worm-cli");
    const Keys keys = keygen(tmp / "keys");
    const fs::path evidence = tmp / "evidence";
    const std::string url = file_url(tmp / "store");
    std::vector<std::string> args{"bundle", "--client-id", "clinic-001", "--evidence-dir", evidence.string(),
                                  "--key", keys.priv.string(), "--store", url};
    const auto inc = incident_args("backup-success");
    args.insert(args.end(), inc.begin(), inc.end());
    const t::CommandResult r = worm_cli(args, {"WORM_AUTO_UPLOAD=false"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto out = parse_json(r.out);
    CHECK(str(out, "upload_status") == "pending");
    CHECK_FALSE(out.HasMember("uri"));
    CHECK_FALSE(out.HasMember("upload_error"));
    CHECK(worm_cli({"ls", "--store", url}).out.empty());  // nothing sent yet
    const auto s = parse_json(worm_cli({"status", "--evidence-dir", evidence.string(), "--json"}).out);
    CHECK(s["pending_count"].GetInt64() == 1);
    CHECK(str(s, "last_error").empty());
    CHECK_FALSE(s["last_error_current"].GetBool());
    const t::CommandResult sync = worm_cli({"sync", "--evidence-dir", evidence.string(), "--store", url, "--quiet"});
    CHECK_MESSAGE(sync.exit_code == 0, sync.out << sync.err);
    CHECK(contains(worm_cli({"ls", "--store", url}).out, str(out, "bundle_id") + ".json"));

    // Without --store and without WORM_ENABLED, nothing is attached: no upload fields at all.
    args.resize(args.size() - inc.size() - 2);
    args.insert(args.end(), inc.begin(), inc.end());
    const auto local = parse_json(worm_cli(args).out);
    CHECK_FALSE(local.HasMember("upload_status"));
}

TEST_CASE("bucket setup / verify: bad options are usage errors, before any request") {
    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{"bucket", "setup", "--store", "file:///tmp/x"}, "S3 stores only"},
        {{"bucket", "verify", "--store", "s3://b/prefix"}, "without a prefix"},
        {{"bucket", "setup", "--store", "s3://b", "--retention-days", "90", "--retention-years", "7"}, "not both"},
        {{"bucket", "setup", "--store", "s3://b", "--retention-days", "0"}, "--retention-days"},
        {{"bucket", "setup", "--store", "s3://b", "--mode", "LEGAL"}, "LEGAL"},
        {{"bucket", "setup", "--store", "s3://b", "--sse", "DES"}, "--sse must be AES256 or aws:kms"},
        {{"bucket", "setup", "--store", "s3://b", "--kms-key", "k"}, "--kms-key needs --sse aws:kms"},
        {{"bucket", "setup", "--store", "s3://b", "--transition-days", "500"}, "after the expiry"},
        {{"bucket", "setup", "--store", "s3://b", "--no-transition", "--storage-class", "GLACIER"}, "--no-transition"},
        {{"bucket", "verify", "--store", "s3://b", "--sample", "-1"}, "--sample"},
        {{"bucket", "verify", "--store", "s3://b", "--min-retention-days", "x"}, "--min-retention-days"},
    };
    for (const Case& c : cases) {
        std::string joined;
        for (const auto& a : c.args) joined += a + " ";
        CAPTURE(joined);
        // An endpoint nobody listens on: a request sent would be exit 3, not 2.
        const t::CommandResult r = worm_cli(c.args, {"AWS_ENDPOINT_URL=http://127.0.0.1:9", "AWS_ACCESS_KEY_ID=a",
                                                     "AWS_SECRET_ACCESS_KEY=b", "AWS_REGION=us-east-1"});
        CHECK(r.exit_code == 2);
        check_one_line_error(r);
        CHECK(contains(r.err, c.says));
    }
    for (const char* command : {"setup", "verify"}) {
        const t::CommandResult help = worm_cli({"bucket", command, "--help"});
        CHECK(help.exit_code == 0);
        CHECK(contains(help.out, "--store"));
    }
}

TEST_CASE("config check refuses every S3 endpoint that sync refuses, with the same message") {
    // Issue 15 defect 7: config check passed endpoints (a path, credentials in the URL)
    // that sync then refused.
    t::TempDir tmp("worm-cli-endpoint");
    fs::create_directories(tmp / "evidence");
    const auto env_with = [](const std::string& endpoint) {
        return std::vector<std::string>{"WORM_ENABLED=true",       "WORM_MODE=direct", "WORM_S3_BUCKET=evidence-bucket",
                                        "WORM_S3_ENDPOINT=" + endpoint, "AWS_ENDPOINT_URL_S3=", "AWS_ENDPOINT_URL=",
                                        "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=not-a-real-secret"};
    };
    for (const std::string endpoint : {"http://127.0.0.1:9/some/path", "https://user:hunter2@s3.example.com",
                                       "ftp://s3.example.com", "http://127.0.0.1:9?x=1"}) {
        CAPTURE(endpoint);
        const t::CommandResult check = worm_cli({"config", "check"}, env_with(endpoint));
        CHECK(check.exit_code == 2);
        const t::CommandResult sync =
            worm_cli({"sync", "--evidence-dir", (tmp / "evidence").string(), "--quiet"}, env_with(endpoint));
        CHECK(sync.exit_code != 0);
        // The reason sync gives is the reason config check gives.
        const std::string reason = sync.err.substr(sync.err.find("S3 endpoint"));
        CHECK(check.err.find(reason.substr(0, reason.size() - 1)) != std::string::npos);
        CHECK(check.err.find("hunter2") == std::string::npos);
        CHECK(sync.err.find("hunter2") == std::string::npos);
    }
    // A usable endpoint passes both checks' endpoint rule.
    const t::CommandResult ok = worm_cli({"config", "check"}, env_with("http://127.0.0.1:9000"));
    CHECK_MESSAGE(ok.exit_code == 0, ok.err);
}

TEST_CASE("an edited sidecar: rm refuses the version, store verify exits 1 naming it, 0 for an untouched store") {
    // Issue 15 defect 6: an edited sidecar let `worm rm` delete a COMPLIANCE-locked version.
    t::TempDir tmp("worm-cli-store-verify");
    const fs::path root = tmp / "store";
    const std::string url = "file://" + root.string();
    t::write_file(tmp / "in.json", "{\"a\":1}");
    const t::CommandResult put = worm_cli({"put", "--store", url, "evidence/c1/a.json", (tmp / "in.json").string(),
                                           "--lock-mode", "COMPLIANCE", "--retain-days", "30"});
    REQUIRE_MESSAGE(put.exit_code == 0, put.err);
    const std::string version = str(parse_json(put.out), "version_id");

    // Someone with write access removes the retention from the sidecar.
    const fs::path sidecar = root / "versions/evidence/c1/a.json/@v" / (version + ".json");
    std::string text = t::read_file(sidecar);
    const std::size_t from = text.find("\"retention\":{");
    REQUIRE(from != std::string::npos);
    text.replace(from, text.find('}', from) + 1 - from, "\"retention\":null");
    fs::permissions(sidecar, fs::perms::owner_write, fs::perm_options::add);
    t::write_file(sidecar, text);

    const t::CommandResult rm = worm_cli({"rm", "--store", url, "evidence/c1/a.json", "--version-id", version});
    CHECK(rm.exit_code != 0);
    CHECK(rm.err.find("edited") != std::string::npos);
    CHECK(fs::exists(root / "versions/evidence/c1/a.json/@v" / (version + ".body")));

    const t::CommandResult found = worm_cli({"store", "verify", "--store", url});
    CHECK(found.exit_code == 1);
    const auto report = parse_json(found.out);
    CHECK_FALSE(report["ok"].GetBool());
    REQUIRE(report["problems"].Size() == 1);
    CHECK(str(report["problems"][0], "kind") == "edited");
    CHECK(str(report["problems"][0], "key") == "evidence/c1/a.json");
    CHECK(str(report["problems"][0], "version_id") == version);
    CHECK(found.err.find("retention") != std::string::npos);

    // An untouched store verifies.
    const std::string clean_url = "file://" + (tmp / "clean").string();
    REQUIRE(worm_cli({"put", "--store", clean_url, "k", (tmp / "in.json").string()}).exit_code == 0);
    const t::CommandResult clean = worm_cli({"store", "verify", "--store", clean_url});
    CHECK_MESSAGE(clean.exit_code == 0, clean.err);
    const auto ok = parse_json(clean.out);
    CHECK(ok["ok"].GetBool());
    CHECK(ok["records"].GetUint64() == 1);
    CHECK(str(ok, "log_head").size() == 64);

    // Not a local store: a usage error.
    CHECK(worm_cli({"store", "verify", "--store", "s3://bucket"}).exit_code == 2);
}
