// Migration commands: `worm migrate` (copy with lock, verified, resumable) and
// `worm migrate verify` (compare without copying).
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "worm/crypto.hpp"
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

// The default state file: beside the evidence (and its registry) for a directory source,
// else in the current directory; named after the pair so two migrations never share one.
fs::path default_state_file(const std::string& from, const std::string& to) {
    const std::string name = ".worm-migrate-" + sha256_hex(from + "\n" + to).substr(0, 12) + ".sqlite3";
    if (from.rfind("s3://", 0) != 0 && fs::is_directory(from)) return fs::path(from) / name;
    return name;
}

MigrationOptions options_from_args(const ParsedArgs& a) {
    MigrationOptions o;
    o.prefix = a.value_or("--prefix", "");
    o.dest_prefix = a.value_or("--dest-prefix", "");
    while (!o.dest_prefix.empty() && o.dest_prefix.back() == '/') o.dest_prefix.pop_back();
    o.include = split_globs(a.get("--include"));
    o.exclude = split_globs(a.get("--exclude"));
    o.workers = number_option(a, "--workers", 8, 1, 256);
    o.batch_size = static_cast<std::size_t>(number_option(a, "--batch-size", 1000, 1, 1'000'000));
    constexpr std::uint64_t mib = 1ull << 20;
    if (a.has("--part-size")) o.part_size = static_cast<std::uint64_t>(number_option(a, "--part-size", 16, 1, 5120)) * mib;
    if (a.has("--large-object-size"))
        o.large_object_bytes = static_cast<std::uint64_t>(number_option(a, "--large-object-size", 64, 1, 1'000'000)) * mib;
    o.lock_mode = parse_lock_mode(a.value_or("--lock-mode", "COMPLIANCE"));
    if (auto days = a.get("--retain-days")) o.retain_days = days_value(*days, "--retain-days");
    if (auto until = a.get("--retain-until")) o.retain_until = parse_retention_date(*until);
    o.retain_from_source = a.has("--retain-from-source");
    o.legal_hold = a.has("--legal-hold");
    o.dry_run = a.has("--dry-run");
    o.verify_signatures = a.has("--verify-signatures");
    if (auto key = a.get("--key")) o.public_key = *key;
    o.copy_invalid = a.has("--copy-invalid");
    o.evidence_layout = !a.has("--keep-paths");
    o.state_file = a.get("--state") ? fs::path(*a.get("--state"))
                                    : default_state_file(a.require("--from"), a.require("--to"));
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
        std::cout << "{\"manifest\":" << json_string(*manifest) << ",\"job\":" << json_string(*manifest + ".job.json")
                  << ",\"objects\":" << rows << "}\n";
        return exit_ok;
    }
    auto destination = open_store(to);
    const bool tty = ::isatty(STDERR_FILENO) && !a.has("--quiet");
    if (tty) o.on_progress = progress_bar();
    const MigrationSummary s = migrate(*source, *destination, o);
    if (tty) std::cerr << "\n";
    for (const auto& r : s.rows) {
        if (s.dry_run) std::cout << r.status << " " << r.source_key << " -> " << r.dest_key << " (" << r.size << " bytes)\n";
        else if (r.status != "copied" && r.status != "already_present")
            std::cerr << "  " << r.status << ": " << r.source_key << ": " << r.message << "\n";
    }
    if (auto report = a.get("--report"); report && !s.dry_run) s.write_report(*report);
    std::cout << s.to_json_line() << "\n";
    return exit_for(s);
}

int run_migrate_verify(const ParsedArgs& a) {
    MigrationOptions o;
    o.prefix = a.value_or("--prefix", "");
    o.dest_prefix = a.value_or("--dest-prefix", "");
    o.include = split_globs(a.get("--include"));
    o.exclude = split_globs(a.get("--exclude"));
    o.workers = number_option(a, "--workers", 8, 1, 256);
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

const OptionSpec from_option{"--from", "SRC", "s3://bucket[/prefix] or a local directory", true};
const OptionSpec to_option{"--to", "URL", "destination store: s3://bucket[/prefix], file:///dir, mcp+https://host", true};
const std::vector<OptionSpec> selection_options = {
    {"--source-endpoint", "URL", "the source's own S3 endpoint (default: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)"},
    {"--source-profile", "NAME", "the source's own credentials profile (~/.aws/credentials)"},
    {"--prefix", "PREFIX", "only source keys starting with PREFIX"},
    {"--dest-prefix", "PREFIX", "put everything under PREFIX at the destination"},
    {"--include", "GLOB[,GLOB]", "only keys matching one of these globs"},
    {"--exclude", "GLOB[,GLOB]", "skip keys matching one of these globs"},
    {"--keep-paths", "", "directory sources: keep EB-* files at their relative path, not evidence/{client}/{YYYY}/{MM}/"},
    {"--workers", "N", "objects copied at a time (default 8)"},
};

}  // namespace

std::vector<Command> migrate_commands() {
    std::vector<Command> c;
    std::vector<OptionSpec> migrate_options = {from_option, to_option};
    migrate_options.insert(migrate_options.end(), selection_options.begin(), selection_options.end());
    const std::vector<OptionSpec> more = {
        {"--batch-size", "N", "objects handed to the workers at a time (default 1000)"},
        {"--large-object-size", "MIB", "objects of at least MIB MiB are streamed and put multipart (default 64)"},
        {"--part-size", "MIB", "multipart part size in MiB, 5 to 5120 (default 16); parts resume after a kill"},
        {"--lock-mode", "MODE", "COMPLIANCE (default) or GOVERNANCE"},
        {"--retain-days", "N", "retain each copy N days from when it is copied"},
        {"--retain-until", "RFC3339", "retain each copy until this UTC time"},
        {"--retain-from-source", "", "keep a source object's own later retain-until (never shorten)"},
        {"--legal-hold", "", "place a legal hold on every copy"},
        {"--dry-run", "", "list what would be copied, with counts and bytes; write nothing anywhere"},
        {"--state", "FILE", "SQLite state for resuming (default .worm-migrate-<id>.sqlite3 beside the evidence)"},
        {"--report", "FILE", "write the JSON report to FILE and the CSV (S3 Batch Operations layout) beside it"},
        {"--verify-signatures", "", "check EB-*.json signatures (.sig, .json.bundle, .sigstore.json) before copying"},
        {"--key", "PUB", "public key PEM for --verify-signatures (Ed25519 or cosign.pub ECDSA P-256)"},
        {"--copy-invalid", "", "copy evidence whose signature fails anyway (still reported)"},
        {"--emit-batch-manifest", "FILE", "write an S3 Batch Operations manifest (CSV) and FILE.job.json; copy nothing"},
        {"--quiet", "", "no progress bar"}};
    migrate_options.insert(migrate_options.end(), more.begin(), more.end());
    c.push_back({{"migrate", "", "copy existing objects into a WORM store with a lock, verified and resumable",
                  migrate_options, 0, 0,
                  "Every object is read, checked against its source ETag / sha256 / agent registry, copied with the\n"
                  "lock and source metadata, then read back (or checksum-checked) and its lock confirmed. Killed and\n"
                  "started again with the same --state, it copies nothing twice. Ends with one JSON summary line.\n"
                  "Exit 0 when clean, 1 when objects were corrupt, mismatched or badly signed, 3 when copies failed."},
                 run_migrate});
    std::vector<OptionSpec> verify_options = {from_option, to_option};
    verify_options.insert(verify_options.end(), selection_options.begin(), selection_options.end());
    verify_options.push_back({"--report", "FILE", "write the JSON report to FILE and the CSV beside it"});
    c.push_back({{"migrate verify", "", "compare a migration's source and destination (missing, mismatched, extra)",
                  verify_options, 0, 0, "Exit 0 when every object is at the destination with the same SHA-256, 1 otherwise."},
                 run_migrate_verify});
    return c;
}

}  // namespace worm::cli
