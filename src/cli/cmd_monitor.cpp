// `worm monitor`: the daily compliance check for cron (seed 002 runs it at 2 AM):
// registry health (the seed 000 alerts), the bucket's configuration (`worm bucket verify`'s
// checks, for an s3:// store), objects without retention, and objects whose retention ends
// within N days. Prints one JSON summary; on a problem exits 1 and sends the alert
// (environment, failed checks, summary, recommended actions) to --webhook (JSON) and to the
// SNS topic of --sns-topic / WORM_ALERTS_TOPIC_ARN (text). With --cloudwatch (or
// WORM_CLOUDWATCH_NAMESPACE) the counts go to CloudWatch in seed 002's namespace; with
// --log-dir the run is written to worm_compliance_monitor_<time>.log, the seed's log.
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>

#include "commands.hpp"
#include "worm/aws/cloudwatch.hpp"
#include "worm/aws/sns.hpp"
#include "worm/platform_env.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/http.hpp"
#include "worm/json.hpp"
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
    json::Writer w;
    w.begin_object().member("environment", environment).member("time", format_rfc3339(system_clock().now()));
    bool ok = true;
    for (const auto& c : checks) ok &= c.ok;
    w.member("ok", ok);
    w.key("failed_checks").begin_array();
    for (const auto& c : checks)
        if (!c.ok) w.begin_object().member("check", c.name).member("detail", c.detail).end_object();
    w.end_array();
    w.key("summary").begin_object();
    w.member("checks", checks.size()).member("objects_checked", objects).member("expiring", expiring);
    for (const auto& c : checks) w.member(c.name, c.ok ? "ok" : "failed");
    w.end_object();
    w.key("recommended_actions").begin_array();
    for (const auto& c : checks)
        if (!c.ok) w.value(c.action);
    w.end_array();
    w.end_object();
    return w.take();
}

// What the checks counted, for CloudWatch.
struct Counts {
    bool store_checked = false;
    std::int64_t objects = 0, unlocked = 0, expiring = 0;
    std::optional<std::int64_t> pending, oldest_pending_age_s;
};

std::vector<aws::MetricDatum> metric_data(const std::vector<Check>& checks, const Counts& n, const std::string& environment) {
    std::int64_t failed = 0;
    for (const auto& c : checks) failed += c.ok ? 0 : 1;
    const std::vector<std::pair<std::string, std::string>> dims = {{"Environment", environment}};
    std::vector<aws::MetricDatum> data = {
        {.name = "ComplianceCheckFailures", .value = static_cast<double>(failed), .dimensions = dims}};
    if (n.store_checked) {
        data.push_back({.name = "RetentionViolations", .value = static_cast<double>(n.unlocked), .dimensions = dims});
        data.push_back({.name = "ExpiringObjects", .value = static_cast<double>(n.expiring), .dimensions = dims});
    }
    if (n.pending) {
        data.push_back({.name = "PendingUploads", .value = static_cast<double>(*n.pending), .dimensions = dims});
        data.push_back({.name = "OldestPendingAgeSeconds", .value = static_cast<double>(n.oldest_pending_age_s.value_or(0)),
                        .unit = "Seconds", .dimensions = dims});
    }
    return data;
}

// The SNS message: what seed 002's alert e-mail holds, as text for people.
std::string alert_text(const std::string& environment, const std::vector<Check>& checks, const Counts& n) {
    std::string t = "WORM compliance check failed\n\nEnvironment: " + environment +
                    "\nTime: " + format_rfc3339(system_clock().now()) + "\n\nFailed checks:\n";
    std::size_t failed = 0;
    for (const auto& c : checks)
        if (!c.ok) {
            ++failed;
            t += "- " + c.name + ": " + c.detail + "\n";
        }
    t += "\nSummary: " + std::to_string(checks.size()) + " checks, " + std::to_string(checks.size() - failed) +
         " passed, " + std::to_string(failed) + " failed; " + std::to_string(n.objects) + " objects checked, " +
         std::to_string(n.expiring) + " expiring\n\nRecommended actions:\n";
    for (const auto& c : checks)
        if (!c.ok) t += "- " + c.action + "\n";
    return t;
}

// worm_compliance_monitor_<YYYYMMDD_HHMMSS>.log: the lines seed 002's runbook greps for
// ("Compliance Check Summary", "FAIL", "Sent compliance alert").
class MonitorLog {
public:
    explicit MonitorLog(const std::string& dir) {
        if (dir.empty()) return;
        if (!fs::is_directory(dir)) throw UsageError("--log-dir " + dir + " is not a directory");
        std::string stamp = format_rfc3339(system_clock().now());  // 2026-12-06T04:40:00Z
        std::erase_if(stamp, [](char c) { return c == '-' || c == ':' || c == 'Z'; });
        stamp[8] = '_';
        path_ = fs::path(dir) / ("worm_compliance_monitor_" + stamp + ".log");
        out_.open(path_, std::ios::app);
        if (!out_) throw Error(ErrorCode::io, "cannot write " + path_.string());
    }
    void line(const char* level, const std::string& text) {
        if (out_.is_open()) out_ << format_rfc3339(system_clock().now()) << " " << level << " " << text << "\n" << std::flush;
    }

private:
    fs::path path_;
    std::ofstream out_;
};

int run_monitor(const ParsedArgs& a) {
    const int days = days_arg(a, "--expiring-within-days", 0).value_or(30);
    const int min_retention_days = days_arg(a, "--min-retention-days", 0).value_or(default_retention_days);
    const PlatformEnv platform = PlatformEnv::from_env();
    std::optional<std::string> store_url = a.get("--store");
    if (!store_url && !platform.evidence_store().empty()) store_url = platform.evidence_store();
    if (!a.has("--evidence-dir") && !store_url)
        throw UsageError("give --evidence-dir DIR (registry health) and/or --store URL (retention), "
                         "or set WORM_EVIDENCE_BUCKET");
    const std::string environment =
        a.value_or("--environment", std::getenv("WORM_ENVIRONMENT") ? std::getenv("WORM_ENVIRONMENT") : "default");
    const std::optional<std::string> topic =
        a.has("--sns-topic") ? a.get("--sns-topic")
                             : (platform.get("WORM_ALERTS_TOPIC_ARN").empty() ? std::nullopt
                                                                             : std::optional(platform.get("WORM_ALERTS_TOPIC_ARN")));
    if (topic && aws::topic_region(*topic).empty())
        throw UsageError("'" + *topic + "' is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)");
    std::optional<std::string> metric_namespace = aws::metric_namespace_from_env();
    if (a.has("--cloudwatch") || a.has("--namespace"))
        metric_namespace = a.value_or("--namespace", metric_namespace.value_or(std::string(aws::default_metric_namespace)));
    MonitorLog log(a.value_or("--log-dir", std::getenv("WORM_MONITOR_LOG_DIR") ? std::getenv("WORM_MONITOR_LOG_DIR") : ""));
    log.line("INFO", "Starting WORM compliance monitoring (environment " + environment + ")");
    std::vector<Check> checks;
    Counts counts;

    if (auto dir = a.get("--evidence-dir")) {
        if (!fs::is_directory(*dir)) throw Error(ErrorCode::config, "evidence directory " + *dir + " does not exist");
        WormUploader uploader(WormConfig::from_env(), nullptr, std::make_shared<UploadRegistry>(fs::path(*dir)));
        const UploaderStats s = uploader.stats();
        counts.pending = static_cast<std::int64_t>(s.pending_count + s.failed_count);
        if (s.oldest_pending_age_s) counts.oldest_pending_age_s = static_cast<std::int64_t>(*s.oldest_pending_age_s);
        checks.push_back({"backlog", !s.health.backlog_high, std::to_string(s.pending_count + s.failed_count) + " bundles not yet in WORM storage",
                          "run `worm sync`; check that the store is reachable"});
        checks.push_back({"repeated_failures", !s.health.repeated_failures,
                          std::to_string(s.consecutive_failures) + " consecutive failures; last error: " + s.last_error,
                          "read `worm status` last error; fix credentials or the endpoint, then `worm sync`"});
        checks.push_back({"stale_pending", !s.health.stale_pending,
                          s.oldest_pending_age_s ? "oldest pending " + std::to_string(static_cast<long>(*s.oldest_pending_age_s)) + " s" : "none pending",
                          "a bundle has waited over 24 h: run `worm sync` and investigate its error"});
    }
    if (store_url) {
        auto store = open_store(*store_url);
        if (auto* bucket = dynamic_cast<s3::S3Store*>(store.get())) add_bucket_checks(*bucket, min_retention_days, checks);
        const TimePoint horizon = system_clock().now() + std::chrono::days(days);
        std::vector<std::string> unlocked, soon;
        for (const auto& o : store->list_all(a.value_or("--prefix", ""))) {
            ++counts.objects;
            const ObjectInfo info = store->head(o.key);
            if (!info.retention) unlocked.push_back(o.key);
            else if (info.retention->retain_until <= horizon) soon.push_back(o.key);
        }
        counts.expiring = static_cast<std::int64_t>(soon.size());
        counts.unlocked = static_cast<std::int64_t>(unlocked.size());
        counts.store_checked = true;
        checks.push_back({"retention_present", unlocked.empty(),
                          std::to_string(unlocked.size()) + " objects without retention" +
                              (unlocked.empty() ? "" : " (first: " + unlocked.front() + ")"),
                          "set retention on them (`worm retention set`) and check the bucket's default retention"});
        checks.push_back({"retention_expiring", soon.empty(),
                          std::to_string(soon.size()) + " objects whose retention ends within " + std::to_string(days) +
                              " days" + (soon.empty() ? "" : " (first: " + soon.front() + ")"),
                          "extend retention where records must be kept longer (`worm retention set`)"});
    }

    const std::string alert = alert_json(environment, checks, counts.objects, counts.expiring);
    bool ok = true;
    std::size_t failed = 0;
    for (const auto& c : checks) {
        ok &= c.ok;
        failed += c.ok ? 0 : 1;
        log.line(c.ok ? "INFO" : "ERROR", std::string(c.ok ? "PASS " : "FAIL ") + c.name + ": " + c.detail);
        if (!c.ok) std::cerr << "worm monitor: FAILED " << c.name << ": " << c.detail << "\n";
    }
    log.line(ok ? "INFO" : "WARNING", "Compliance Check Summary: " + std::to_string(checks.size()) + " checks, " +
                                          std::to_string(checks.size() - failed) + " passed, " + std::to_string(failed) +
                                          " failed (environment " + environment + ")");
    std::cout << alert << "\n";

    // Each destination is tried even when an earlier one fails; the first failure is the exit.
    std::optional<Error> delivery_error;
    const auto deliver = [&](const std::string& what, const std::function<std::string()>& send) {
        try {
            log.line("INFO", send());
        } catch (const Error& e) {
            log.line("ERROR", what + " failed: " + e.what());
            std::cerr << "worm monitor: " << what << " failed: " << e.what() << "\n";
            if (!delivery_error) delivery_error = e;
        }
    };
    if (metric_namespace)
        deliver("publishing metrics to CloudWatch", [&] {
            const auto data = metric_data(checks, counts, environment);
            aws::CloudWatchClient(aws::ServiceConfig::from_env("AWS_ENDPOINT_URL_CLOUDWATCH")).put_metric_data(*metric_namespace, data);
            return "Published " + std::to_string(data.size()) + " metrics to CloudWatch namespace " + *metric_namespace;
        });
    if (!ok && topic)
        deliver("sending the SNS alert", [&] {
            aws::ServiceConfig config = aws::ServiceConfig::from_env("AWS_ENDPOINT_URL_SNS");
            config.region = aws::topic_region(*topic);  // SNS answers for a topic in its own region
            const std::string id = aws::SnsClient(std::move(config))
                                       .publish({.topic_arn = *topic,
                                                 .subject = "WORM compliance alert: " + environment.substr(0, 60),
                                                 .message = alert_text(environment, checks, counts)});
            return "Sent compliance alert to SNS topic " + *topic + " (message id " + id + ")";
        });
    if (!ok && a.has("--webhook"))
        deliver("POSTing the alert to the webhook", [&] {
            HttpRequest request;
            request.method = "POST";
            request.url = *a.get("--webhook");
            request.headers = {{"Content-Type", "application/json"}};
            request.body = alert;
            const HttpResponse response = make_curl_transport()->send(request);
            if (response.status < 200 || response.status >= 300)
                throw Error(ErrorCode::network, "the webhook answered HTTP " + std::to_string(response.status));
            return std::string("Sent compliance alert to the webhook");
        });
    if (delivery_error) throw *delivery_error;
    return ok ? exit_ok : exit_verification_failed;
}

}  // namespace

std::vector<Command> monitor_commands() {
    return {{{"monitor", "", "daily compliance check: registry health and retention; metrics to CloudWatch; alert SNS or a webhook",
              {{"--evidence-dir", "DIR", "check the upload registry's health (backlog, failures, stale bundles)"},
               with_help(not_required(store_option), "check every object's retention in this store (and, for s3://, the bucket's configuration)"),
               {"--min-retention-days", "N", "s3:// stores: the bucket's default retention must be at least N days (default " + std::to_string(default_retention_days) + ")"},
               {"--prefix", "PREFIX", "only objects under PREFIX"},
               {"--expiring-within-days", "N", "flag retention ending within N days (default 30)"},
               {"--webhook", "URL", "POST the JSON alert here when a check fails"},
               {"--sns-topic", "ARN", "publish the alert to this SNS topic when a check fails (default $WORM_ALERTS_TOPIC_ARN)"},
               {"--cloudwatch", "", "publish the counts to CloudWatch (also when WORM_CLOUDWATCH_NAMESPACE is set)"},
               {"--namespace", "NS", "CloudWatch namespace (default $WORM_CLOUDWATCH_NAMESPACE or FireMode/WORM)"},
               {"--log-dir", "DIR", "append the run to DIR/worm_compliance_monitor_<time>.log (default $WORM_MONITOR_LOG_DIR)"},
               {"--environment", "NAME", "environment named in the alert (default $WORM_ENVIRONMENT or 'default')", false,
                "--env"}},
              0, 0,
              "Prints one JSON object (environment, failed_checks, summary, recommended_actions).\n"
              "Without --store the store is $WORM_EVIDENCE_BUCKET (a bare bucket name means s3://NAME).\n"
              "CloudWatch metrics (dimension Environment=NAME): ComplianceCheckFailures, RetentionViolations\n"
              "(objects without retention), ExpiringObjects, PendingUploads, OldestPendingAgeSeconds.\n"
              "Exit 0 when every check passes, 1 when one fails, 3 when the store, CloudWatch, SNS or the\n"
              "webhook cannot be reached (every destination is still tried).\n"
              "For an s3:// store the bucket's configuration is checked as by `worm bucket verify`: each failed\n"
              "check is a failed `bucket_<id>` check in the alert."},
             run_monitor}};
}

}  // namespace worm::cli
