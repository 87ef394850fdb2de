// `worm logs verify` and its library function: a clean stream is valid; a deleted, edited,
// reordered, duplicated, extra or truncated batch and a bad checkpoint signature are each
// named. The logs are written by AuditLogSink into a LocalWormStore without retention, so
// the test can tamper with them as someone with write access to an unlocked bucket could.
#include <doctest/doctest.h>

#include <thread>

#include "support/test_env.hpp"
#include "worm/audit_log.hpp"
#include "worm/audit_log/format.hpp"
#include "worm/audit_log/verify.hpp"
#include "worm/error.hpp"
#include "worm/signer.hpp"
#include "worm/storage/local.hpp"

using namespace worm;
using namespace std::chrono_literals;
namespace t = worm::test;
namespace al = worm::audit_log;

namespace {

// 16 records, one a second from 2026-11-26T10:00:00Z, through a sink with options o (2 per
// batch, 3 batches per checkpoint: 8 batches, 3 checkpoints); returns the stream id.
std::string log_sixteen_records(const std::shared_ptr<ObjectStore>& store, const AuditLogOptions& o) {
    AuditLogSink sink(store, o);
    for (int n = 0; n < 16; ++n)
        sink.log_json(R"({"timestamp":"2026-11-26T10:00:)" + std::string(n < 10 ? "0" : "") + std::to_string(n) +
                      R"(.000Z","request_id":"req-)" + std::to_string(n) + R"(","message":"event )" +
                      std::to_string(n) + R"("})");
    REQUIRE(sink.close(30s));
    return sink.stats().stream;
}

struct Logs {
    t::TempDir dir{"worm-audit-verify"};
    std::shared_ptr<LocalWormStore> store =
        std::make_shared<LocalWormStore>(dir / "store", system_clock(), LocalStoreOptions{.durable = false});
    KeyPaths keys = generate_key_files(dir / "keys");
    std::string stream;
    std::vector<std::string> batch_keys;  // by sequence

    explicit Logs(bool sign = true) {
        AuditLogOptions o;
        o.service_name = "camera_service";
        o.journal_mode = JournalMode::memory;
        o.max_records = 2;
        o.checkpoint_batches = 3;
        o.retention_days = 0;
        if (sign) o.signing_key = std::make_shared<const Ed25519PrivateKey>(load_private_key(keys.private_key));
        stream = log_sixteen_records(store, o);
        for (const auto& o : store->list_all("audit-logs/"))
            if (auto b = al::parse_batch_key(o.key)) {
                if (batch_keys.size() <= b->sequence) batch_keys.resize(b->sequence + 1);
                batch_keys[b->sequence] = o.key;
            }
        REQUIRE(batch_keys.size() == 8);
    }

    // Writes bytes (and the original metadata of `like`) as a new version of key.
    void overwrite(const std::string& key, const std::string& bytes, const std::string& like) {
        PutOptions o;
        o.metadata = store->head(like).metadata;
        store->put(key, PutBody::from_bytes(bytes), o);
    }

    al::VerifyReport verify(bool with_key = true) {
        al::VerifyOptions o;
        if (with_key) o.public_key = load_public_key(keys.public_key);
        return al::verify_audit_log(*store, o);
    }

    t::CommandResult cli(std::vector<std::string> args) {
        args.insert(args.begin(), {t::cli_path(), "logs"});
        args.push_back("--store");
        args.push_back("file://" + (dir / "store").string());
        return t::run_command(args);
    }
};

// The kinds of problems found, in report order.
std::vector<al::ProblemKind> kinds(const al::VerifyReport& r) {
    std::vector<al::ProblemKind> out;
    for (const auto& p : r.problems) out.push_back(p.kind);
    return out;
}

bool names(const al::VerifyReport& r, al::ProblemKind kind, const std::string& key) {
    for (const auto& p : r.problems)
        if (p.kind == kind && p.key == key) return true;
    return false;
}

}  // namespace

TEST_CASE("a clean signed stream is valid, from the library and the CLI") {
    Logs logs;
    const auto report = logs.verify();
    CHECK(report.valid());
    CHECK(report.batches_verified == 8);
    CHECK(report.records_verified == 16);
    CHECK(report.first_timestamp == "2026-11-26T10:00:00.000Z");
    CHECK(report.last_timestamp == "2026-11-26T10:00:15.000Z");
    REQUIRE(report.streams.size() == 1);
    CHECK(report.streams[0].checkpoints == 3);
    CHECK(report.streams[0].signed_checkpoints);
    CHECK(report.newest_checkpoint_age.has_value());

    const auto r = logs.cli({"verify", "--key", logs.keys.public_key.string()});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verified 8 batches, 16 records") != std::string::npos);
    CHECK(r.out.find("VALID") != std::string::npos);
    CHECK(r.out.find("; signed") != std::string::npos);

    SUBCASE("--max-age warns when the newest checkpoint is older, as after a deleted tail") {
        CHECK(logs.cli({"verify", "--max-age", "3600"}).out.find("WARNING") == std::string::npos);
        std::this_thread::sleep_for(std::chrono::milliseconds(1100));
        const auto old = logs.cli({"verify", "--max-age", "0"});
        CHECK(old.exit_code == 0);  // a warning: the stream itself is valid
        CHECK(old.out.find("WARNING: the newest checkpoint is ") != std::string::npos);
        CHECK(old.out.find("more than --max-age 0 s") != std::string::npos);
        CHECK(logs.cli({"verify", "--max-age", "soon"}).exit_code == 2);
    }
    SUBCASE("a time window verifies only the batches inside it") {
        al::VerifyOptions o;
        o.from = parse_rfc3339("2026-11-26T10:00:04Z");
        o.to = parse_rfc3339("2026-11-26T10:00:07Z");
        const auto windowed = al::verify_audit_log(*logs.store, o);
        CHECK(windowed.valid());
        CHECK(windowed.batches_verified == 2);
    }
    SUBCASE("logs cat prints every record in order, filtered by service and time") {
        const auto all = logs.cli({"cat"});
        CHECK(all.exit_code == 0);
        CHECK(std::count(all.out.begin(), all.out.end(), '\n') == 16);
        CHECK(all.out.find("event 0\"") < all.out.find("event 15\""));
        CHECK(logs.cli({"cat", "--service", "other"}).out.empty());
        const auto late = logs.cli({"cat", "--from", "2026-11-26T10:00:14Z"});
        CHECK(std::count(late.out.begin(), late.out.end(), '\n') == 2);
        CHECK(logs.cli({"cat", "--from", "yesterday"}).exit_code == 2);
    }
}

TEST_CASE("verify names each kind of tampering") {
    Logs logs;
    const auto& k = logs.batch_keys;

    SUBCASE("a deleted batch") {
        logs.store->remove(k[4]);
        const auto r = logs.verify();
        CHECK(kinds(r) == std::vector{al::ProblemKind::missing});
        CHECK(names(r, al::ProblemKind::missing, k[4]));
        const auto cli = logs.cli({"verify", "--key", logs.keys.public_key.string()});
        CHECK(cli.exit_code == 1);
        CHECK(cli.out.find("MISSING: " + k[4]) != std::string::npos);
        CHECK(cli.out.find("INVALID") != std::string::npos);
    }
    SUBCASE("an edited batch") {
        std::string body = logs.store->get(k[2]);
        body.replace(body.find("event"), 5, "EVENT");
        logs.overwrite(k[2], body, k[2]);
        const auto r = logs.verify();
        CHECK(kinds(r) == std::vector{al::ProblemKind::modified});
        CHECK(names(r, al::ProblemKind::modified, k[2]));
        // logs cat does not print an edited record as if it were stored (issue 25 item 12).
        const auto refused = logs.cli({"cat"});
        CHECK(refused.exit_code == 1);
        CHECK(refused.out.empty());
        CHECK(refused.err.find("fail verification, first " + k[2]) != std::string::npos);
        const auto marked = logs.cli({"cat", "--unverified"});
        CHECK(marked.exit_code == 0);
        CHECK(std::count(marked.out.begin(), marked.out.end(), '\n') == 16);
        CHECK(marked.out.find("UNVERIFIED {") != std::string::npos);
        CHECK(marked.out.find("UNVERIFIED {") < marked.out.find("EVENT"));
        std::size_t marked_lines = 0;
        for (auto at = marked.out.find("UNVERIFIED {"); at != std::string::npos; at = marked.out.find("UNVERIFIED {", at + 1))
            ++marked_lines;
        CHECK(marked_lines == 2);  // the edited batch's two records, and only those
    }
    SUBCASE("a reordered pair") {
        const std::string one = logs.store->get(k[1]), two = logs.store->get(k[2]);
        logs.overwrite(k[1], two, k[2]);
        logs.overwrite(k[2], one, k[1]);
        const auto r = logs.verify();
        CHECK(kinds(r) == std::vector{al::ProblemKind::reordered, al::ProblemKind::reordered});
        CHECK(names(r, al::ProblemKind::reordered, k[1]));
        CHECK(names(r, al::ProblemKind::reordered, k[2]));
    }
    SUBCASE("a duplicate") {
        const std::string copy = al::batch_key("audit-logs", "2026-11-26T10:00:06Z", "req-copy", logs.stream, 3);
        logs.overwrite(copy, logs.store->get(k[3]), k[3]);
        const auto r = logs.verify();
        CHECK(kinds(r) == std::vector{al::ProblemKind::duplicated});
        CHECK(names(r, al::ProblemKind::duplicated, copy));
    }
    SUBCASE("an extra batch") {
        const std::string foreign = al::batch_key("audit-logs", "2026-11-26T10:00:06Z", "req-x", "ffffffffffffffff", 0);
        logs.overwrite(foreign, logs.store->get(k[0]), k[0]);
        // and one that claims to continue the stream but does not chain
        const std::string next = al::batch_key("audit-logs", "2026-11-26T10:00:20Z", "req-y", logs.stream, 8);
        logs.overwrite(next, logs.store->get(k[5]), k[5]);
        const auto r = logs.verify();
        CHECK(kinds(r) == std::vector{al::ProblemKind::extra, al::ProblemKind::extra});
        CHECK(names(r, al::ProblemKind::extra, foreign));
        CHECK(names(r, al::ProblemKind::extra, next));
    }
    SUBCASE("the newest batch deleted (covered by a checkpoint)") {
        logs.store->remove(k[7]);
        const auto r = logs.verify();
        CHECK(kinds(r) == std::vector{al::ProblemKind::truncated});
        CHECK(names(r, al::ProblemKind::truncated, k[7]));
    }
    SUBCASE("a checkpoint signed by another key") {
        const auto cp = al::checkpoint_key("audit-logs", logs.stream, 1);
        const auto sig = cp.substr(0, cp.size() - 5) + ".sig";
        const auto other = Ed25519PrivateKey::generate();
        logs.store->put(sig, PutBody::from_bytes(make_signature_line(other, logs.store->get(cp))), {});
        const auto r = logs.verify();
        CHECK(names(r, al::ProblemKind::bad_signature, cp));
        // The next checkpoint chains to the original signature, so the chain breaks too.
        CHECK(names(r, al::ProblemKind::bad_checkpoint, al::checkpoint_key("audit-logs", logs.stream, 2)));
    }
    SUBCASE("a deleted checkpoint") {
        logs.store->remove(al::checkpoint_key("audit-logs", logs.stream, 1));
        const auto r = logs.verify();
        CHECK_FALSE(r.valid());
        CHECK(names(r, al::ProblemKind::missing, al::checkpoint_key("audit-logs", logs.stream, 1)));
    }
}

TEST_CASE("an unsigned stream is chained but not signed") {
    Logs logs(false);
    const auto without_key = logs.verify(false);
    CHECK(without_key.valid());
    REQUIRE(without_key.streams.size() == 1);
    CHECK_FALSE(without_key.streams[0].signed_checkpoints);
    CHECK(al::format_report(without_key).find("chained but not signed") != std::string::npos);
    // With a key, unsigned checkpoints are a problem.
    const auto with_key = logs.verify(true);
    CHECK_FALSE(with_key.valid());
    CHECK(with_key.problems.front().kind == al::ProblemKind::bad_signature);
    CHECK(logs.cli({"verify"}).exit_code == 0);
    CHECK(logs.cli({"verify", "--key", logs.keys.public_key.string()}).exit_code == 1);
    CHECK(logs.cli({"verify", "--key", (logs.dir / "nope.pem").string()}).exit_code == 2);
}

namespace {

// A signed stream written by a disk-mode sink whose journal directory and second store hold
// witnesses; its objects are locked GOVERNANCE, so the tail is deleted as an attacker with the
// bypass permission would: each version, with bypass_governance.
struct WitnessedLogs {
    t::TempDir dir{"worm-audit-witness"};
    std::shared_ptr<LocalWormStore> store =
        std::make_shared<LocalWormStore>(dir / "store", system_clock(), LocalStoreOptions{.durable = false});
    std::shared_ptr<LocalWormStore> witness_store =
        std::make_shared<LocalWormStore>(dir / "witness", system_clock(), LocalStoreOptions{.durable = false});
    KeyPaths keys = generate_key_files(dir / "keys");
    std::filesystem::path journal = dir / "journal";
    std::string stream;

    WitnessedLogs() {
        AuditLogOptions o;
        o.service_name = "camera_service";
        o.journal_dir = journal;
        o.fsync_interval = 0ms;
        o.max_records = 2;
        o.checkpoint_batches = 3;
        o.retention_days = 1;
        o.signing_key = std::make_shared<const Ed25519PrivateKey>(load_private_key(keys.private_key));
        o.witness_store = witness_store;
        stream = log_sixteen_records(store, o);
    }

    void bypass_delete(const std::string& key) {
        const std::string version = store->head(key).version_id;
        store->remove(key, DeleteOptions{.version_id = version, .bypass_governance = true});
    }

    // Deletes checkpoint `sequence` (and its signature) and every batch it covers.
    void delete_checkpoint_and_batches(std::uint64_t sequence) {
        const std::string cp = al::checkpoint_key("audit-logs", stream, sequence);
        for (const auto& e : al::parse_checkpoint(store->get(cp)).batches) bypass_delete(e.key);
        bypass_delete(cp);
        bypass_delete(cp.substr(0, cp.size() - 5) + ".sig");
    }

    al::VerifyReport verify(std::vector<al::Witness> witnesses, bool with_key = true) {
        al::VerifyOptions o;
        if (with_key) o.public_key = load_public_key(keys.public_key);
        o.witnesses = std::move(witnesses);
        return al::verify_audit_log(*store, o);
    }

    t::CommandResult cli(std::vector<std::string> args) {
        args.insert(args.begin(), {t::cli_path(), "logs", "verify", "--store", "file://" + (dir / "store").string()});
        return t::run_command(args);
    }
};

}  // namespace

TEST_CASE("the witness: a deleted tail is TRUNCATED, a deleted stream DELETED, an untouched one VALID") {
    WitnessedLogs logs;
    const std::string witness_url = "file://" + (logs.dir / "witness").string();
    const al::Witness local = al::read_witness_file(logs.journal);
    CHECK(local.stream == logs.stream);
    CHECK(local.checkpoint_sequence == 2);  // 8 batches, 3 per checkpoint: 0-2, 3-5, 6-7
    CHECK(local.last_batch_sequence == 7);
    CHECK(local.records == std::optional<std::uint64_t>(16));
    const auto stored = al::read_witness_store(*logs.witness_store, "audit-logs");
    REQUIRE(stored.size() == 1);
    CHECK(stored[0].checkpoint_sha256 == local.checkpoint_sha256);
    // Locked in the second store, like the batches.
    const auto witness_key = al::witness_key("audit-logs", logs.stream, 2);
    REQUIRE(logs.witness_store->head(witness_key).retention.has_value());
    CHECK_THROWS(logs.witness_store->remove(
        witness_key, DeleteOptions{.version_id = logs.witness_store->head(witness_key).version_id}));

    SUBCASE("untouched: valid with either witness") {
        CHECK(logs.verify({local}).valid());
        CHECK(logs.verify(stored).valid());
        const auto r = logs.cli({"--witness", logs.journal.string(), "--key", logs.keys.public_key.string()});
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("checked against 1 witness head(s)") != std::string::npos);
        CHECK(r.out.find("\nVALID") != std::string::npos);
        CHECK(logs.cli({"--witness", witness_url}).exit_code == 0);
    }
    SUBCASE("the newest checkpoint and its batches deleted with GOVERNANCE bypass") {
        CHECK_THROWS(logs.store->remove(al::checkpoint_key("audit-logs", logs.stream, 2),
                                        DeleteOptions{.version_id = logs.store->head(al::checkpoint_key(
                                                                                         "audit-logs", logs.stream, 2))
                                                                        .version_id}));  // locked without bypass
        logs.delete_checkpoint_and_batches(2);
        CHECK(logs.verify({}).valid());  // the blind spot a witness closes
        const auto r = logs.verify({local});
        CHECK(kinds(r) == std::vector{al::ProblemKind::truncated});
        CHECK(r.problems[0].detail.find("ends at checkpoint 1") != std::string::npos);
        CHECK(kinds(logs.verify(stored)) == std::vector{al::ProblemKind::truncated});
        for (const auto& where : {logs.journal.string(), (logs.journal / "witness.json").string(), witness_url}) {
            const auto cli = logs.cli({"--witness", where});
            CHECK(cli.exit_code == 1);
            CHECK(cli.out.find("TRUNCATED: " + al::checkpoint_key("audit-logs", logs.stream, 2)) != std::string::npos);
            CHECK(cli.out.find("INVALID") != std::string::npos);
        }
    }
    SUBCASE("only the newest checkpoint deleted: its batches are left unchecked") {
        const std::string cp = al::checkpoint_key("audit-logs", logs.stream, 2);
        logs.bypass_delete(cp);
        logs.bypass_delete(cp.substr(0, cp.size() - 5) + ".sig");
        CHECK(logs.verify({}).valid());
        CHECK(kinds(logs.verify({local})) == std::vector{al::ProblemKind::truncated});
    }
    SUBCASE("a whole stream deleted") {
        for (int cp = 2; cp >= 0; --cp) logs.delete_checkpoint_and_batches(static_cast<std::uint64_t>(cp));
        CHECK(logs.store->list_all("audit-logs").empty());
        CHECK(logs.verify({}).valid());
        CHECK(kinds(logs.verify({local})) == std::vector{al::ProblemKind::deleted});
        const auto cli = logs.cli({"--witness", witness_url});
        CHECK(cli.exit_code == 1);
        CHECK(cli.out.find("DELETED: ") != std::string::npos);
        CHECK(cli.out.find("(stream " + logs.stream + ")") != std::string::npos);
    }
    SUBCASE("an edited witness is refused, naming the field") {
        std::string text = t::read_file(logs.journal / "witness.json");
        const std::string from = "\"checkpoint_sequence\":2", to = "\"checkpoint_sequence\":9";
        REQUIRE(text.find(from) != std::string::npos);
        text.replace(text.find(from), from.size(), to);
        t::write_file(logs.journal / "witness.json", text);
        CHECK_THROWS_WITH_AS(al::read_witness_file(logs.journal), doctest::Contains("was altered: its checkpoint_sequence is 9"),
                             Error);
        const auto cli = logs.cli({"--witness", logs.journal.string()});
        CHECK(cli.exit_code != 0);
        CHECK(cli.exit_code != 1);  // an error, not a verdict on the logs
        CHECK(cli.err.find("was altered") != std::string::npos);
    }
    SUBCASE("a witness of another chain: a mismatch, and with --key a checkpoint not signed by it") {
        // A consistent witness of a checkpoint the stream never stored (same stream and
        // sequence, other bytes): an unsigned forgery, or a witness from another store.
        std::string forged = local.checkpoint;
        forged.replace(forged.find("\"created_at\":\"") + 14, 4, "1999");
        const al::Witness other = al::make_witness(forged, "", 0);
        const auto r = logs.verify({other}, false);
        CHECK(kinds(r) == std::vector{al::ProblemKind::witness_mismatch});
        CHECK(r.problems[0].detail.find("another chain") != std::string::npos);
        CHECK_THROWS_WITH_AS(logs.verify({other}, true), doctest::Contains("holds an unsigned checkpoint"), Error);
        t::write_file(logs.dir / "other.json", al::serialize_witness(other));
        const auto cli = logs.cli({"--witness", (logs.dir / "other.json").string()});
        CHECK(cli.exit_code == 1);
        CHECK(cli.out.find("WITNESS MISMATCH: ") != std::string::npos);
    }
}
