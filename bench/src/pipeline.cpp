// Scenarios 2 and 3: the evidence pipeline on one core (build -> canonical hash -> write
// .json -> Ed25519 sign -> write .sig), and verification (signature + hash [+ schema]).
//
// Same work as anchors/pipeline.py and anchors/verify.py: the seed-shaped bundle, its hash
// over the canonical form (RFC 8785 here, sorted compact JSON there), pretty-printed
// bytes on disk, the signature over exactly those bytes.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"

#if defined(WORM_BENCH_HAVE_JSON) && defined(WORM_BENCH_HAVE_BUNDLE) && defined(WORM_BENCH_HAVE_SIGNER)
#include "bundle_shape.hpp"
#include "worm/bundle_json.hpp"
#include "worm/ed25519.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/signer.hpp"
#define WORM_BENCH_HAVE_PIPELINE 1
#ifdef WORM_BENCH_HAVE_EVIDENCE_PIPELINE
#include "worm/pipeline.hpp"
#endif
#endif

namespace bench {
namespace {

#ifdef WORM_BENCH_HAVE_PIPELINE
// One bundle through the pipeline; returns the bytes written as the .json.
std::string build_and_hash(long long i) {
    rapidjson::Document doc;
    BundleShape::make(doc, i);
    const std::string hash = worm::compute_bundle_hash(doc);
    doc.AddMember("evidence_bundle_hash", rapidjson::Value(hash.c_str(), doc.GetAllocator()), doc.GetAllocator());
    return worm::json::to_pretty(doc);
}
#endif

// The product path: worm::EvidencePipeline::process_incident from the agent's incident
// inputs (JSON text): allocate the id (leased from the flock'd counter), build, validate the
// schema, hash, write .json, sign, write .sig, read both back and verify signature, hash and
// schema, then commit (fsync files and directory when durable).
// --threads T: T threads share one pipeline (their fsyncs are group-committed);
// --procs P: P processes, each with its own pipeline on the same evidence directory;
// --batch B: each caller hands B incidents at a time to process_incidents.
// Prints bundles/s over all callers.
int run_pipeline_full(const Args& args, long long n, bool fsync, const std::filesystem::path& dir) {
#ifdef WORM_BENCH_HAVE_EVIDENCE_PIPELINE
    const int threads = static_cast<int>(std::max(1LL, args.get_int("threads", 1)));
    const int procs = static_cast<int>(std::max(1LL, args.get_int("procs", 1)));
    const long long batch = std::max(1LL, args.get_int("batch", 1));
    const auto keys = worm::generate_key_files(dir / "keys");
    rapidjson::Document shape;
    BundleShape::make(shape, 0);
    rapidjson::Document inputs_doc(rapidjson::kObjectType);
    auto& a = inputs_doc.GetAllocator();
    for (const char* section : {"incident", "runbook", "execution", "actions_taken", "artifacts"})
        inputs_doc.AddMember(rapidjson::StringRef(section), rapidjson::Value(shape[section], a), a);
    const std::string inputs_text = worm::json::to_compact(inputs_doc);
    worm::PipelineOptions options;
    options.client_id = "clinic-001";
    options.evidence_dir = dir / "evidence";
    options.private_key_path = keys.private_key;
    options.durable = fsync;

    // One caller's share of the n bundles, one by one or in batches.
    const auto work = [&](worm::EvidencePipeline& pipeline, long long count) {
        for (long long done = 0; done < count;) {
            const long long k = std::min(batch, count - done);
            if (batch == 1) {
                pipeline.process_incident(worm::parse_incident_inputs(inputs_text));
            } else {
                std::vector<worm::IncidentInputs> items;
                for (long long i = 0; i < k; ++i) items.push_back(worm::parse_incident_inputs(inputs_text));
                pipeline.process_incidents(std::move(items));
            }
            done += k;
        }
    };
    const long long per_caller = n / (threads * procs);
    double dt = 0;
    if (procs == 1) {
        worm::EvidencePipeline pipeline(options);
        Timer timer;
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) pool.emplace_back([&] { work(pipeline, per_caller); });
        for (auto& th : pool) th.join();
        dt = timer.seconds();
    } else {
        std::filesystem::create_directories(options.evidence_dir);
        int ready[2], go[2];
        if (::pipe(ready) != 0 || ::pipe(go) != 0) throw std::runtime_error("pipe failed");
        std::vector<pid_t> pids;
        for (int p = 0; p < procs; ++p) {
            const pid_t pid = ::fork();
            if (pid < 0) throw std::runtime_error("fork failed");
            if (pid == 0) {  // child: build its pipeline, say ready, wait for go, work
                int rc = 0;
                try {
                    ::close(ready[0]);
                    ::close(go[1]);
                    worm::EvidencePipeline pipeline(options);
                    char c = 'r';
                    if (::write(ready[1], &c, 1) != 1 || ::read(go[0], &c, 1) != 0) _exit(3);
                    work(pipeline, per_caller);
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "pipeline child: %s\n", e.what());
                    rc = 1;
                }
                _exit(rc);
            }
            pids.push_back(pid);
        }
        ::close(ready[1]);
        ::close(go[0]);
        for (int p = 0; p < procs; ++p) {
            char c;
            if (::read(ready[0], &c, 1) != 1) throw std::runtime_error("a pipeline process failed to start");
        }
        Timer timer;
        ::close(go[1]);  // everyone starts now
        for (const pid_t pid : pids) {
            int status = 0;
            if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                throw std::runtime_error("a pipeline process failed");
        }
        dt = timer.seconds();
    }
    print_figure(fsync ? "libworm_pipeline_full_fsync" : "libworm_pipeline_full",
                 static_cast<double>(per_caller * threads * procs) / dt, "bundles/s");
    return 0;
#else
    (void)args, (void)n, (void)fsync, (void)dir;
    unavailable("worm/pipeline.hpp is not in this tree yet");
#endif
}

int run_pipeline(const Args& args) {
#ifdef WORM_BENCH_HAVE_PIPELINE
    const long long n = args.get_int("n", 3000);
    const bool fsync = args.flag("fsync");
    const std::filesystem::path dir = args.scratch_dir();
    if (args.flag("full")) return run_pipeline_full(args, n, fsync, dir);
    const auto key = worm::Ed25519PrivateKey::generate();
    // Atomic create-only writes always, as EvidencePipeline does (a reader never sees half
    // a bundle, an existing bundle is never replaced); with fsync the file and the
    // directory are made durable, as the library does by default.
    const worm::WriteOptions write{.durable = fsync, .no_overwrite = true};
    Timer timer;
    for (long long i = 0; i < n; ++i) {
        const std::string json = build_and_hash(i);
        char name[32];
        std::snprintf(name, sizeof name, "%07lld", i);
        worm::write_file_atomic(dir / (std::string(name) + ".json"), json, write);
        worm::write_file_atomic(dir / (std::string(name) + ".sig"), worm::make_signature_line(key, json), write);
    }
    const double dt = timer.seconds();
    print_figure(fsync ? "libworm_pipeline_fsync" : "libworm_pipeline", static_cast<double>(n) / dt, "bundles/s");
    return 0;
#else
    (void)args;
    unavailable("worm/json.hpp, worm/bundle.hpp or worm/signer.hpp is not in this tree yet");
#endif
}

// The floor under any pipeline that signs a bundle and writes two files: the Ed25519
// signature and two plain (non-atomic) file creations, with no build, hash or
// serialization at all. With --fsync, the fewest durable operations: each file fsynced
// and one directory fsync per bundle (the directory opened once). Neither libworm nor the
// anchor does less file work per bundle (one caller, one bundle at a time).
int run_pipeline_floor(const Args& args) {
#ifdef WORM_BENCH_HAVE_PIPELINE
    const long long n = args.get_int("n", 3000);
    const bool fsync = args.flag("fsync");
    const std::filesystem::path dir = args.scratch_dir();
    const auto key = worm::Ed25519PrivateKey::generate();
    const std::string json = build_and_hash(0);
    const auto write_plain = [fsync](const std::filesystem::path& path, std::string_view data) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()) ||
            (fsync && ::fsync(fd) != 0) || ::close(fd) != 0)
            throw std::runtime_error("cannot write " + path.string());
    };
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) throw std::runtime_error("cannot open " + dir.string());
    Timer timer;
    for (long long i = 0; i < n; ++i) {
        const std::string base = (dir / std::to_string(i)).string();
        write_plain(base + ".json", json);
        write_plain(base + ".sig", worm::make_signature_line(key, json));
        if (fsync && ::fsync(dir_fd) != 0) throw std::runtime_error("cannot fsync " + dir.string());
    }
    const double dt = timer.seconds();
    ::close(dir_fd);
    print_figure(fsync ? "limit_pipeline_floor_fsync" : "limit_pipeline_floor", static_cast<double>(n) / dt, "bundles/s");
    return 0;
#else
    (void)args;
    unavailable("worm/json.hpp, worm/bundle.hpp or worm/signer.hpp is not in this tree yet");
#endif
}

int run_verify(const Args& args) {
#ifdef WORM_BENCH_HAVE_PIPELINE
    const long long n = args.get_int("n", 3000);
    const bool schema = args.flag("schema");
    const auto key = worm::Ed25519PrivateKey::generate();
    const auto pub = key.public_key();
    std::vector<std::pair<std::string, std::string>> items;  // (.json bytes, .sig text)
    items.reserve(static_cast<std::size_t>(n));
    for (long long i = 0; i < n; ++i) {
        std::string json = build_and_hash(i);
        std::string sig = worm::make_signature_line(key, json);
        items.emplace_back(std::move(json), std::move(sig));
    }
    Timer timer;
    for (const auto& [json, sig] : items) {
        const auto check = worm::check_signature_line(pub, json, sig);
        if (!check.valid) throw std::runtime_error("signature did not verify: " + check.reason);
        const rapidjson::Document doc = worm::json::parse_strict(json, "bundle");
        const auto& stored = doc["evidence_bundle_hash"];
        if (worm::compute_bundle_hash(doc) != std::string_view(stored.GetString(), stored.GetStringLength()))
            throw std::runtime_error("hash mismatch");
        if (schema) worm::validate_bundle_schema(doc);
    }
    const double dt = timer.seconds();
    print_figure(schema ? "libworm_verify_schema" : "libworm_verify", static_cast<double>(n) / dt, "bundles/s");
    return 0;
#else
    (void)args;
    unavailable("worm/json.hpp, worm/bundle.hpp or worm/signer.hpp is not in this tree yet");
#endif
}

// Where a bundle's time goes: each step alone, in microseconds per bundle. Not a figure
// of the table; it tells which step to look at when a ratio disappoints.
int run_pipeline_steps(const Args& args) {
#ifdef WORM_BENCH_HAVE_PIPELINE
    const long long n = args.get_int("n", 2000);
    const std::filesystem::path dir = args.scratch_dir();
    const auto key = worm::Ed25519PrivateKey::generate();
    const auto pub = key.public_key();
    std::vector<rapidjson::Document> docs(static_cast<std::size_t>(n));
    std::vector<std::string> texts, sigs, hashes;
    auto per_op = [n](double seconds) { return seconds / static_cast<double>(n) * 1e6; };

    Timer t_build;
    for (long long i = 0; i < n; ++i) BundleShape::make(docs[static_cast<std::size_t>(i)], i);
    print_figure("step_build", per_op(t_build.seconds()), "us/bundle");

    Timer t_hash;
    for (auto& d : docs) hashes.push_back(worm::compute_bundle_hash(d));
    print_figure("step_canonical_hash", per_op(t_hash.seconds()), "us/bundle");

    std::size_t k = 0;
    for (auto& d : docs) d.AddMember("evidence_bundle_hash", rapidjson::Value(hashes[k++].c_str(), d.GetAllocator()), d.GetAllocator());
    Timer t_pretty;
    for (auto& d : docs) texts.push_back(worm::json::to_pretty(d));
    print_figure("step_to_pretty", per_op(t_pretty.seconds()), "us/bundle");

    Timer t_sign;
    for (const auto& t : texts) sigs.push_back(worm::make_signature_line(key, t));
    print_figure("step_sign", per_op(t_sign.seconds()), "us/bundle");

    Timer t_write;
    for (long long i = 0; i < n; ++i) {
        const auto base = dir / std::to_string(i);
        worm::write_file_atomic(base.string() + ".json", texts[static_cast<std::size_t>(i)],
                                {.durable = false, .no_overwrite = true});
        worm::write_file_atomic(base.string() + ".sig", sigs[static_cast<std::size_t>(i)],
                                {.durable = false, .no_overwrite = true});
    }
    print_figure("step_write_two_files_atomic", per_op(t_write.seconds()), "us/bundle");

    Timer t_verify;
    for (std::size_t i = 0; i < texts.size(); ++i)
        if (!worm::check_signature_line(pub, texts[i], sigs[i]).valid) throw std::runtime_error("bad signature");
    print_figure("step_verify_signature", per_op(t_verify.seconds()), "us/bundle");

    std::vector<rapidjson::Document> parsed;
    Timer t_parse;
    for (const auto& t : texts) parsed.push_back(worm::json::parse_strict(t, "bundle"));
    print_figure("step_parse_strict", per_op(t_parse.seconds()), "us/bundle");

    Timer t_canon;
    std::size_t total = 0;
    for (const auto& d : parsed) total += worm::json::canonicalize(d).size();
    keep(total);
    print_figure("step_canonicalize_only", per_op(t_canon.seconds()), "us/bundle");

    Timer t_schema;
    for (const auto& d : parsed) worm::validate_bundle_schema(d);
    print_figure("step_schema", per_op(t_schema.seconds()), "us/bundle");
    return 0;
#else
    (void)args;
    unavailable("worm/json.hpp, worm/bundle.hpp or worm/signer.hpp is not in this tree yet");
#endif
}

const Register reg_steps("pipeline-steps", "--dir D [--n N]", run_pipeline_steps);
const Register reg_floor("pipeline-floor", "--dir D [--n N] [--fsync]", run_pipeline_floor);
const Register reg_pipeline("pipeline", "--dir D [--n N] [--fsync] [--full [--threads T] [--procs P] [--batch B]]",
                                  run_pipeline);
const Register reg_verify("verify", "[--n N] [--schema]", run_verify);

}  // namespace
}  // namespace bench
