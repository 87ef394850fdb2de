// bundle.hpp: evidence bundles: schema validation, the evidence hash, the builder that
// turns what an agent did into a bundle, and the bundle id allocator.
//
// Shape and hash are the stable formats of DESIGN.md ("Data formats"):
//   evidence_bundle_hash = "sha256:" + hex(SHA-256(RFC 8785 canonical form of the bundle
//                          without evidence_bundle_hash, signatures, storage_locations))
//
// The functions take and give JSON text; the library's own code uses the same functions over
// parsed RapidJSON documents (worm/bundle_json.hpp, private: no installed header needs
// RapidJSON).
//
// Example:
//   std::string bundle = worm::read_file("EB-20261122-0001.json");
//   worm::validate_bundle_schema(bundle);                 // Error(schema) naming the JSON pointer
//   std::string hash = worm::compute_bundle_hash(bundle);  // "sha256:<64 hex>"
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "worm/export.hpp"
#include "worm/ids.hpp"
#include "worm/time.hpp"

namespace worm {

inline constexpr std::string_view kBundleVersion = "1.0";
inline constexpr std::string_view kBundleSchemaFile = "evidence-bundle-v1.schema.json";

// ---- schema -------------------------------------------------------------------------

// The schema text in use: $WORM_SCHEMA_DIR/evidence-bundle-v1.schema.json when that env var
// is set, else the copy compiled into the library, else the source or install tree.
// Loaded once per process; throws Error(config) when it cannot be read or parsed.
WORM_API const std::string& bundle_schema_text();

// Throws Error(schema) naming the JSON pointer and the rule, e.g.
//   "schema: /execution/mttr_seconds: minimum (must be >= 0)"
//   "schema: /incident/hostname: required (missing)"
// Beyond the JSON Schema it checks what RapidJSON cannot: that every timestamp is a real
// RFC 3339 date-time ("format"), that the bundle id names a real calendar day
// (is_valid_bundle_id) and that ids contain no NUL byte. Text that is not strict JSON
// throws Error(parse).
WORM_API void validate_bundle_schema(std::string_view bundle_json);

// Bundle ids and client ids: is_valid_bundle_id / is_valid_client_id in worm/ids.hpp.

// ---- hash ---------------------------------------------------------------------------

// Throws Error(parse) for text that is not strict JSON, Error(invalid_argument) if the
// bundle is not an object or cannot be canonicalized.
WORM_API std::string compute_bundle_hash(std::string_view bundle_json);
// Throws Error(verification) when evidence_bundle_hash is missing or differs from
// compute_bundle_hash (the bundle was edited after it was hashed).
WORM_API void verify_bundle_hash(std::string_view bundle_json);

// ---- builder ------------------------------------------------------------------------

// What the agent reports, each section as JSON text. An empty string means "not given":
// artifacts default to {}; incident, runbook, execution and actions are required. Each
// section is parsed strictly once, when the bundle is built (Error(parse) naming it).
struct IncidentInputs {
    std::string incident;   // object: incident_id, event_type, severity, detected_at, hostname, details, hipaa_controls
    std::string runbook;    // object: runbook_id, runbook_version, runbook_hash, steps_total, steps_executed
    std::string execution;  // object: timestamp_start, timestamp_end, operator, sla_target_seconds, resolution_type
    std::string actions;    // array of {step, action, result, timestamp} + optional script_hash, exit_code,
                            // stdout_excerpt, stderr_excerpt, error, duration_seconds
    std::string artifacts;  // object, free-form; artifacts.outputs (if an object) is copied into outputs
};

// One JSON text holding the sections {"incident", "runbook", "execution", "actions_taken"
// (or "actions"), "artifacts"}, or just an incident object. Throws Error(parse) naming `what`.
WORM_API IncidentInputs parse_incident_inputs(std::string_view json_text, std::string_view what = "incident inputs");

// Files as the CLI takes them. `incident` may be a combined file (see above); a separate
// file given for a section replaces that section. The actions file may be an array or an
// object with "actions_taken". Errors name the file.
struct IncidentFiles {
    std::filesystem::path incident = {};
    std::optional<std::filesystem::path> runbook = std::nullopt;
    std::optional<std::filesystem::path> execution = std::nullopt;
    std::optional<std::filesystem::path> actions = std::nullopt;
    std::optional<std::filesystem::path> artifacts = std::nullopt;
};
WORM_API IncidentInputs load_incident_inputs(const IncidentFiles& files);

// Builds a complete bundle:
// - bundle_id, bundle_version "1.0", client_id, generated_at (clock, UTC RFC 3339);
// - execution.mttr_seconds = whole seconds from timestamp_start to timestamp_end, and
//   sla_met = mttr_seconds <= sla_target_seconds (values sent in by the agent are replaced);
// - outputs = artifacts.outputs (if any) + resolution_status ("success" when every action
//   has result "ok" and exit_code 0 (or no exit_code: a manual step), "partial" when some do,
//   "failed" when none do or there are none), steps_succeeded, steps_failed and, for each
//   failed action, failed_steps[] {step, action, result, exit_code (when given), error} with
//   the action's error (or stderr/result);
// - signatures {}, storage_locations [], evidence_bundle_hash;
// and validates the result against the schema. Returns the bundle as JSON text (2-space
// indent, as the pipeline writes it). Throws Error(parse) for a section that is not JSON,
// Error(invalid_argument) naming the input field that is missing or malformed,
// Error(schema) if the bundle does not validate.
WORM_API std::string process_incident(const std::string& client_id, const std::string& bundle_id,
                                      const IncidentInputs& inputs, const Clock& clock = system_clock());

// ---- ids ----------------------------------------------------------------------------

// Allocates EB-YYYYMMDD-NNNN ids, sequential per evidence directory and UTC day.
// - Unique across threads and processes: ids are taken from <dir>/.bundle-id-counter (one
//   "YYYYMMDD N" line per day) under flock() on <dir>/.bundle-id.lock, and the counter is
//   rewritten (durably when `durable`) before any id of it is handed out.
// - max_lease = 1 (the default): every next() takes one id from the counter, so the ids of
//   concurrent processes are gap-free. max_lease > 1 (EvidencePipeline): the counter is
//   advanced by a lease of ids at a time (1, 2, 4, ... up to max_lease while next() keeps
//   being called), so a busy pipeline writes the counter once per lease, not per bundle.
//   The destructor gives the unused tail of a lease back when no other process took ids
//   after it; a crash leaves a gap (never a reuse).
// - Survives restarts; after 9999 ids in one day it continues with 5 digits (EB-...-10000);
//   an id is never handed out twice, even if the clock goes back to an earlier day.
// - Never returns an id whose file (<id>.json or <id>.sig) exists in the directory; on a
//   day the counter has no entry for (new day, lost counter), it scans the directory tree
//   for that day's highest existing id and continues after it. (EvidencePipeline also
//   creates <id>.json exclusively, so even a counter rolled back by a power loss cannot
//   make it reuse an id whose bundle exists: see docs/pipeline-durability.md.)
// - Thread-safe.
// Throws Error(io) naming the path on file system failures, Error(integrity) when the
// counter file is corrupt (it is never silently reset).
class WORM_API BundleIdAllocator {
public:
    // durable=false skips the fsyncs of the counter (scratch data and benchmarks only: after
    // a crash the counter may go back, though an id whose file exists is still never reused).
    explicit BundleIdAllocator(std::filesystem::path evidence_dir, const Clock& clock = system_clock(),
                               bool durable = true, std::uint64_t max_lease = 1);
    ~BundleIdAllocator();
    BundleIdAllocator(const BundleIdAllocator&) = delete;
    BundleIdAllocator& operator=(const BundleIdAllocator&) = delete;

    std::string next();
    const std::filesystem::path& evidence_dir() const noexcept { return dir_; }

    static constexpr std::string_view kLockFile = ".bundle-id.lock";
    static constexpr std::string_view kCounterFile = ".bundle-id-counter";

private:
    // Ids of one day taken from the counter and not handed out yet: [next, end].
    struct Lease {
        std::string day;
        std::uint64_t next = 0;
        std::uint64_t end = 0;  // the counter's value once the lease was taken
        bool empty() const { return next > end; }
    };
    void take_lease(const std::string& day);
    void return_unused_lease() noexcept;

    std::filesystem::path dir_;
    const Clock* clock_;  // borrowed (see Clock in time.hpp)
    bool durable_;
    std::uint64_t max_lease_;
    std::uint64_t lease_size_ = 0;  // size of the last lease: doubles up to max_lease_
    Lease lease_;
    std::mutex mutex_;
};

}  // namespace worm
