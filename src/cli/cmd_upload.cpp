// Upload commands: sync, status, config check, registry import/export.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "commands.hpp"
#include "worm/platform_env.hpp"
#include "worm/config.hpp"
#include "worm/json.hpp"
#include "worm/metrics.hpp"
#include "worm/registry.hpp"
#include "worm/uploader.hpp"

namespace worm::cli {

namespace fs = std::filesystem;

namespace {

const OptionSpec evidence_dir_option{"--evidence-dir", "DIR", "the evidence directory (holds the registry)", true};

fs::path existing_evidence_dir(const ParsedArgs& a) {
    const fs::path dir = a.require("--evidence-dir");
    if (!fs::is_directory(dir)) throw Error(ErrorCode::config, "evidence directory " + dir.string() + " does not exist");
    return dir;
}

// Draws "[#####.....] 120/500  uploaded 118  failed 2" on one terminal line.
void draw_progress(const SyncProgress& p) {
    constexpr int width = 30;
    const int filled = p.total ? static_cast<int>(width * p.done / p.total) : width;
    std::cerr << "\r[" << std::string(static_cast<size_t>(filled), '#') << std::string(static_cast<size_t>(width - filled), '.')
              << "] " << p.done << "/" << p.total << "  uploaded " << p.uploaded << "  failed " << p.failed << std::flush;
}

int run_sync(const ParsedArgs& a) {
    const fs::path dir = existing_evidence_dir(a);
    const WormConfig config = WormConfig::from_env();
    std::shared_ptr<ObjectStore> store = open_uploader_store(a, config);
    UploaderOptions options;
    options.replica = replica_store_from_env();
    const bool tty = ::isatty(STDERR_FILENO) && !a.has("--quiet");
    if (tty) options.on_progress = draw_progress;
    WormUploader uploader(config, store, std::make_shared<UploadRegistry>(dir), options);
    // Signed bundles the registry does not know (a registry restored or rebuilt) are queued too.
    if (const auto queued = uploader.reconcile(dir); !queued.empty())
        std::cout << "sync: registered " << queued.size() << " signed bundles the registry did not know\n";
    const SyncResult r = uploader.sync();
    if (tty) std::cerr << "\n";
    for (const auto& e : r.errors) std::cerr << "  failed: " << e << "\n";
    std::cout << "sync: uploaded " << r.uploaded << ", failed " << r.failed << ", pending " << r.pending;
    if (options.replica) std::cout << ", replicated " << r.replicated << ", replica failed " << r.replica_failed;
    std::cout << "\n";
    return r.failed == 0 && r.pending == 0 && r.replica_failed == 0 ? exit_ok : exit_storage;
}

// "-", or "2026-11-22T18:14:37.123Z (current) <message>" / "... (resolved: everything
// registered before it has been uploaded since) <message>".
std::string describe_last_error(const UploaderStats& s) {
    if (s.last_error.empty()) return "-";
    const std::string when = s.last_error_at ? format_rfc3339_millis(*s.last_error_at) : "(time unknown)";
    return when + (s.last_error_current ? " (current) " : " (resolved: everything registered before it is uploaded) ") +
           s.last_error;
}

int run_status(const ParsedArgs& a) {
    const fs::path dir = existing_evidence_dir(a);
    // Status reads the registry only: it works while the store is unreachable.
    UploaderOptions options;
    options.replica = replica_store_from_env();  // opening a store sends nothing
    const auto registry = std::make_shared<UploadRegistry>(dir);
    WormUploader uploader(WormConfig::from_env(), nullptr, registry, options);
    const UploaderStats s = uploader.stats();
    // Signed bundles on disk that the registry does not know: not uploaded, and not counted
    // above. Status is not healthy while there are any (sync registers and uploads them).
    const std::size_t unregistered = uploader.unregistered_bundles(dir).size();
    const bool healthy = s.health.ok() && unregistered == 0;
    const std::string format = a.has("--json") ? "json" : a.value_or("--format", "table");
    if (format != "table" && format != "json" && format != "prometheus")
        throw UsageError("--format must be table, json or prometheus, got '" + format + "'");
    if (format == "prometheus") {
        // For node_exporter's textfile collector: always exit 0 once written, the alerts are metrics.
        std::cout << uploader_metrics(s, registry->recent_attempts(), options);
        return exit_ok;
    }
    if (format == "json") {
        // The uploader's members, then what only this command counts.
        const rapidjson::Document stats = json::parse_strict(s.to_json(), "status");
        json::Writer w;
        w.begin_object();
        for (const auto& m : stats.GetObject()) w.member(std::string_view(m.name.GetString(), m.name.GetStringLength()), m.value);
        w.member("unregistered_bundles", unregistered).member("healthy", healthy).end_object();
        std::cout << w.take() << "\n";
    } else {
        auto row = [](const std::string& name, const std::string& value) {
            std::string n = name;
            n.resize(24, ' ');
            std::cout << n << value << "\n";
        };
        row("enabled", s.enabled ? "yes" : "no");
        row("mode", std::string(to_string(s.mode)));
        row("uploaded", std::to_string(s.total_uploaded));
        row("pending", std::to_string(s.pending_count));
        row("unregistered", std::to_string(unregistered));
        row("failed", std::to_string(s.failed_count));
        row("oldest pending", s.oldest_pending_age_s ? std::to_string(static_cast<long>(*s.oldest_pending_age_s)) + " s" : "-");
        row("consecutive failures", std::to_string(s.consecutive_failures));
        // Seed 000's metrics to track.
        const auto fixed = [](double v, const char* unit) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.1f%s", v, unit);
            return std::string(buf);
        };
        row("success rate", s.upload_success_rate ? fixed(*s.upload_success_rate, " %") : "-");
        row("queue depth", std::to_string(s.pending_queue_depth));
        row("latency (mean/max)", s.upload_latency ? fixed(*s.upload_latency, " s / ") + fixed(*s.upload_latency_max, " s")
                                                   : "-");
        row("retried bundles", std::to_string(s.retry_count));
        row("last error", describe_last_error(s));
        if (s.replica_configured) {
            row("replica store", std::getenv("WORM_REPLICA_STORE"));
            row("replica behind", std::to_string(s.replica_behind));
        }
        std::string health = healthy ? "ok" : "";
        if (unregistered > 0)
            health += "ALERT " + std::to_string(unregistered) +
                      " signed bundles are not in the registry (worm sync registers and uploads them); ";
        if (s.health.backlog_high) health += "ALERT more than 10 bundles waiting; ";
        if (s.health.repeated_failures) health += "ALERT more than 3 consecutive failures; ";
        if (s.health.stale_pending) health += "ALERT a bundle has waited over 24 h; ";
        row("health", health);
    }
    return healthy ? exit_ok : exit_storage;
}

int run_config_check(const ParsedArgs&) {
    const WormConfig config = WormConfig::from_env();
    const PlatformEnv platform = PlatformEnv::from_env();  // seed 002's variables
    std::cout << with_platform_section(config.describe_masked(), platform) << "\n";
    auto problems = config.check();
    for (auto& p : platform.problems()) problems.push_back(std::move(p));
    for (const auto& p : problems) std::cerr << "worm config check: " << p << "\n";
    return problems.empty() ? exit_ok : exit_usage;
}

int run_registry_import(const ParsedArgs& a) {
    UploadRegistry registry(existing_evidence_dir(a));
    const ImportResult r = registry.import_json(a.positionals()[0]);
    json::Writer w;
    w.begin_object().member("imported", r.imported).member("updated", r.updated).member("unchanged", r.unchanged);
    w.end_object();
    std::cout << w.take() << "\n";
    return exit_ok;
}

// A damaged or emptied registry is set aside (never deleted: it may still be read by hand)
// and a new one lists every signed bundle in the directory as pending; the next sync
// uploads them, and accepts the ones already stored after checking their bytes and lock.
int run_registry_rebuild(const ParsedArgs& a) {
    const fs::path dir = existing_evidence_dir(a);
    std::optional<fs::path> aside;
    try {
        UploadRegistry check(dir);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::integrity) throw;
        aside = UploadRegistry::set_aside(dir, system_clock().now());
    }
    WormUploader uploader(WormConfig::from_env(), nullptr, std::make_shared<UploadRegistry>(dir));
    const auto queued = uploader.reconcile(dir);
    json::Writer w;
    w.begin_object().key("set_aside");
    if (aside) w.value(aside->string()); else w.null();
    w.member("queued", queued.size()).end_object();
    std::cout << w.take() << "\n";
    return exit_ok;
}

int run_registry_export(const ParsedArgs& a) {
    UploadRegistry registry(existing_evidence_dir(a));
    registry.export_json(a.positionals()[0]);
    return exit_ok;
}

}  // namespace

std::shared_ptr<ObjectStore> replica_store_from_env() {
    const char* url = std::getenv("WORM_REPLICA_STORE");
    if (!url || !*url) return nullptr;
    return open_store(url);
}

std::shared_ptr<ObjectStore> open_uploader_store(const ParsedArgs& a, const WormConfig& config) {
    if (auto url = a.get("--store")) return open_store(*url);
    if (!config.enabled)
        throw Error(ErrorCode::config, "WORM upload is not enabled: set WORM_ENABLED=true (and WORM_MODE) or pass --store URL");
    config.validate();
    return open_configured_store(config);
}

std::vector<Command> upload_commands() {
    std::vector<Command> c;
    c.push_back({{"sync", "", "upload every pending or failed bundle, verified, exactly once",
                  {evidence_dir_option,
                   with_help(not_required(store_option), "store to upload to (default: from WORM_* configuration)"),
                   {"--quiet", "", "no progress bar"}},
                  0, 0,
                  "Shows a progress bar on a terminal and ends with one summary line.\n"
                  "Exit 0 when nothing is left to upload, 3 when some bundles still failed."},
                 run_sync});
    c.push_back({{"status", "", "show upload statistics and health from the registry",
                  {evidence_dir_option, {"--json", "", "one JSON object instead of a table (--format json)"},
                   {"--format", "FMT", "table (default), json, or prometheus (text exposition for node_exporter)"}},
                  0, 0, "Exit 0 when healthy, 3 when an alert is raised (--format prometheus: always 0)."},
                 run_status});
    c.push_back({{"config check", "", "print the resolved WORM_* configuration (secrets masked) and its problems",
                  {}, 0, 0,
                  "\"sources\" names the variable behind each value (or \"default\"); MSP_WORM_BUCKET alone\n"
                  "turns direct uploads on (seed 001). Exit 0 when the configuration is valid, 2 otherwise."},
                 run_config_check});
    c.push_back({{"registry import", "FILE", "import an agent's .upload_registry.json (unknown fields kept)",
                  {evidence_dir_option}, 1, 1, ""},
                 run_registry_import});
    c.push_back({{"registry rebuild", "", "register every signed bundle the registry lacks; set a damaged registry aside",
                  {evidence_dir_option}, 0, 0,
                  "A registry that is damaged or empty (truncated) is renamed to .worm-registry.sqlite3.damaged-<time>\n"
                  "and a new one lists the signed bundles as pending; `worm sync` then uploads them (or accepts\n"
                  "the ones already stored). Prints {\"set_aside\": path or null, \"queued\": N}."},
                 run_registry_rebuild});
    c.push_back({{"registry export", "FILE", "write the registry as an agent's .upload_registry.json",
                  {evidence_dir_option}, 1, 1, ""},
                 run_registry_export});
    return c;
}

}  // namespace worm::cli
