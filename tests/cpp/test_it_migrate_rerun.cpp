// peers: moto rgw
// Issue 25 (items 3, 8, 9) and issue 23's migration surface against a real S3 server
// (WORM_TEST_PEER=moto|rgw): `worm migrate` never says clean while a destination copy has no
// lock or a weaker one; a re-run confirms its state against both stores (a changed source, a
// destination that lost the copies, another endpoint); two runs never share a state file;
// the seed's flags, variables and log file; rollback of a GOVERNANCE trial run, with
// COMPLIANCE copies kept and said so.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <rapidjson/document.h>
#include <sys/file.h>
#include <unistd.h>

#include "support/json_output.hpp"
#include "support/s3_peer.hpp"
#include "support/test_env.hpp"
#include "worm/crypto.hpp"
#include "worm/fs.hpp"
#include "worm/s3/client.hpp"

using namespace worm;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

t::S3Peer& peer() { return t::S3Peer::shared(); }

std::vector<std::string> cli_env(const std::string& endpoint = "") {
    const auto& p = peer();
    return {"AWS_ENDPOINT_URL=" + (endpoint.empty() ? p.endpoint() : endpoint), "AWS_ACCESS_KEY_ID=" + p.credentials().access_key_id,
            "AWS_SECRET_ACCESS_KEY=" + p.credentials().secret_access_key, "AWS_REGION=" + p.region(),
            "AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_ENDPOINT_URL_S3=", "WORM_S3_ENDPOINT=",
            "MIGRATION_BATCH_SIZE=", "MIGRATION_MAX_WORKERS=", "MIGRATION_PROGRESS_DIR="};
}

t::CommandResult worm_cli(std::vector<std::string> args, std::vector<std::string> env = cli_env()) {
    args.insert(args.begin(), t::cli_path());
    return t::run_command(args, env);
}

s3::S3Client& client() {
    static s3::S3Client c(peer().client_config());
    return c;
}

void put(const std::string& bucket, const std::string& key, const std::string& body,
         std::optional<Retention> retention = std::nullopt) {
    t::put_bytes(client(), bucket, key, body, {}, retention);
}

s3::ObjectHead head(const std::string& bucket, const std::string& key) {
    return client().head_object({.bucket = bucket, .key = key, .version_id = std::nullopt});
}

std::size_t version_count(const std::string& bucket) {
    s3::ListVersionsOptions lv;
    lv.bucket = bucket;
    return client().list_all_object_versions(lv).size();
}

RetentionDate days_from_now(int days, std::chrono::minutes less = std::chrono::minutes(0)) {
    return RetentionDate(std::chrono::floor<std::chrono::seconds>(system_clock().now()) + std::chrono::days(days) - less);
}

// The summary line: the last line of stdout.
rapidjson::Document summary_of(const std::string& out) {
    const std::size_t cut = out.rfind("\n{");
    return t::parse_json(cut == std::string::npos ? out : out.substr(cut + 1));
}

std::vector<std::string> migrate_args(const std::string& src, const std::string& dst, const fs::path& state,
                                      std::vector<std::string> more = {}) {
    std::vector<std::string> a{"migrate", "--from", "s3://" + src, "--to", "s3://" + dst, "--retain-days", "2",
                               "--state", state.string(), "--quiet"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

}  // namespace

TEST_CASE("a destination copy with no lock or a shorter one gets the lock asked, and says so; one that cannot is not clean") {
    const std::string src = peer().create_bucket("mrsrc", false), dst = peer().create_bucket("mrdst", true);
    t::TempDir tmp("worm-it-migrate-rerun");
    put(src, "unlocked.txt", "same bytes, no lock\n");
    put(src, "short.txt", "same bytes, one day\n");
    put(src, "fine.txt", "same bytes, long lock\n");
    put(src, "new.txt", "not there yet\n");
    // The destination already holds three of them (another tool, an earlier attempt).
    put(dst, "unlocked.txt", "same bytes, no lock\n");
    put(dst, "short.txt", "same bytes, one day\n", Retention{LockMode::compliance, days_from_now(1)});
    put(dst, "fine.txt", "same bytes, long lock\n", Retention{LockMode::compliance, days_from_now(30)});

    const auto r = worm_cli(migrate_args(src, dst, tmp / "state.sqlite3", {"--report", (tmp / "report.json").string()}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    const auto s = summary_of(r.out);
    CHECK(s["clean"].GetBool());
    CHECK(s["status"]["lock_applied"].GetInt() == 2);
    CHECK(s["status"]["already_present"].GetInt() == 1);
    CHECK(s["status"]["copied"].GetInt() == 1);
    CHECK(r.err.find("lock_applied: unlocked.txt: the destination already held these bytes, but the copy had no retention") !=
          std::string::npos);
    CHECK(r.err.find("lock_applied: short.txt: the destination already held these bytes, but the copy was retained only until") !=
          std::string::npos);
    for (const std::string key : {"unlocked.txt", "short.txt"}) {
        const auto h = head(dst, key);
        REQUIRE(h.retention);
        CHECK(h.retention->mode == LockMode::compliance);
        CHECK(h.retention->retain_until >= days_from_now(2, std::chrono::minutes(5)));
    }
    // The longer lock was left as it was.
    CHECK(head(dst, "fine.txt").retention->retain_until >= days_from_now(30, std::chrono::minutes(5)));
    CHECK(version_count(dst) == 4);  // nothing put twice

    // A destination without Object Lock cannot hold the lock: not clean, rc 1, and said why.
    const std::string plain = peer().create_bucket("mrplain", false);
    put(plain, "unlocked.txt", "same bytes, no lock\n");
    const auto refused = worm_cli(migrate_args(src, plain, tmp / "plain.sqlite3", {"--include", "unlocked.txt"}));
    CHECK_MESSAGE(refused.exit_code == 1, refused.out << refused.err);
    const auto rs = summary_of(refused.out);
    CHECK_FALSE(rs["clean"].GetBool());
    CHECK(rs["status"]["not_compliant"].GetInt() == 1);
    CHECK(refused.err.find("not_compliant: unlocked.txt: the destination already held these bytes, but the copy had no retention; "
                           "the lock asked could not be applied") != std::string::npos);
}

TEST_CASE("a re-run confirms its state against the stores: a changed source is a mismatch, lost copies are copied again") {
    const std::string src = peer().create_bucket("mrsrc", false), dst = peer().create_bucket("mrdst", true);
    t::TempDir tmp("worm-it-migrate-rerun");
    for (const std::string key : {"a.txt", "b.txt", "c.txt"}) put(src, key, "first bytes of " + key + "\n");
    const auto args = migrate_args(src, dst, tmp / "state.sqlite3", {"--lock-mode", "GOVERNANCE"});
    const auto first = worm_cli(args);
    REQUIRE_MESSAGE(first.exit_code == 0, first.out << first.err);
    CHECK(summary_of(first.out)["status"]["copied"].GetInt() == 3);

    // (a) The source changes after the copy: the re-run does not take the state's word.
    put(src, "b.txt", "other bytes now\n");
    const auto changed = worm_cli(args);
    CHECK_MESSAGE(changed.exit_code == 1, changed.out << changed.err);
    const auto cs = summary_of(changed.out);
    CHECK_FALSE(cs["clean"].GetBool());
    CHECK(cs["status"]["mismatched"].GetInt() == 1);
    CHECK(cs["status"]["copied"].GetInt() == 2);
    CHECK(changed.err.find("mismatched: b.txt: the destination already holds sha256") != std::string::npos);
    put(src, "b.txt", "first bytes of b.txt\n");  // back as it was: only (b) below is tested next

    // (b) The destination loses every copy (GOVERNANCE lets the test remove them): the
    // re-run with the same state puts them back instead of reporting them copied.
    s3::ListVersionsOptions lv;
    lv.bucket = dst;
    for (const auto& v : client().list_all_object_versions(lv))
        client().delete_object({.bucket = dst, .key = v.key, .version_id = v.version_id, .bypass_governance = true});
    REQUIRE(version_count(dst) == 0);
    const auto again = worm_cli(args);
    REQUIRE_MESSAGE(again.exit_code == 0, again.out << again.err);
    const auto as = summary_of(again.out);
    CHECK(as["clean"].GetBool());
    CHECK(as["status"]["copied"].GetInt() == 3);
    CHECK(version_count(dst) == 3);
    for (const std::string key : {"a.txt", "b.txt", "c.txt"}) CHECK(head(dst, key).retention.has_value());

    // A re-run with nothing changed confirms and copies nothing.
    const auto quiet = worm_cli(args);
    REQUIRE_MESSAGE(quiet.exit_code == 0, quiet.out << quiet.err);
    CHECK(summary_of(quiet.out)["status"]["copied"].GetInt() == 3);
    CHECK(version_count(dst) == 3);
}

TEST_CASE("a state file belongs to one source, destination and endpoint; the default one is named after the endpoints") {
    const std::string src = peer().create_bucket("mrsrc", false), dst = peer().create_bucket("mrdst", true);
    t::TempDir tmp("worm-it-migrate-rerun");
    put(src, "a.txt", "a\n");
    const auto first = worm_cli(migrate_args(src, dst, tmp / "state.sqlite3"));
    REQUIRE_MESSAGE(first.exit_code == 0, first.out << first.err);
    // The same bucket names through another name of the server stand for another server.
    std::string other = peer().endpoint();
    const std::size_t host = other.find("127.0.0.1");
    REQUIRE(host != std::string::npos);
    other.replace(host, 9, "localhost");
    const auto refused = worm_cli(migrate_args(src, dst, tmp / "state.sqlite3"), cli_env(other));
    CHECK(refused.exit_code != 0);
    CHECK_MESSAGE(refused.err.find("belongs to the migration from s3://" + src) != std::string::npos, refused.err);
    CHECK(refused.err.find("use another --state FILE") != std::string::npos);

    // Without --state, each endpoint gets its own file (in MIGRATION_PROGRESS_DIR here).
    auto env = cli_env();
    env.push_back("MIGRATION_PROGRESS_DIR=" + (tmp / "progress").string());
    auto env_other = cli_env(other);
    env_other.push_back("MIGRATION_PROGRESS_DIR=" + (tmp / "progress").string());
    const std::vector<std::string> no_state{"migrate", "--from", "s3://" + src, "--to", "s3://" + dst, "--retain-days", "2", "--quiet"};
    REQUIRE(worm_cli(no_state, env).exit_code == 0);
    REQUIRE(worm_cli(no_state, env_other).exit_code == 0);
    std::size_t states = 0;
    for (const auto& e : fs::directory_iterator(tmp / "progress"))
        states += e.path().extension() == ".sqlite3";
    CHECK(states == 2);
}

TEST_CASE("a second run on a state file in use is refused at once, before it writes anything") {
    const std::string src = peer().create_bucket("mrsrc", false), dst = peer().create_bucket("mrdst", true);
    t::TempDir tmp("worm-it-migrate-rerun");
    put(src, "a.txt", "a\n");
    // Another run holds the state (its lock, as `worm migrate` takes it).
    const fs::path state = tmp / "state.sqlite3";
    const int fd = ::open((state.string() + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
    const auto r = worm_cli(migrate_args(src, dst, state));
    ::close(fd);
    CHECK(r.exit_code != 0);
    CHECK_MESSAGE(r.err.find("is in use by another migration run") != std::string::npos, r.err);
    CHECK(version_count(dst) == 0);
    // Once it is free, the run goes.
    CHECK(worm_cli(migrate_args(src, dst, state)).exit_code == 0);
}

TEST_CASE("the seed's flags and variables: --source/--dest/--max-workers/--report-file, MIGRATION_*, migration_log_*.log") {
    const std::string src = peer().create_bucket("mrsrc", false), dst = peer().create_bucket("mrdst", true);
    t::TempDir tmp("worm-it-migrate-rerun");
    for (int i = 0; i < 5; ++i) put(src, "k" + std::to_string(i) + ".txt", "body " + std::to_string(i) + "\n");
    auto env = cli_env();
    env.push_back("MIGRATION_BATCH_SIZE=2");
    env.push_back("MIGRATION_MAX_WORKERS=3");
    env.push_back("MIGRATION_PROGRESS_DIR=" + (tmp / "progress").string());
    const auto r = worm_cli({"migrate", "--source", "s3://" + src, "--dest", "s3://" + dst, "--retain-days", "2",
                             "--max-workers", "2", "--report-file", (tmp / "report.json").string(), "--env", "dev", "--quiet"},
                            env);
    REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(summary_of(r.out)["status"]["copied"].GetInt() == 5);
    CHECK(fs::exists(tmp / "report.json"));
    fs::path log;
    for (const auto& e : fs::directory_iterator(tmp / "progress"))
        if (e.path().filename().string().starts_with("migration_log_")) log = e.path();
    REQUIRE_MESSAGE(!log.empty(), "no migration_log_*.log in MIGRATION_PROGRESS_DIR");
    const std::string text = t::read_file(log);
    std::size_t lines = 0, batches = 0;
    std::string last;
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t nl = text.find('\n', at);
        last = text.substr(at, nl - at);
        const auto line = t::parse_json(last);  // every line is one JSON object
        CHECK(std::string(line["environment"].GetString()) == "dev");
        if (std::string(line["message"].GetString()).starts_with("Processing batch")) ++batches;
        ++lines;
        at = nl + 1;
    }
    CHECK(batches == 3);  // 5 objects, MIGRATION_BATCH_SIZE=2
    CHECK(last.find("\"message\":\"Migration complete: clean\"") != std::string::npos);

    // A bad variable is named.
    auto bad = cli_env();
    bad.push_back("MIGRATION_BATCH_SIZE=many");
    const auto refused = worm_cli(migrate_args(src, dst, tmp / "s2.sqlite3"), bad);
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find("MIGRATION_BATCH_SIZE must be a whole number") != std::string::npos);
}

TEST_CASE("rollback removes a GOVERNANCE trial run's copies and says what COMPLIANCE keeps") {
    const std::string src = peer().create_bucket("mrsrc", false), dst = peer().create_bucket("mrdst", true);
    t::TempDir tmp("worm-it-migrate-rerun");
    put(src, "trial/a.txt", "a\n");
    put(src, "trial/b.txt", "b\n");
    put(src, "final/c.txt", "c\n");
    put(dst, "trial/b.txt", "b\n");  // already there before the migration: not its to remove
    const auto trial = worm_cli(migrate_args(src, dst, tmp / "trial.sqlite3",
                                             {"--prefix", "trial/", "--lock-mode", "GOVERNANCE", "--report", (tmp / "trial.json").string()}));
    REQUIRE_MESSAGE(trial.exit_code == 0, trial.out << trial.err);

    const auto dry = worm_cli({"migrate", "rollback", "--to", "s3://" + dst, "--report", (tmp / "trial.json").string(), "--dry-run"});
    CHECK_MESSAGE(dry.exit_code == 0, dry.out << dry.err);
    CHECK(dry.out.find("would_remove trial/a.txt") != std::string::npos);
    CHECK(version_count(dst) == 2);

    const auto rolled = worm_cli({"migrate", "rollback", "--to", "s3://" + dst, "--report-file", (tmp / "trial.json").string()});
    CHECK_MESSAGE(rolled.exit_code == 0, rolled.out << rolled.err);
    CHECK(rolled.out.find("removed trial/a.txt") != std::string::npos);
    CHECK(version_count(dst) == 1);  // the b.txt that was there before stays
    CHECK(head(dst, "trial/b.txt").size == 2);

    const auto final_run = worm_cli(migrate_args(src, dst, tmp / "final.sqlite3", {"--prefix", "final/", "--report", (tmp / "final.json").string()}));
    REQUIRE_MESSAGE(final_run.exit_code == 0, final_run.out << final_run.err);
    const auto kept = worm_cli({"migrate", "rollback", "--to", "s3://" + dst, "--report", (tmp / "final.json").string()});
    CHECK(kept.exit_code == 1);
    CHECK_MESSAGE(kept.out.find("kept_compliance final/c.txt") != std::string::npos, kept.out);
    CHECK(kept.out.find("COMPLIANCE mode keeps it until ") != std::string::npos);
    CHECK(head(dst, "final/c.txt").retention.has_value());

    // Not a migration report: named, nothing removed.
    write_file_atomic(tmp / "other.json", "{\"result\":\"clean\"}");
    const auto bad = worm_cli({"migrate", "rollback", "--to", "s3://" + dst, "--report", (tmp / "other.json").string()});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("is not a migration report") != std::string::npos);
}
