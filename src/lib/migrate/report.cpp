// report.cpp: the migration's summary line, its JSON and CSV reports, and the S3 Batch
// Operations manifest + job for migrations past one machine.
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/migrate.hpp"
#include "worm/s3/sigv4.hpp"

namespace worm {

namespace {

template <class Writer>
void write_summary_fields(Writer& w, const MigrationSummary& s) {
    w.Key("migration_id");
    w.String(s.migration_id.c_str());
    w.Key("source");
    w.String(s.source.c_str());
    w.Key("destination");
    w.String(s.destination.c_str());
    w.Key("dry_run");
    w.Bool(s.dry_run);
    w.Key("objects");
    w.Uint64(s.total);
    w.Key("bytes");
    w.Uint64(s.total_bytes);
    w.Key("bytes_copied");
    w.Uint64(s.bytes_copied);
    w.Key("seconds");
    w.Double(s.seconds);
    w.Key("registry_rows_imported");
    w.Uint64(s.imported_registry_rows);
    w.Key("server_side_copies");
    w.Uint64(s.server_side_copies);
    w.Key("status");
    w.StartObject();
    for (const auto& [status, count] : s.by_status) {
        w.Key(status.c_str());
        w.Uint64(count);
    }
    w.EndObject();
    w.Key("clean");
    w.Bool(s.clean());
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
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    write_summary_fields(w, *this);
    w.EndObject();
    return buf.GetString();
}

std::string MigrationSummary::report_json() const {
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    write_summary_fields(w, *this);
    w.Key("objects_detail");
    w.StartArray();
    for (const auto& r : rows) {
        w.StartObject();
        for (const auto& [name, value] :
             {std::pair{"source_key", &r.source_key}, {"source_version_id", &r.source_version_id}, {"dest_key", &r.dest_key},
              {"dest_version_id", &r.dest_version_id}, {"status", &r.status}, {"error_code", &r.error_code},
              {"message", &r.message}, {"sha256", &r.sha256}}) {
            w.Key(name);
            w.String(value->c_str());
        }
        w.Key("http_status");
        w.Int(r.http_status);
        w.Key("size");
        w.Uint64(r.size);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(buf.GetString()) + "\n";
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
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    const std::string target = "arn:aws:s3:::" + dest_bucket;
    w.StartObject();
    w.Key("Operation");
    w.StartObject();
    w.Key("S3PutObjectCopy");
    w.StartObject();
    w.Key("TargetResource"); w.String(target.c_str());
    if (!o.dest_prefix.empty()) { w.Key("TargetKeyPrefix"); w.String(o.dest_prefix.c_str()); }
    w.Key("MetadataDirective"); w.String("COPY");
    w.Key("ChecksumAlgorithm"); w.String("SHA256");
    w.Key("ObjectLockMode"); w.String(std::string(to_string(o.lock_mode)).c_str());
    w.Key("ObjectLockRetainUntilDate"); w.String(format_rfc3339(until).c_str());
    w.Key("ObjectLockLegalHoldStatus"); w.String(o.legal_hold ? "ON" : "OFF");
    w.EndObject();
    w.EndObject();
    w.Key("Manifest");
    w.StartObject();
    w.Key("Spec");
    w.StartObject();
    w.Key("Format"); w.String("S3BatchOperations_CSV_20180820");
    w.Key("Fields"); w.StartArray(); w.String("Bucket"); w.String("Key"); w.EndArray();
    w.EndObject();
    // Where the manifest will be once uploaded: its ETag is filled in then (aws s3api head-object).
    w.Key("Location");
    w.StartObject();
    const std::string manifest_arn = target + "/batch-manifests/" + manifest_path.filename().string();
    w.Key("ObjectArn"); w.String(manifest_arn.c_str());
    w.Key("ETag"); w.String("");
    w.EndObject();
    w.EndObject();
    w.Key("Report");
    w.StartObject();
    w.Key("Bucket"); w.String(target.c_str());
    w.Key("Format"); w.String("Report_CSV_20180820");
    w.Key("Enabled"); w.Bool(true);
    w.Key("Prefix"); w.String("batch-reports");
    w.Key("ReportScope"); w.String("AllTasks");
    w.EndObject();
    w.Key("Priority"); w.Int(10);
    w.Key("ConfirmationRequired"); w.Bool(true);
    w.Key("Description"); w.String(("worm migrate " + source.describe() + " -> s3://" + dest_bucket).c_str());
    w.EndObject();
    std::filesystem::path job = manifest_path;
    job += ".job.json";
    write_file_atomic(job, std::string(buf.GetString()) + "\n");
    return rows;
}

}  // namespace worm
