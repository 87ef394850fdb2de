// report.cpp: the migration's summary line, its JSON and CSV reports, and the S3 Batch
// Operations manifest + job for migrations past one machine.
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/migrate.hpp"
#include "worm/s3/sigv4.hpp"

namespace worm {

namespace {

void write_summary_fields(json::Writer& w, const MigrationSummary& s) {
    w.member("migration_id", s.migration_id).member("source", s.source).member("destination", s.destination);
    w.member("dry_run", s.dry_run).member("objects", s.total).member("bytes", s.total_bytes);
    w.member("bytes_copied", s.bytes_copied).member("seconds", s.seconds);
    w.member("registry_rows_imported", s.imported_registry_rows).member("server_side_copies", s.server_side_copies);
    w.key("status").begin_object();
    for (const auto& [status, count] : s.by_status) w.member(status, count);
    w.end_object();
    w.member("clean", s.clean());
}

// RFC 4180: quoted when the field has a comma, quote or line break.
std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

}  // namespace

bool MigrationSummary::clean() const {
    for (const auto& [status, count] : by_status)
        if (count > 0 && status != "copied" && status != "already_present" && status != "lock_applied" && status != "ok" &&
            status != "would_copy" && status != "would_check")
            return false;
    return true;
}

std::string MigrationSummary::to_json_line() const {
    json::Writer w;
    w.begin_object();
    write_summary_fields(w, *this);
    w.end_object();
    return w.take();
}

std::string MigrationSummary::report_json() const {
    json::Writer w(json::Writer::Style::pretty);
    w.begin_object();
    write_summary_fields(w, *this);
    w.key("objects_detail").begin_array();
    for (const auto& r : rows) {
        w.begin_object().member("source_key", r.source_key).member("source_version_id", r.source_version_id);
        w.member("dest_key", r.dest_key).member("dest_version_id", r.dest_version_id).member("status", r.status);
        w.member("error_code", r.error_code).member("message", r.message).member("sha256", r.sha256);
        w.member("http_status", r.http_status).member("size", r.size).end_object();
    }
    w.end_array();
    w.end_object();
    std::string text = w.take();
    text += "\n";
    return text;
}

std::string MigrationSummary::report_csv() const {
    // The S3 Batch Operations completion report layout (no header row):
    // Bucket,Key,VersionId,TaskStatus,ErrorCode,HTTPStatusCode,ResultMessage.
    std::string out;
    for (const auto& r : rows) {
        const std::string key = r.source_key.empty() ? r.dest_key : r.source_key;
        out += csv_field(report_bucket) + "," + csv_field(key) + "," + csv_field(r.source_version_id) + "," +
               csv_field(r.status) + "," + csv_field(r.error_code) + "," + std::to_string(r.http_status) + "," +
               csv_field(r.message) + "\n";
    }
    return out;
}

void MigrationSummary::write_report(const std::filesystem::path& path) const {
    write_file_atomic(path, report_json());
    std::filesystem::path csv = path;
    csv.replace_extension(".csv");
    write_file_atomic(csv, report_csv());
}

std::size_t write_batch_manifest(MigrationSource& source, const std::string& dest_bucket, const MigrationOptions& options,
                                 const std::filesystem::path& manifest_path) {
    if (source.bucket().empty())
        throw Error(ErrorCode::invalid_argument, "an S3 Batch Operations manifest needs an s3:// source");
    if (dest_bucket.empty()) throw Error(ErrorCode::invalid_argument, "an S3 Batch Operations job needs an s3:// destination");
    MigrationOptions o = options;
    o.dry_run = true;
    if (!o.retain_days && !o.retain_until) throw Error(ErrorCode::invalid_argument, "the job needs --retain-days or --retain-until");
    o.validate();
    // Keys in a Batch Operations manifest are URL-encoded.
    std::string csv;
    std::size_t rows = 0;
    for (const auto& object : source.list()) {
        if (!object.key.starts_with(o.prefix)) continue;
        csv += csv_field(source.bucket()) + "," + s3::uri_encode(source.full_key(object.key), false) + "\n";
        ++rows;
    }
    write_file_atomic(manifest_path, csv);

    const RetentionDate until = o.retain_until ? *o.retain_until
                                            : std::chrono::floor<std::chrono::seconds>(system_clock().now()) +
                                                  std::chrono::days(*o.retain_days);
    json::Writer w(json::Writer::Style::pretty);
    const std::string target = "arn:aws:s3:::" + dest_bucket;
    w.begin_object();
    w.key("Operation").begin_object();
    w.key("S3PutObjectCopy").begin_object();
    w.member("TargetResource", target);
    if (!o.dest_prefix.empty()) w.member("TargetKeyPrefix", o.dest_prefix);
    w.member("MetadataDirective", "COPY").member("ChecksumAlgorithm", "SHA256");
    w.member("ObjectLockMode", to_string(o.lock_mode)).member("ObjectLockRetainUntilDate", format_rfc3339(until));
    w.member("ObjectLockLegalHoldStatus", o.legal_hold ? "ON" : "OFF");
    w.end_object();
    w.end_object();
    w.key("Manifest").begin_object();
    w.key("Spec").begin_object();
    w.member("Format", "S3BatchOperations_CSV_20180820");
    w.key("Fields").begin_array().value("Bucket").value("Key").end_array();
    w.end_object();
    // Where the manifest will be once uploaded: its ETag is filled in then (aws s3api head-object).
    w.key("Location").begin_object();
    w.member("ObjectArn", target + "/batch-manifests/" + manifest_path.filename().string()).member("ETag", "");
    w.end_object();
    w.end_object();
    w.key("Report").begin_object();
    w.member("Bucket", target).member("Format", "Report_CSV_20180820").member("Enabled", true);
    w.member("Prefix", "batch-reports").member("ReportScope", "AllTasks");
    w.end_object();
    w.member("Priority", 10).member("ConfirmationRequired", true);
    w.member("Description", "worm migrate " + source.describe() + " -> s3://" + dest_bucket);
    w.end_object();
    std::string text = w.take();
    text += "\n";
    std::filesystem::path job = manifest_path;
    job += ".job.json";
    write_file_atomic(job, text);
    return rows;
}

}  // namespace worm
