// prometheus.cpp: Prometheus text exposition (see metrics.hpp).
#include <cmath>
#include <cstdio>

#include "worm/metrics.hpp"

namespace worm {

namespace {

std::string number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (std::isnan(v)) return "NaN";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

// Label values escape backslash, double quote and line feed.
std::string escape_label(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string label_text(const MetricLabels& labels) {
    if (labels.empty()) return "";
    std::string out = "{";
    for (std::size_t i = 0; i < labels.size(); ++i)
        out += (i ? "," : "") + labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
    return out + "}";
}

}  // namespace

void LatencyHistogram::observe(double seconds) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < latency_buckets_s.size(); ++i)
        if (seconds <= latency_buckets_s[i]) ++data_.cumulative[i];
    ++data_.count;
    data_.sum += seconds;
}

LatencyHistogram::Snapshot LatencyHistogram::snapshot() const {
    std::lock_guard lock(mutex_);
    return data_;
}

void PrometheusText::family(const std::string& name, const std::string& type, const std::string& help) {
    out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void PrometheusText::sample(const std::string& name, double value, const MetricLabels& labels) {
    out_ += name + label_text(labels) + " " + number(value) + "\n";
}

void PrometheusText::histogram(const std::string& name, const LatencyHistogram::Snapshot& h, const MetricLabels& labels) {
    for (std::size_t i = 0; i < latency_buckets_s.size(); ++i) {
        MetricLabels l = labels;
        l.emplace_back("le", number(latency_buckets_s[i]));
        sample(name + "_bucket", static_cast<double>(h.cumulative[i]), l);
    }
    MetricLabels inf = labels;
    inf.emplace_back("le", "+Inf");
    sample(name + "_bucket", static_cast<double>(h.count), inf);
    sample(name + "_sum", h.sum, labels);
    sample(name + "_count", static_cast<double>(h.count), labels);
}

std::string uploader_metrics(const UploaderStats& s, const std::vector<UploadAttempt>& attempts,
                             const UploaderOptions& o) {
    PrometheusText p;
    p.family("worm_uploads", "gauge", "Bundles in the upload registry by status.");
    p.sample("worm_uploads", static_cast<double>(s.total_uploaded), {{"status", "uploaded"}});
    p.sample("worm_uploads", static_cast<double>(s.pending_count), {{"status", "pending"}});
    p.sample("worm_uploads", static_cast<double>(s.failed_count), {{"status", "failed"}});
    LatencyHistogram latency;
    double retries = 0, failed_attempts = 0;
    for (const auto& a : attempts) {
        if (a.error.empty())
            latency.observe(std::max(0.0, std::chrono::duration<double>(a.finished_at - a.started_at).count()));
        else
            failed_attempts += 1;
    }
    // Every attempt after a bundle's first is a retry.
    std::map<std::string, int> per_bundle;
    for (const auto& a : attempts) ++per_bundle[a.bundle_id];
    for (const auto& [id, n] : per_bundle) retries += n - 1;
    p.family("worm_upload_attempts_total", "counter", "Upload attempts recorded in the registry, by result.");
    p.sample("worm_upload_attempts_total", static_cast<double>(attempts.size()) - failed_attempts, {{"result", "ok"}});
    p.sample("worm_upload_attempts_total", failed_attempts, {{"result", "failed"}});
    p.family("worm_upload_retries_total", "counter", "Upload attempts after a bundle's first.");
    p.sample("worm_upload_retries_total", retries);
    p.family("worm_queue_depth", "gauge", "Bundles not yet in WORM storage (pending, in flight, failed).");
    p.sample("worm_queue_depth", static_cast<double>(s.pending_count + s.failed_count));
    p.family("worm_oldest_pending_age_seconds", "gauge", "Age of the oldest bundle not yet in WORM storage (0: none).");
    p.sample("worm_oldest_pending_age_seconds", s.oldest_pending_age_s.value_or(0));
    p.family("worm_consecutive_failures", "gauge", "Failed bundles since the last successful upload.");
    p.sample("worm_consecutive_failures", static_cast<double>(s.consecutive_failures));
    if (s.replica_configured) {
        p.family("worm_replica_behind", "gauge", "Uploaded bundles not yet in the replica store.");
        p.sample("worm_replica_behind", static_cast<double>(s.replica_behind));
    }
    p.family("worm_upload_duration_seconds", "histogram", "Duration of successful upload attempts.");
    p.histogram("worm_upload_duration_seconds", latency.snapshot());
    p.family("worm_alert_threshold", "gauge", "The alert thresholds (seed 000): above these an alert is raised.");
    p.sample("worm_alert_threshold", static_cast<double>(o.backlog_alert_above), {{"alert", "backlog_high"}});
    p.sample("worm_alert_threshold", static_cast<double>(o.failures_alert_above), {{"alert", "repeated_failures"}});
    p.sample("worm_alert_threshold", static_cast<double>(o.stale_after.count()), {{"alert", "stale_pending"}});
    p.family("worm_alert_active", "gauge", "1 while the alert is raised.");
    p.sample("worm_alert_active", s.health.backlog_high ? 1 : 0, {{"alert", "backlog_high"}});
    p.sample("worm_alert_active", s.health.repeated_failures ? 1 : 0, {{"alert", "repeated_failures"}});
    p.sample("worm_alert_active", s.health.stale_pending ? 1 : 0, {{"alert", "stale_pending"}});
    p.family("worm_healthy", "gauge", "1 when no alert is raised.");
    p.sample("worm_healthy", s.health.ok() ? 1 : 0);
    return p.text();
}

}  // namespace worm
