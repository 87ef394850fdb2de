// Migration commands: `worm migrate` (copy with lock, verified, resumable) and
// `worm migrate verify` (compare without copying).
#include <unistd.h>

#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

#include "commands.hpp"
#include "worm/aws/cloudwatch.hpp"
#include "worm/config.hpp"
#include "worm/crypto.hpp"
#include "worm/json.hpp"
#include "worm/migrate.hpp"
#include "worm/s3/store.hpp"

namespace worm::cli {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_globs(const std::optional<std::string>& v) {
    std::vector<std::string> out;
    if (!v) return out;
    std::size_t start = 0;
    while (start <= v->size()) {
        const std::size_t comma = v->find(',', start);
        const std::string glob = v->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!glob.empty()) out.push_back(glob);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

// The seed's (FireMode) variables: MIGRATION_BATCH_SIZE, MIGRATION_MAX_WORKERS and
// MIGRATION_PROGRESS_DIR give the defaults of --batch-size, --workers and --progress-dir.
int count_from(const ParsedArgs& a, const std::string& option, const char* variable, int fallback, int max) {
    if (a.has(option)) return number_option(a, option, fallback, 1, max);
    const auto v = process_env(variable);
    if (!v || v->empty()) return fallback;
    return whole_number(*v, variable, 1, max);
}

fs::path progress_dir(const ParsedArgs& a) {
    if (auto d = a.get("--progress-dir")) return *d;
    const auto v = process_env("MIGRATION_PROGRESS_DIR");
    return v ? fs::path(*v) : fs::path();
}

// The default state file: in the progress directory when there is one, else beside the
// evidence (and its registry) for a directory source, else in the current directory; named
// after the pair and their S3 endpoints, so two migrations never share one (the same bucket
// names on another server are other buckets).
fs::path default_state_file(const ParsedArgs& a, const std::string& from, const std::string& to, const std::string& endpoints) {
    const std::string name =
        ".worm-migrate-" + sha256_hex(from + "\n" + to + (endpoints.empty() ? "" : "\n" + endpoints)).substr(0, 12) + ".sqlite3";
    if (const fs::path dir = progress_dir(a); !dir.empty()) return dir / name;
    if (from.rfind("s3://", 0) != 0 && fs::is_directory(from)) return fs::path(from) / name;
    return name;
}

// "s3://firemode-evidence" or a directory: a bare bucket name is left to open_store's parser.
std::string endpoint_of(ObjectStore& store) {
    auto* s3 = dynamic_cast<s3::S3Store*>(&store);
    return s3 ? s3->client().config().endpoint : "";
}

// migration_log_YYYYMMDD_HHMMSS.log in the progress directory: one JSON object a line
// ({"time","level","message",...}), with the seed's messages, so its greps ("Processing
// batch", "ERROR", "Migration complete") work on it.
class MigrationLog {
public:
    MigrationLog(const fs::path& dir, std::string environment) : environment_(std::move(environment)) {
        if (dir.empty()) return;
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) throw Error(ErrorCode::io, "cannot create the progress directory " + dir.string() + ": " + ec.message());
        std::string stamp = format_rfc3339(system_clock().now());
        stamp = stamp.substr(0, 4) + stamp.substr(5, 2) + stamp.substr(8, 2) + "_" + stamp.substr(11, 2) + stamp.substr(14, 2) +
                stamp.substr(17, 2);
        path_ = dir / ("migration_log_" + stamp + ".log");
        out_.open(path_, std::ios::app);
        if (!out_) throw Error(ErrorCode::io, "cannot open the migration log " + path_.string());
    }
    const fs::path& path() const { return path_; }
    // `extra` writes the record's members after the common ones.
    void write(const std::string& level, const std::string& message,
               const std::function<void(json::Writer&)>& extra = nullptr) {
        if (!out_.is_open()) return;
        json::Writer w;
        w.begin_object().member("time", format_rfc3339(system_clock().now())).member("level", level);
        w.key("message").value_lossy(message);  // may quote a local file name that is not UTF-8
        if (!environment_.empty()) w.member("environment", environment_);
        if (extra) extra(w);
        w.end_object();
        out_ << w.take() << "\n" << std::flush;
    }

private:
    std::string environment_;
    fs::path path_;
    std::ofstream out_;
};

MigrationOptions options_from_args(const ParsedArgs& a) {
    MigrationOptions o;
    o.prefix = a.value_or("--prefix", "");
    o.dest_prefix = a.value_or("--dest-prefix", "");
    while (!o.dest_prefix.empty() && o.dest_prefix.back() == '/') o.dest_prefix.pop_back();
    o.include = split_globs(a.get("--include"));
    o.exclude = split_globs(a.get("--exclude"));
    o.workers = count_from(a, "--workers", "MIGRATION_MAX_WORKERS", 8, 256);
    o.batch_size = static_cast<std::size_t>(count_from(a, "--batch-size", "MIGRATION_BATCH_SIZE", 1000, 1'000'000));
    constexpr std::uint64_t mib = 1ull << 20;
    if (a.has("--part-size")) o.part_size = static_cast<std::uint64_t>(number_option(a, "--part-size", 16, 1, 5120)) * mib;
    if (a.has("--large-object-size"))
        o.large_object_bytes = static_cast<std::uint64_t>(number_option(a, "--large-object-size", 64, 1, 1'000'000)) * mib;
    o.lock_mode = lock_mode_arg(a).value_or(LockMode::compliance);
    o.retain_days = days_arg(a, "--retain-days");
    o.retain_until = retain_until_arg(a);
    o.retain_from_source = a.has("--retain-from-source");
    o.legal_hold = a.has("--legal-hold");
    o.dry_run = a.has("--dry-run");
    o.verify_signatures = a.has("--verify-signatures");
    if (auto key = a.get("--key")) o.public_key = *key;
    o.copy_invalid = a.has("--copy-invalid");
    o.evidence_layout = !a.has("--keep-paths");
    o.server_side = !a.has("--client-copy");
    if (a.has("--copy-multipart-above"))
        o.copy_part_above = static_cast<std::uint64_t>(number_option(a, "--copy-multipart-above", 5120, 5, 5120)) * mib;
    if (a.has("--put-back-up-to"))
        o.put_back_up_to = static_cast<std::uint64_t>(number_option(a, "--put-back-up-to", 64, 0, 5120)) << 10;
    o.trust_listing = a.has("--trust-listing");
    // Without --state, run_migrate names the file once it knows the endpoints.
    o.state_file = a.get("--state") ? fs::path(*a.get("--state")) : default_state_file(a, a.require("--from"), a.require("--to"), "");
    return o;
}

// "[#####.....] 1200/2000 objects  12.0 MB  340 obj/s  ETA 3 s" on one terminal line.
std::function<void(std::size_t, std::size_t, std::uint64_t)> progress_bar() {
    const auto start = std::chrono::steady_clock::now();
    return [start](std::size_t done, std::size_t total, std::uint64_t bytes) {
        constexpr int width = 30;
        const int filled = total ? static_cast<int>(width * done / total) : width;
        const double s = std::max(1e-3, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        const double rate = static_cast<double>(done) / s;
        char line[160];
        std::snprintf(line, sizeof line, "] %zu/%zu objects  %.1f MB  %.0f obj/s  ETA %.0f s   ", done, total,
                      static_cast<double>(bytes) / 1e6, rate, rate > 0 ? static_cast<double>(total - done) / rate : 0.0);
        std::cerr << "\r[" << std::string(static_cast<size_t>(filled), '#')
                  << std::string(static_cast<size_t>(width - filled), '.') << line << std::flush;
    };
}

int exit_for(const MigrationSummary& s) {
    if (s.clean()) return exit_ok;
    return s.by_status.count("failed") ? exit_storage : exit_verification_failed;
}

int run_migrate(const ParsedArgs& a) {
    MigrationOptions o = options_from_args(a);
    o.validate();  // before anything is opened: a usage error creates nothing
    auto source = open_migration_source(a.require("--from"), a.value_or("--source-endpoint", ""),
                                        a.value_or("--source-profile", ""));
    const std::string to = a.require("--to");
    if (auto manifest = a.get("--emit-batch-manifest")) {
        if (to.rfind("s3://", 0) != 0) throw UsageError("--emit-batch-manifest needs an s3:// destination");
        std::string bucket = to.substr(5);
        bucket = bucket.substr(0, bucket.find('/'));
        const std::size_t rows = write_batch_manifest(*source, bucket, o, *manifest);
        json::Writer w;
        w.begin_object().member("manifest", *manifest).member("job", *manifest + ".job.json").member("objects", rows);
        w.end_object();
        std::cout << w.take() << "\n";
        return exit_ok;
    }
    auto destination = open_store(to);
    if (!a.has("--state")) {
        const std::string endpoints = source->endpoint() + "\n" + endpoint_of(*destination);
        o.state_file = default_state_file(a, a.require("--from"), to, endpoints == "\n" ? "" : endpoints);
    }
    MigrationLog log(o.dry_run ? fs::path() : progress_dir(a), a.value_or("--env", ""));
    log.write("INFO", "Migration started: " + source->describe() + " -> " + to,
              [&](json::Writer& w) { w.member("state", o.state_file.string()); });
    o.on_batch = [&log](std::size_t batch, std::size_t batches, std::size_t objects) {
        log.write("INFO", "Processing batch " + std::to_string(batch) + "/" + std::to_string(batches) + " (" +
                              std::to_string(objects) + " objects)");
    };
    const bool tty = ::isatty(STDERR_FILENO) && !a.has("--quiet");
    if (tty) o.on_progress = progress_bar();
    MigrationSummary s;
    try {
        s = migrate(*source, *destination, o);
    } catch (const Error& e) {
        log.write("ERROR", std::string("Migration failed: ") + e.what());
        throw;
    }
    if (tty) std::cerr << "\n";
    for (const auto& r : s.rows) {
        if (s.dry_run) {
            std::cout << r.status << " " << r.source_key << " -> " << r.dest_key << " (" << r.size << " bytes)\n";
        } else if (r.status != "copied" && r.status != "already_present") {
            std::cerr << "  " << r.status << ": " << r.source_key << ": " << r.message << "\n";
            log.write(r.status == "lock_applied" ? "WARNING" : "ERROR", r.status + ": " + r.source_key + ": " + r.message,
                      [&](json::Writer& w) { w.key("key").value_lossy(r.source_key).member("status", r.status); });
        }
    }
    if (auto report = a.get("--report"); report && !s.dry_run) s.write_report(*report);
    const std::string summary = s.to_json_line();
    log.write(s.clean() ? "INFO" : "ERROR", std::string("Migration complete: ") + (s.clean() ? "clean" : "NOT clean"),
              [&](json::Writer& w) { w.key("summary").raw(summary); });
    std::cout << summary << "\n";
    if (const auto metric_namespace = aws::metric_namespace_from_env(); metric_namespace && !s.dry_run) {
        // Seed 002's MigrationFailures: every object neither copied nor already there.
        std::int64_t failures = 0;
        for (const auto& [status, n] : s.by_status)
            if (status != "copied" && status != "already_present") failures += static_cast<std::int64_t>(n);
        const char* environment = std::getenv("WORM_ENVIRONMENT");
        try {
            aws::publish_migration_failures(failures, environment && *environment ? environment : "default", *metric_namespace);
        } catch (const Error& e) {
            std::cerr << "worm migrate: publishing MigrationFailures to CloudWatch failed: " << e.what() << "\n";
            if (s.clean()) return exit_storage;
        }
    }
    return exit_for(s);
}

int run_migrate_rollback(const ParsedArgs& a) {
    RollbackOptions o;
    o.dry_run = a.has("--dry-run");
    o.bypass_governance = !a.has("--no-bypass-governance");
    o.workers = count_from(a, "--workers", "MIGRATION_MAX_WORKERS", 8, 256);
    auto destination = open_store(a.require("--to"));
    const std::vector<RollbackRow> rows = rollback_migration(*destination, a.require("--report"), o);
    std::map<std::string, std::size_t> by_status;
    for (const auto& r : rows) {
        ++by_status[r.status];
        std::cout << r.status << " " << r.dest_key << (r.dest_version_id.empty() ? "" : " (version " + r.dest_version_id + ")")
                  << ": " << r.message << "\n";
    }
    json::Writer w;
    w.begin_object().member("objects", rows.size()).member("dry_run", o.dry_run);
    w.key("status").begin_object();
    for (const auto& [status, count] : by_status) w.member(status, count);
    w.end_object().end_object();
    std::cout << w.take() << "\n";
    // 0: everything it wrote is gone (or would be); 1: locks keep some; 3: removals failed.
    if (by_status.count("failed")) return exit_storage;
    for (const auto& [status, count] : by_status)
        if (status.starts_with("kept_")) return exit_verification_failed;
    return exit_ok;
}

int run_migrate_verify(const ParsedArgs& a) {
    MigrationOptions o;
    o.prefix = a.value_or("--prefix", "");
    o.dest_prefix = a.value_or("--dest-prefix", "");
    o.include = split_globs(a.get("--include"));
    o.exclude = split_globs(a.get("--exclude"));
    o.workers = count_from(a, "--workers", "MIGRATION_MAX_WORKERS", 8, 256);
    o.evidence_layout = !a.has("--keep-paths");
    auto source = open_migration_source(a.require("--from"), a.value_or("--source-endpoint", ""),
                                        a.value_or("--source-profile", ""));
    auto destination = open_store(a.require("--to"));
    const MigrationSummary s = verify_migration(*source, *destination, o);
    for (const auto& r : s.rows)
        if (r.status != "ok") std::cerr << "  " << r.status << ": " << (r.source_key.empty() ? r.dest_key : r.source_key) << ": " << r.message << "\n";
    if (auto report = a.get("--report")) s.write_report(*report);
    std::cout << s.to_json_line() << "\n";
    return exit_for(s);
}

const OptionSpec from_option{"--from", "SRC", "s3://bucket[/prefix] or a local directory", true, "--source"};
const OptionSpec to_option{"--to", "URL", "destination store: s3://bucket[/prefix], file:///dir, mcp+https://host", true, "--dest"};
const std::vector<OptionSpec> selection_options = {
    {"--source-endpoint", "URL", "the source's own S3 endpoint (default: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)"},
    {"--source-profile", "NAME", "the source's own credentials profile (~/.aws/credentials)"},
    {"--prefix", "PREFIX", "only source keys starting with PREFIX"},
    {"--dest-prefix", "PREFIX", "put everything under PREFIX at the destination"},
    {"--include", "GLOB[,GLOB]", "only keys matching one of these globs"},
    {"--exclude", "GLOB[,GLOB]", "skip keys matching one of these globs"},
    {"--keep-paths", "", "directory sources: keep EB-* files at their relative path, not evidence/{client}/{YYYY}/{MM}/"},
    {"--workers", "N", "objects copied at a time (default MIGRATION_MAX_WORKERS, else 8)", false, "--max-workers"},
};

}  // namespace

std::vector<Command> migrate_commands() {
    std::vector<Command> c;
    std::vector<OptionSpec> migrate_options = {from_option, to_option};
    migrate_options.insert(migrate_options.end(), selection_options.begin(), selection_options.end());
    const std::vector<OptionSpec> more = {
        {"--batch-size", "N", "objects handed to the workers at a time (default MIGRATION_BATCH_SIZE, else 1000)"},
        {"--progress-dir", "DIR", "write migration_log_*.log (JSON lines) and the default state here (default MIGRATION_PROGRESS_DIR)"},
        {"--env", "NAME", "environment name (dev, staging, prod) recorded in the log"},
        {"--large-object-size", "MIB", "objects of at least MIB MiB are streamed and put multipart (default 64)"},
        {"--part-size", "MIB", "multipart part size in MiB, 5 to 5120 (default 16); parts resume after a kill"},
        with_help(lock_mode_option, "COMPLIANCE (default) or GOVERNANCE"),
        with_help(retain_days_option, "retain each copy N days from when it is copied"),
        with_help(retain_until_option, "retain each copy until this UTC time"),
        {"--retain-from-source", "", "keep a source object's own later retain-until (never shorten)"},
        {"--legal-hold", "", "place a legal hold on every copy"},
        {"--dry-run", "", "list what would be copied, with counts and bytes; write nothing anywhere"},
        {"--state", "FILE", "SQLite state for resuming (default .worm-migrate-<id>.sqlite3 in --progress-dir, else beside the evidence)"},
        {"--report", "FILE", "write the JSON report to FILE and the CSV (S3 Batch Operations layout) beside it", false, "--report-file"},
        {"--verify-signatures", "", "check EB-*.json signatures (.sig, .json.bundle, .sigstore.json) before copying"},
        {"--key", "PUB", "public key PEM for --verify-signatures (Ed25519 or cosign.pub ECDSA P-256)"},
        {"--copy-invalid", "", "copy evidence whose signature fails anyway (still reported)"},
        {"--copy-multipart-above", "MIB", "server-side copies above MIB MiB (5 to 5120, default 5120) go as UploadPartCopy parts of --part-size"},
        {"--put-back-up-to", "KIB", "on a server that ignores lock headers on a copy, sources it states no SHA-256 for (read to hash them) of at most KIB KiB are put back with the lock, not copied (0 to 5120, default 64; 0: always CopyObject)"},
        {"--trust-listing", "", "server-side copies of sources listed with an MD5 ETag go without a HEAD first: one CopyObject, verified by its ETag and the SHA-256 the server computes; the writer's x-amz-meta-sha256 is not checked (docs/migration.md)"},
        {"--client-copy", "", "S3 to S3 on one endpoint too: read and put every byte here (default: CopyObject on the server)"},
        {"--emit-batch-manifest", "FILE", "write an S3 Batch Operations manifest (CSV) and FILE.job.json; copy nothing"},
        {"--quiet", "", "no progress bar"}};
    migrate_options.insert(migrate_options.end(), more.begin(), more.end());
    c.push_back({{"migrate", "", "copy existing objects into a WORM store with a lock, verified and resumable",
                  migrate_options, 0, 0,
                  "Every object is read, checked against its source ETag / sha256 / agent registry, copied with the\n"
                  "lock and source metadata, then read back (or checksum-checked) and its lock confirmed. Between\n"
                  "buckets of one S3 endpoint (same credentials) the copy is server-side (CopyObject with the lock),\n"
                  "verified by the checksums the servers state instead of reading the bytes. Killed and\n"
                  "started again with the same --state, it copies nothing twice. Ends with one JSON summary line.\n"
                  "A copy already there with no lock or a weaker one gets the lock asked (lock_applied) or, when the\n"
                  "store refuses it, is not_compliant. A rerun confirms what its state says at both stores.\n"
                  "Exit 0 when clean, 1 when objects were corrupt, mismatched, badly signed or not locked as asked,\n"
                  "3 when copies failed."},
                 run_migrate});
    std::vector<OptionSpec> verify_options = {from_option, to_option};
    verify_options.insert(verify_options.end(), selection_options.begin(), selection_options.end());
    verify_options.push_back({"--report", "FILE", "write the JSON report to FILE and the CSV beside it", false, "--report-file"});
    c.push_back({{"migrate verify", "", "compare a migration's source and destination (missing, mismatched, extra)",
                  verify_options, 0, 0, "Exit 0 when every object is at the destination with the same SHA-256, 1 otherwise."},
                 run_migrate_verify});
    c.push_back({{"migrate rollback", "",
                  "remove what a migration wrote where its lock allows; say what COMPLIANCE keeps",
                  {to_option,
                   {"--report", "FILE", "the migration's JSON report (worm migrate --report FILE)", true, "--report-file"},
                   {"--dry-run", "", "say what would be removed; remove nothing"},
                   {"--no-bypass-governance", "", "keep GOVERNANCE-locked copies too (default: remove them with a bypass)"},
                   {"--workers", "N", "objects at a time (default MIGRATION_MAX_WORKERS, else 8)", false, "--max-workers"}},
                  0, 0,
                  "Removes each version the report lists as `copied` (and that still carries the migration's id):\n"
                  "unlocked, or GOVERNANCE with a governance bypass. COMPLIANCE-locked and legal-held copies stay;\n"
                  "each is listed with the date that keeps it. Exit 0 when everything written is gone, 1 when locks\n"
                  "keep some, 3 when removals failed. A GOVERNANCE trial run (--lock-mode GOVERNANCE) can be rolled back."},
                 run_migrate_rollback});
    return c;
}

}  // namespace worm::cli
