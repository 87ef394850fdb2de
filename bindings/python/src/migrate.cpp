// Migration: worm.migrate and worm.verify_migration (worm/migrate.hpp), returning the
// report (summary fields and objects_detail) as a dict.
#include <memory>
#include <vector>

#include "bindings.hpp"
#include "worm/json.hpp"
#include "worm/migrate.hpp"

namespace worm::python {

namespace fs = std::filesystem;

namespace {

std::shared_ptr<ObjectStore> store_of(py::object destination) {
    if (py::isinstance<py::str>(destination)) return open_store(destination.cast<std::string>());
    return destination.cast<std::shared_ptr<ObjectStore>>();
}

py::object report_dict(const MigrationSummary& s) { return to_python(json::parse_strict(s.report_json(), "migration report")); }

}  // namespace

void bind_migrate(py::module_& m) {
    m.def(
        "migrate",
        [](const std::string& source, py::object destination, std::optional<int> retain_days, py::object retain_until,
           std::optional<fs::path> state_file, const std::string& lock_mode, const std::string& prefix,
           std::vector<std::string> include, std::vector<std::string> exclude, int workers, std::size_t batch_size,
           bool retain_from_source, bool legal_hold, bool dry_run, bool verify_signatures,
           std::optional<fs::path> public_key, bool copy_invalid, bool keep_paths, const std::string& dest_prefix,
           const std::string& source_endpoint, const std::string& source_profile, std::uint64_t part_size,
           std::optional<std::uint64_t> large_object_bytes, std::optional<fs::path> report, bool client_copy,
           std::optional<std::uint64_t> put_back_up_to, bool trust_listing) {
            MigrationOptions o;
            o.prefix = prefix;
            o.include = std::move(include);
            o.exclude = std::move(exclude);
            o.workers = workers;
            o.batch_size = batch_size;
            o.lock_mode = parse_lock_mode(lock_mode);
            o.retain_days = retain_days;
            if (!retain_until.is_none()) o.retain_until = to_time_point(retain_until);
            o.retain_from_source = retain_from_source;
            o.legal_hold = legal_hold;
            o.dry_run = dry_run;
            if (state_file) o.state_file = *state_file;
            o.verify_signatures = verify_signatures;
            if (public_key) o.public_key = *public_key;
            o.copy_invalid = copy_invalid;
            o.evidence_layout = !keep_paths;
            o.dest_prefix = dest_prefix;
            o.part_size = part_size;
            if (large_object_bytes) o.large_object_bytes = *large_object_bytes;
            o.server_side = !client_copy;
            if (put_back_up_to) o.put_back_up_to = *put_back_up_to;
            o.trust_listing = trust_listing;
            o.validate();
            std::shared_ptr<ObjectStore> dest = store_of(destination);
            MigrationSummary summary;
            {
                py::gil_scoped_release release;
                auto src = open_migration_source(source, source_endpoint, source_profile);
                summary = worm::migrate(*src, *dest, o);
                if (report && !summary.dry_run) summary.write_report(*report);
            }
            return report_dict(summary);
        },
        py::arg("source"), py::arg("destination"), py::kw_only(), py::arg("retain_days") = py::none(),
        py::arg("retain_until") = py::none(), py::arg("state_file") = py::none(), py::arg("lock_mode") = "COMPLIANCE",
        py::arg("prefix") = "", py::arg("include") = std::vector<std::string>{},
        py::arg("exclude") = std::vector<std::string>{}, py::arg("workers") = 8, py::arg("batch_size") = 1000,
        py::arg("retain_from_source") = false, py::arg("legal_hold") = false, py::arg("dry_run") = false,
        py::arg("verify_signatures") = false, py::arg("public_key") = py::none(), py::arg("copy_invalid") = false,
        py::arg("keep_paths") = false, py::arg("dest_prefix") = "", py::arg("source_endpoint") = "",
        py::arg("source_profile") = "", py::arg("part_size") = 0, py::arg("large_object_bytes") = py::none(),
        py::arg("report") = py::none(), py::arg("client_copy") = false, py::arg("put_back_up_to") = py::none(),
        py::arg("trust_listing") = false,
        "Copies every object of source (s3://bucket[/prefix] or a directory) into destination (a store URL or\n"
        "ObjectStore) with the lock, verified and resumable through state_file, as `worm migrate` does.\n"
        "Returns the report as a dict: summary fields (status counts, clean, ...) and objects_detail.\n"
        "report=PATH also writes the JSON report and the S3 Batch Operations CSV beside it. Between buckets of\n"
        "one S3 endpoint the copy is server-side (CopyObject); client_copy=True reads and puts every byte here.\n"
        "put_back_up_to=BYTES (default 65536): on a server that ignores lock headers on a copy (Ceph RGW 16), a\n"
        "source it states no SHA-256 for is read to hash it, and when at most BYTES its bytes are put back with\n"
        "the lock instead of copied (0: always CopyObject).\n"
        "trust_listing=True: a source listed with an MD5 ETag is copied without a HEAD first (one CopyObject,\n"
        "verified by its ETag and the server's SHA-256); its writer's x-amz-meta-sha256 is then not checked.");

    m.def(
        "verify_migration",
        [](const std::string& source, py::object destination, const std::string& prefix, const std::string& dest_prefix,
           bool keep_paths, int workers, const std::string& source_endpoint, const std::string& source_profile) {
            MigrationOptions o;
            o.prefix = prefix;
            o.dest_prefix = dest_prefix;
            o.evidence_layout = !keep_paths;
            o.workers = workers;
            std::shared_ptr<ObjectStore> dest = store_of(destination);
            MigrationSummary summary;
            {
                py::gil_scoped_release release;
                auto src = open_migration_source(source, source_endpoint, source_profile);
                summary = worm::verify_migration(*src, *dest, o);
            }
            return report_dict(summary);
        },
        py::arg("source"), py::arg("destination"), py::kw_only(), py::arg("prefix") = "", py::arg("dest_prefix") = "",
        py::arg("keep_paths") = false, py::arg("workers") = 8, py::arg("source_endpoint") = "",
        py::arg("source_profile") = "",
        "Compares source and destination without copying (ok, missing, mismatched, extra), as\n"
        "`worm migrate verify` does; returns the report dict.");

    m.def(
        "rollback_migration",
        [](py::object destination, const fs::path& report, bool bypass_governance, bool dry_run, int workers) {
            std::shared_ptr<ObjectStore> dest = store_of(destination);
            std::vector<RollbackRow> rows;
            {
                py::gil_scoped_release release;
                rows = worm::rollback_migration(*dest, report,
                                                {.bypass_governance = bypass_governance, .dry_run = dry_run, .workers = workers});
            }
            py::list out;
            for (const auto& r : rows) {
                py::dict d;
                d["dest_key"] = r.dest_key;
                d["dest_version_id"] = r.dest_version_id;
                d["status"] = r.status;
                d["message"] = r.message;
                d["retain_until"] = r.retain_until ? py::object(py::str(format_rfc3339(*r.retain_until))) : py::none();
                out.append(std::move(d));
            }
            return out;
        },
        py::arg("destination"), py::arg("report"), py::kw_only(), py::arg("bypass_governance") = true,
        py::arg("dry_run") = false, py::arg("workers") = 8,
        "Removes what the migration of `report` (its JSON report) wrote where the lock allows (unlocked, or\n"
        "GOVERNANCE with a bypass), as `worm migrate rollback` does. Returns one dict per copied object:\n"
        "dest_key, dest_version_id, status (removed, would_remove, kept_compliance, kept_legal_hold,\n"
        "kept_governance, not_ours, missing, failed), message, retain_until (the date that keeps it).");
}

}  // namespace worm::python
