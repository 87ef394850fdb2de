// metrics.hpp: Prometheus text exposition (format 0.0.4) for `worm status --format
// prometheus` (node_exporter's textfile collector) and worm-proxy's /metrics.
//
// PrometheusText writes one family at a time (# HELP, # TYPE, samples), escaping label
// values as the format requires. LatencyHistogram counts durations into fixed buckets
// and is safe to share between threads.
//
// Example:
//   worm::LatencyHistogram latency;
//   latency.observe(0.042);  // one upload took 42 ms
//   worm::PrometheusText out;
//   out.family("worm_upload_duration_seconds", "histogram", "Time to upload and verify one bundle.");
//   out.histogram("worm_upload_duration_seconds", latency.snapshot(), {{"store", "s3"}});
//   std::cout << out.text();
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "worm/export.hpp"
#include "worm/registry.hpp"
#include "worm/uploader.hpp"

namespace worm {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Upper bounds (seconds) of the upload latency buckets; +Inf is implied.
inline constexpr std::array<double, 10> latency_buckets_s = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

class WORM_API LatencyHistogram {
public:
    void observe(double seconds);
    struct Snapshot {
        std::array<std::uint64_t, latency_buckets_s.size()> cumulative{};  // count <= each bound
        std::uint64_t count = 0;
        double sum = 0;
    };
    Snapshot snapshot() const;

private:
    mutable std::mutex mutex_;
    Snapshot data_;
};

class WORM_API PrometheusText {
public:
    // Starts a family: type is "gauge", "counter" or "histogram".
    void family(const std::string& name, const std::string& type, const std::string& help);
    void sample(const std::string& name, double value, const MetricLabels& labels = {});
    // The _bucket/_sum/_count samples of a histogram family started with family().
    void histogram(const std::string& name, const LatencyHistogram::Snapshot& h, const MetricLabels& labels = {});
    const std::string& text() const { return out_; }

private:
    std::string out_;
};

// The uploader's registry and health as metrics (worm_uploads_*, worm_upload_retries_total,
// worm_queue_depth, worm_oldest_pending_age_seconds, worm_upload_duration_seconds, the seed
// alert thresholds as worm_alert_threshold{alert=...} and worm_alert_active{alert=...}).
// Attempts are the registry's attempt rows (successful ones time the latency histogram).
WORM_API std::string uploader_metrics(const UploaderStats& stats, const std::vector<UploadAttempt>& attempts,
                             const UploaderOptions& thresholds);

}  // namespace worm
