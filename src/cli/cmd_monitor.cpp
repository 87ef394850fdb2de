// `worm monitor`: the daily compliance check for cron (seed 002 runs it at 2 AM):
// registry health (the seed 000 alerts), the bucket's configuration (`worm bucket verify`'s
// checks, for an s3:// store), objects without retention, and objects whose retention ends
// within N days. Prints one JSON summary; on a problem exits 1 and POSTs a
// JSON alert (environment, failed checks, summary, recommended actions) to --webhook.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdlib>
#include <iostream>

#include "commands.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/http.hpp"
#include "worm/registry.hpp"
#include "worm/s3/store.hpp"
#include "worm/uploader.hpp"

namespace worm::cli {

namespace fs = std::filesystem;

namespace {

struct Check {
    std::string name;
    bool ok = true;
    std::string detail;
    std::string action;  // what an operator should do when it failed
};

// One monitor check per failed `worm bucket verify` row, or a single passing row.
void add_bucket_checks(s3::S3Store& store, int min_retention_days, std::vector<Check>& checks) {
    compliance::BucketVerifyOptions options;
    options.bucket = store.bucket();
    options.min_retention_days = min_retention_days;
    options.sample = 0;  // every object's lock is checked below
    const compliance::BucketVerification v = compliance::verify_bucket(store.client(), options);
    std::size_t failed = 0;
    for (const auto& c : v.checks) {
        if (c.status != compliance::CheckStatus::fail) continue;
        ++failed;
        checks.push_back({"bucket_" + c.id, false, c.title + ": observed " + c.observed + ", expected " + c.expected,
                          "fix the bucket configuration (`worm bucket setup --store s3://" + store.bucket() +
                              "`); Object Lock can only be enabled when a bucket is created"});
    }
    if (failed == 0)
        checks.push_back({"bucket_configuration", true,
                          std::to_string(v.checks.size()) + " bucket checks passed or not supported by the server", ""});
}

std::string alert_json(const std::string& environment, const std::vector<Check>& checks, std::int64_t objects,
                       std::int64_t expiring) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("environment");
    w.String(environment.c_str());
    w.Key("time");
    w.String(format_rfc3339(system_clock().now()).c_str());
    bool ok = true;
    for (const auto& c : checks) ok &= c.ok;
    w.Key("ok");
    w.Bool(ok);
    w.Key("failed_checks");
    w.StartArray();
    for (const auto& c : checks)
        if (!c.ok) {
            w.StartObject();
            w.Key("check");
            w.String(c.name.c_str());
            w.Key("detail");
            w.String(c.detail.c_str());
            w.EndObject();
        }
    w.EndArray();
    w.Key("summary");
    w.StartObject();
    w.Key("checks");
    w.Uint64(checks.size());
    w.Key("objects_checked");
    w.Int64(objects);
    w.Key("expiring");
    w.Int64(expiring);
    for (const auto& c : checks) {
        w.Key(c.name.c_str());
        w.String(c.ok ? "ok" : "failed");
    }
    w.EndObject();
    w.Key("recommended_actions");
    w.StartArray();
    for (const auto& c : checks)
        if (!c.ok) w.String(c.action.c_str());
    w.EndArray();
    w.EndObject();
    return buf.GetString();
}

int run_monitor(const ParsedArgs& a) {
    const int days = number_option(a, "--expiring-within-days", 30, 0, WormConfig::maximum_retention_days, "days");
    const int min_retention_days = number_option(a, "--min-retention-days", default_retention_days, 0, WormConfig::maximum_retention_days, "days");
    if (!a.has("--evidence-dir") && !a.has("--store"))
        throw UsageError("give --evidence-dir DIR (registry health) and/or --store URL (retention)");
    std::vector<Check> checks;
    std::int64_t objects = 0, expiring = 0;

    if (auto dir = a.get("--evidence-dir")) {
        if (!fs::is_directory(*dir)) throw Error(ErrorCode::config, "evidence directory " + *dir + " does not exist");
        WormUploader uploader(WormConfig::from_env(), nullptr, std::make_shared<UploadRegistry>(fs::path(*dir)));
        const UploaderStats s = uploader.stats();
        checks.push_back({"backlog", !s.health.backlog_high, std::to_string(s.pending_count + s.failed_count) + " bundles not yet in WORM storage",
                          "run `worm sync`; check that the store is reachable"});
        checks.push_back({"repeated_failures", !s.health.repeated_failures,
                          std::to_string(s.consecutive_failures) + " consecutive failures; last error: " + s.last_error,
                          "read `worm status` last error; fix credentials or the endpoint, then `worm sync`"});
        checks.push_back({"stale_pending", !s.health.stale_pending,
                          s.oldest_pending_age_s ? "oldest pending " + std::to_string(static_cast<long>(*s.oldest_pending_age_s)) + " s" : "none pending",
                          "a bundle has waited over 24 h: run `worm sync` and investigate its error"});
    }
    if (auto url = a.get("--store")) {
        auto store = open_store(*url);
        if (auto* bucket = dynamic_cast<s3::S3Store*>(store.get())) add_bucket_checks(*bucket, min_retention_days, checks);
        const TimePoint horizon = system_clock().now() + std::chrono::days(days);
        std::vector<std::string> unlocked, soon;
        for (const auto& o : store->list_all(a.value_or("--prefix", ""))) {
            ++objects;
            const ObjectInfo info = store->head(o.key);
            if (!info.retention) unlocked.push_back(o.key);
            else if (info.retention->retain_until <= horizon) soon.push_back(o.key);
        }
        expiring = static_cast<std::int64_t>(soon.size());
        checks.push_back({"retention_present", unlocked.empty(),
                          std::to_string(unlocked.size()) + " objects without retention" +
                              (unlocked.empty() ? "" : " (first: " + unlocked.front() + ")"),
                          "set retention on them (`worm retention set`) and check the bucket's default retention"});
        checks.push_back({"retention_expiring", soon.empty(),
                          std::to_string(soon.size()) + " objects whose retention ends within " + std::to_string(days) +
                              " days" + (soon.empty() ? "" : " (first: " + soon.front() + ")"),
                          "extend retention where records must be kept longer (`worm retention set`)"});
    }

    const std::string environment = a.value_or("--environment", std::getenv("WORM_ENVIRONMENT") ? std::getenv("WORM_ENVIRONMENT") : "default");
    const std::string alert = alert_json(environment, checks, objects, expiring);
    bool ok = true;
    for (const auto& c : checks) {
        ok &= c.ok;
        if (!c.ok) std::cerr << "worm monitor: FAILED " << c.name << ": " << c.detail << "\n";
    }
    std::cout << alert << "\n";
    if (!ok) {
        if (auto webhook = a.get("--webhook")) {
            HttpRequest request;
            request.method = "POST";
            request.url = *webhook;
            request.headers = {{"Content-Type", "application/json"}};
            request.body = alert;
            const HttpResponse response = make_curl_transport()->send(request);
            if (response.status < 200 || response.status >= 300)
                throw Error(ErrorCode::network, "the webhook answered HTTP " + std::to_string(response.status));
        }
    }
    return ok ? exit_ok : exit_verification_failed;
}

}  // namespace

std::vector<Command> monitor_commands() {
    return {{{"monitor", "", "daily compliance check: registry health and retention; alert a webhook on a problem",
              {{"--evidence-dir", "DIR", "check the upload registry's health (backlog, failures, stale bundles)"},
               {"--store", "URL", "check every object's retention in this store (and, for s3://, the bucket's configuration)"},
               {"--min-retention-days", "N", "s3:// stores: the bucket's default retention must be at least N days (default " + std::to_string(default_retention_days) + ")"},
               {"--prefix", "PREFIX", "only objects under PREFIX"},
               {"--expiring-within-days", "N", "flag retention ending within N days (default 30)"},
               {"--webhook", "URL", "POST the JSON alert here when a check fails"},
               {"--environment", "NAME", "environment named in the alert (default $WORM_ENVIRONMENT or 'default')"}},
              0, 0,
              "Prints one JSON object (environment, failed_checks, summary, recommended_actions).\n"
              "Exit 0 when every check passes, 1 when one fails, 3 when the store or webhook cannot be reached.\n"
              "For an s3:// store the bucket's configuration is checked as by `worm bucket verify`: each failed\n"
              "check is a failed `bucket_<id>` check in the alert."},
             run_monitor}};
}

}  // namespace worm::cli
