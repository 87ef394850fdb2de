// EvidencePipeline under concurrency and crashes (docs/pipeline-durability.md): threads
// sharing one pipeline (group commit), processes sharing one evidence directory, batches
// (process_incidents) against one-by-one, kill -9 in the middle of a bundle, and a counter
// rolled back or lost (a power loss): ids stay unique and no id whose files exist is reused.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "support/child_processes.hpp"
#include "support/error_code.hpp"
#include "support/test_env.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/pipeline.hpp"
#include "worm/signer.hpp"

using namespace worm;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

struct Fixture {
    t::TempDir dir{"worm-pipeline-conc"};
    KeyPaths keys = generate_key_files(dir / "keys");
    fs::path evidence = dir / "evidence";

    PipelineOptions options(bool durable) const {
        PipelineOptions o;
        o.client_id = "test-client-001";
        o.evidence_dir = evidence;
        o.private_key_path = keys.private_key;
        o.durable = durable;
        return o;
    }
};

IncidentInputs sample_inputs(const std::string& example = "backup-success") {
    const fs::path d = t::source_dir() / "examples" / "data" / example;
    return load_incident_inputs({.incident = d / "incident.json", .runbook = d / "runbook.json",
                                 .execution = d / "execution.json", .actions = d / "actions.json",
                                 .artifacts = d / "artifacts.json"});
}

// Every bundle id with a .json in dir; checks that each .json has a valid .sig and that
// nothing else (no temporary file) is left in the directory. A .sig without its .json is
// allowed only when killed_ids is given (a process killed between the two links: the .json
// is linked last), and its id goes there.
std::set<std::string> check_directory(const fs::path& dir, const Ed25519PublicKey& key,
                                      std::set<std::string>* killed_ids = nullptr) {
    std::set<std::string> ids;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        // The counter, its lock, and the counter's one temporary name (left by a kill mid-write).
        if (name.starts_with(BundleIdAllocator::kCounterFile) || name == BundleIdAllocator::kLockFile) continue;
        CAPTURE(name);
        if (name.ends_with(".sig")) {
            const std::string id = name.substr(0, name.size() - 4);
            if (killed_ids && !fs::exists(dir / (id + ".json")))
                killed_ids->insert(id);
            else
                CHECK(fs::exists(dir / (id + ".json")));
            continue;
        }
        REQUIRE(name.ends_with(".json"));
        const VerificationReport report = verify_bundle_files(entry.path(), {}, key);
        CHECK_MESSAGE(report.ok(), report.summary());
        ids.insert(name.substr(0, name.size() - 5));
    }
    return ids;
}

std::string today() { return format_amz_day(system_clock().now()); }

}  // namespace

TEST_CASE("threads sharing one durable pipeline: group commit, every id unique, every bundle valid") {
    Fixture f;
    EvidencePipeline pipeline(f.options(/*durable=*/true));
    constexpr int kThreads = 8, kEach = 6;
    std::vector<std::vector<std::string>> ids(kThreads);
    std::vector<std::string> errors(kThreads);
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < kThreads; ++i)
            threads.emplace_back([&, i] {
                try {
                    for (int k = 0; k < kEach; ++k) {
                        if (k % 3 == 2) {  // batches and single calls mixed
                            std::vector<IncidentInputs> batch;
                            batch.push_back(sample_inputs());
                            batch.push_back(sample_inputs("backup-failed"));
                            for (const auto& r : pipeline.process_incidents(std::move(batch))) ids[i].push_back(r.bundle_id);
                        } else {
                            ids[i].push_back(pipeline.process_incident(sample_inputs()).bundle_id);
                        }
                    }
                } catch (const std::exception& e) {
                    errors[i] = e.what();
                }
            });
    }
    std::set<std::string> returned;
    for (int i = 0; i < kThreads; ++i) {
        CHECK(errors[i] == "");
        CHECK(std::is_sorted(ids[i].begin(), ids[i].end()));  // each caller sees its ids increase
        returned.insert(ids[i].begin(), ids[i].end());
    }
    const std::size_t total = kThreads * (kEach + kEach / 3);
    CHECK(returned.size() == total);
    CHECK(check_directory(f.evidence, pipeline.public_key()) == returned);
}

TEST_CASE("process_incidents writes what process_incident writes, one by one") {
    Fixture f;
    const FixedClock clock(parse_rfc3339("2025-11-01T10:00:00Z"));
    PipelineOptions one = f.options(true), batch = f.options(true);
    one.clock = batch.clock = &clock;
    one.evidence_dir = f.dir / "one";
    batch.evidence_dir = f.dir / "batch";
    const std::vector<std::string> examples = {"backup-success", "backup-failed", "backup-success"};

    std::vector<BundleResult> singles;
    {
        EvidencePipeline pipeline(one);
        for (const auto& e : examples) singles.push_back(pipeline.process_incident(sample_inputs(e)));
    }
    EvidencePipeline pipeline(batch);
    std::vector<IncidentInputs> inputs;
    for (const auto& e : examples) inputs.push_back(sample_inputs(e));
    const std::vector<BundleResult> batched = pipeline.process_incidents(std::move(inputs));

    REQUIRE(batched.size() == singles.size());
    for (std::size_t i = 0; i < singles.size(); ++i) {
        CAPTURE(i);
        CHECK(batched[i].bundle_id == singles[i].bundle_id);
        CHECK(batched[i].evidence_bundle_hash == singles[i].evidence_bundle_hash);
        CHECK(batched[i].bundle_path.filename() == singles[i].bundle_path.filename());
        CHECK(read_file(batched[i].bundle_path) == read_file(singles[i].bundle_path));
        CHECK(read_file(batched[i].sig_path) == read_file(singles[i].sig_path));  // Ed25519 is deterministic
    }
    CHECK(batched[0].bundle_id == "EB-20251101-0001");
    CHECK(batched[2].bundle_id == "EB-20251101-0003");
    CHECK(pipeline.process_incidents({}).empty());
}

TEST_CASE("a bad incident in a batch names its index and nothing of the batch is written") {
    Fixture f;
    EvidencePipeline pipeline(f.options(false));
    std::vector<IncidentInputs> batch;
    batch.push_back(sample_inputs());
    batch.push_back(parse_incident_inputs(R"({"incident": {"event_type": "backup_failure"}})"));
    const std::string msg = t::error_of([&] { pipeline.process_incidents(std::move(batch)); }, ErrorCode::invalid_argument);
    CHECK(msg.rfind("incident #1: ", 0) == 0);
    CHECK(check_directory(f.evidence, pipeline.public_key()).empty());
}

TEST_CASE("processes sharing one evidence directory allocate unique ids") {
    Fixture f;
    fs::create_directories(f.evidence);
    constexpr int kChildren = 4, kRounds = 3;
    std::vector<std::string> all;
    for (const auto& ids : t::lines_from_children(f.dir.path(), kChildren, [&](int) {
             EvidencePipeline pipeline(f.options(true));
             std::string out;
             for (int r = 0; r < kRounds; ++r) {
                 out += pipeline.process_incident(sample_inputs()).bundle_id + "\n";
                 std::vector<IncidentInputs> batch;
                 for (int k = 0; k < 3; ++k) batch.push_back(sample_inputs());
                 for (const auto& res : pipeline.process_incidents(std::move(batch))) out += res.bundle_id + "\n";
             }
             return out;
         }))
        all.insert(all.end(), ids.begin(), ids.end());
    CHECK(all.size() == static_cast<std::size_t>(kChildren * kRounds * 4));
    const std::set<std::string> distinct(all.begin(), all.end());
    CHECK(distinct.size() == all.size());
    const auto key = load_public_key(f.keys.public_key);
    CHECK(check_directory(f.evidence, key) == distinct);
    // Every process gave back the unused part of its lease or left a gap: never an overlap,
    // and a new pipeline continues after all of them.
    EvidencePipeline after(f.options(false));
    CHECK(after.process_incident(sample_inputs()).bundle_id > *distinct.rbegin());
}

TEST_CASE("kill -9 in the middle of bundles, then a rolled-back or lost counter: no id is ever reused") {
    Fixture f;
    fs::create_directories(f.evidence);
    std::set<std::string> returned;  // ids whose process_incident returned to the caller
    std::mt19937 rng(14);            // fixed: the kill delays are the same each run
    std::string early_counter;
    for (int round = 0; round < 6; ++round) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        const pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(fds[0]);
            try {
                EvidencePipeline pipeline(f.options(true));
                for (;;) {  // until killed
                    const std::string line = pipeline.process_incident(sample_inputs()).bundle_id + "\n";
                    if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(1);
                }
            } catch (...) {
                _exit(1);
            }
        }
        ::close(fds[1]);
        // Wait for the first bundle, then kill at a random point of the following ones
        // (most of a durable bundle's time is between writing its files and its commit).
        std::string got;
        char buf[256];
        while (got.find('\n') == std::string::npos) {
            const ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        const int delay_us = std::uniform_int_distribution<int>(0, 20000)(rng);
        CAPTURE(delay_us);
        ::usleep(static_cast<useconds_t>(delay_us));
        ::kill(pid, SIGKILL);
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));  // it did not fail on its own
        for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
        ::close(fds[0]);
        std::istringstream in(got);
        for (std::string id; std::getline(in, id);) {
            CAPTURE(id);
            CHECK(returned.insert(id).second);  // never handed out twice
        }
        if (round == 1) early_counter = read_file(f.evidence / BundleIdAllocator::kCounterFile);
    }
    const auto key = load_public_key(f.keys.public_key);
    // Complete and valid, no temporaries. It may hold more than was returned: a bundle
    // committed just before the kill, whose caller never got the answer.
    std::set<std::string> killed_ids;  // a .sig whose .json was never linked
    std::set<std::string> on_disk = check_directory(f.evidence, key, &killed_ids);
    for (const auto& id : returned) CHECK(on_disk.count(id) == 1);  // what returned is there
    for (const auto& id : killed_ids) CHECK(returned.count(id) == 0);

    // A power loss can roll the counter back to an older state, or lose it: the ids handed
    // out next never collide with a bundle on disk.
    const fs::path counter = f.evidence / BundleIdAllocator::kCounterFile;
    for (const std::string& state : {early_counter, std::string(today() + " 0\n"), std::string()}) {
        CAPTURE(state);
        if (state.empty())
            fs::remove(counter);
        else
            write_file_atomic(counter, state);
        EvidencePipeline pipeline(f.options(true));
        std::vector<IncidentInputs> batch;
        batch.push_back(sample_inputs());
        batch.push_back(sample_inputs());
        std::vector<std::string> fresh;
        for (const auto& r : pipeline.process_incidents(std::move(batch))) fresh.push_back(r.bundle_id);
        fresh.push_back(pipeline.process_incident(sample_inputs()).bundle_id);
        for (const auto& id : fresh) {
            CAPTURE(id);
            CHECK(on_disk.insert(id).second);  // not the id of any bundle already on disk
            CHECK(killed_ids.count(id) == 0);  // nor of a killed one's signature
        }
    }
    std::set<std::string> killed_after;
    CHECK(check_directory(f.evidence, key, &killed_after) == on_disk);
    CHECK(killed_after == killed_ids);
}

TEST_CASE("a bundle's .json is named after its signature files: a kill between two links leaves no unsigned .json") {
    Fixture f;
    PipelineOptions o = f.options(true);
    o.sigstore_bundle = true;
    EvidencePipeline pipeline(o);
    // The names appear in the directory in the order the pipeline links them.
    const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    REQUIRE(watch >= 0);
    REQUIRE(::inotify_add_watch(watch, f.evidence.c_str(), IN_CREATE) >= 0);
    const BundleResult r = pipeline.process_incident(sample_inputs());
    std::vector<std::string> named;
    alignas(inotify_event) char buf[64 * 1024];
    for (ssize_t n; (n = ::read(watch, buf, sizeof buf)) > 0;) {
        for (ssize_t at = 0; at < n;) {
            const auto* event = reinterpret_cast<const inotify_event*>(buf + at);
            const std::string name = event->len ? event->name : "";
            if (name.starts_with(r.bundle_id)) named.push_back(name);
            at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        }
    }
    ::close(watch);
    CHECK(named == std::vector<std::string>{r.bundle_id + ".sig", r.bundle_id + ".sigstore.json", r.bundle_id + ".json"});
}

TEST_CASE("an id whose file appears after it was allocated is skipped: the exclusive link is the reservation") {
    Fixture f;
    const FixedClock clock(parse_rfc3339("2025-11-01T10:00:00Z"));
    PipelineOptions o = f.options(false);
    o.clock = &clock;
    o.sigstore_bundle = true;
    EvidencePipeline pipeline(o);
    CHECK(pipeline.process_incident(sample_inputs()).bundle_id == "EB-20251101-0001");
    // The allocator checks .json and .sig; a .sigstore.json of the next id (another writer,
    // a restored backup) is only found when the bundle's files are linked.
    write_file_atomic(f.evidence / "EB-20251101-0002.sigstore.json", "{}");
    const BundleResult r = pipeline.process_incident(sample_inputs());
    CHECK(r.bundle_id == "EB-20251101-0003");
    CHECK(json::parse_strict(read_file(r.bundle_path))["bundle_id"].GetString() == std::string("EB-20251101-0003"));
    CHECK(verify_bundle_files(r.bundle_path, {}, pipeline.public_key()).ok());
    CHECK(verify_bundle_files(r.bundle_path, r.sigstore_path, pipeline.public_key()).ok());
    CHECK_FALSE(fs::exists(f.evidence / "EB-20251101-0002.json"));  // its partial names were taken back
    CHECK_FALSE(fs::exists(f.evidence / "EB-20251101-0002.sig"));
    CHECK(read_file(f.evidence / "EB-20251101-0002.sigstore.json") == "{}");
}
