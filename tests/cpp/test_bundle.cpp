// Evidence bundles: the seed scenarios (successful and partially failed remediation),
// schema failures that name pointer and rule, the evidence hash, and bundle ids.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rapidjson/pointer.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/child_processes.hpp"
#include "support/error_code.hpp"
#include "support/test_env.hpp"
#include "worm/bundle.hpp"
#include "worm/bundle_json.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"

namespace fs = std::filesystem;
using worm::Error;
using worm::ErrorCode;
using worm::test::error_of;
using worm::test::TempDir;
namespace json = worm::json;
using rapidjson::Document;
using rapidjson::Value;

namespace {

const worm::TimePoint kGeneratedAt = worm::parse_rfc3339("2025-11-01T05:36:00Z");

fs::path sample(const std::string& scenario) { return worm::test::source_dir() / "examples" / "data" / scenario; }

// Parsed (worm/bundle_json.hpp), so the tests below can edit a section before building.
worm::IncidentDocuments sample_inputs(const std::string& scenario) {
    const fs::path d = sample(scenario);
    return worm::parse_incident_documents(worm::load_incident_inputs({.incident = d / "incident.json",
                                                                      .runbook = d / "runbook.json",
                                                                      .execution = d / "execution.json",
                                                                      .actions = d / "actions.json",
                                                                      .artifacts = d / "artifacts.json"}));
}

Document build(const std::string& scenario, const std::string& bundle_id = "EB-20251101-0001") {
    worm::FixedClock clock(kGeneratedAt);
    return worm::process_incident("clinic-001", bundle_id, sample_inputs(scenario), clock);
}

std::string schema_error(const Value& bundle) {
    return error_of([&] { worm::validate_bundle_schema(bundle); }, ErrorCode::schema);
}

Value& at(Document& doc, const char* pointer) {
    Value* v = rapidjson::Pointer(pointer).Get(doc);
    REQUIRE_MESSAGE(v != nullptr, pointer);
    return *v;
}

std::string str(const Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

// A copy with every object's members in reverse order, at every depth.
Value reversed(const Value& v, Document::AllocatorType& a) {
    if (v.IsObject()) {
        Value out(rapidjson::kObjectType);
        std::vector<const Value::Member*> members;
        for (const auto& m : v.GetObject()) members.push_back(&m);
        std::reverse(members.begin(), members.end());
        for (const auto* m : members) out.AddMember(Value(m->name, a), reversed(m->value, a), a);
        return out;
    }
    if (v.IsArray()) {
        Value out(rapidjson::kArrayType);
        for (const auto& item : v.GetArray()) out.PushBack(reversed(item, a), a);
        return out;
    }
    return Value(v, a);
}

// Calls f(pointer) for every scalar in the document.
void for_each_leaf(const Value& v, const std::string& pointer, const std::function<void(const std::string&)>& f) {
    if (v.IsObject()) {
        for (const auto& m : v.GetObject()) for_each_leaf(m.value, json::pointer_append(pointer, str(m.name)), f);
    } else if (v.IsArray()) {
        for (rapidjson::SizeType i = 0; i < v.Size(); ++i) for_each_leaf(v[i], json::pointer_append(pointer, i), f);
    } else {
        f(pointer);
    }
}

}  // namespace

TEST_CASE("the embedded schema is the one shipped in schemas/") {
    if (std::getenv("WORM_SCHEMA_DIR")) return;
    CHECK(worm::bundle_schema_text() ==
          worm::test::read_file(worm::test::source_dir() / "schemas" / "evidence-bundle-v1.schema.json"));
}

// Runs in a fresh copy of this test binary (the schema is loaded once per process).
TEST_CASE("schema override child") {
    const char* mode = std::getenv("WORM_TEST_SCHEMA_MODE");
    if (!mode) return;
    const std::string m = mode;
    if (m == "override") {
        Document b = build("backup-success");  // validates against the override (allows 1.1)
        b["bundle_version"].SetString("1.1");
        worm::validate_bundle_schema(b);
    } else {
        const std::string msg = error_of([] { worm::bundle_schema_text(); }, ErrorCode::config);
        CHECK(msg.find(m == "unsupported" ? "unsupported regular expression" : "WORM_SCHEMA_DIR") != std::string::npos);
        CHECK(msg.find("schema") != std::string::npos);
    }
}

TEST_CASE("WORM_SCHEMA_DIR overrides the compiled-in schema; a pattern RapidJSON cannot run is refused") {
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    const std::string schema = worm::test::read_file(worm::test::source_dir() / "schemas" / "evidence-bundle-v1.schema.json");
    const auto run = [&](const std::string& mode, const fs::path& dir) {
        return worm::test::run_command({self, "-tc=schema override child"},
                                       {"WORM_SCHEMA_DIR=" + dir.string(), "WORM_TEST_SCHEMA_MODE=" + mode});
    };
    TempDir good, bad, missing;
    std::string relaxed = schema;
    const std::string version_enum = "\"enum\": [\"1.0\"]";
    REQUIRE(relaxed.find(version_enum) != std::string::npos);
    relaxed.replace(relaxed.find(version_enum), version_enum.size(), "\"enum\": [\"1.0\", \"1.1\"]");
    worm::write_file_atomic(good / "evidence-bundle-v1.schema.json", relaxed);
    std::string unsupported = schema;
    const std::string digits = "^EB-[0-9]{8}-[0-9]{4,}$";
    REQUIRE(unsupported.find(digits) != std::string::npos);
    unsupported.replace(unsupported.find(digits), digits.size(), "^EB-\\\\d{8}-\\\\d{4,}$");
    worm::write_file_atomic(bad / "evidence-bundle-v1.schema.json", unsupported);

    for (const auto& [mode, dir] : {std::pair{std::string("override"), good.path()},
                                    std::pair{std::string("unsupported"), bad.path()},
                                    std::pair{std::string("missing"), missing.path()}}) {
        CAPTURE(mode);
        const auto r = run(mode, dir);
        CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
        CHECK(r.out.find("1 passed") != std::string::npos);
    }
}

TEST_CASE("successful remediation: every step ok, SLA met") {
    const Document b = build("backup-success");
    worm::validate_bundle_schema(b);
    CHECK(str(b["bundle_id"]) == "EB-20251101-0001");
    CHECK(str(b["bundle_version"]) == "1.0");
    CHECK(str(b["client_id"]) == "clinic-001");
    CHECK(str(b["generated_at"]) == "2025-11-01T05:36:00Z");
    CHECK(b["execution"]["mttr_seconds"].GetInt64() == 322);
    CHECK(b["execution"]["sla_met"].GetBool() == true);
    CHECK(str(b["execution"]["operator"]) == "service:mcp-executor");
    CHECK(str(b["outputs"]["resolution_status"]) == "success");
    CHECK(b["outputs"]["steps_succeeded"].GetInt64() == 4);
    CHECK(b["outputs"]["steps_failed"].GetInt64() == 0);
    CHECK_FALSE(b["outputs"].HasMember("failed_steps"));
    CHECK(b["outputs"]["backup_duration_seconds"].GetInt64() == 192);  // copied from artifacts.outputs
    CHECK(b["actions_taken"].Size() == 4);
    CHECK(b["signatures"].IsObject());
    CHECK(b["signatures"].MemberCount() == 0);
    CHECK(b["storage_locations"].IsArray());
    CHECK(b["storage_locations"].Size() == 0);
    CHECK(str(b["evidence_bundle_hash"]) == worm::compute_bundle_hash(b));
    worm::verify_bundle_hash(b);

    // The seed order of top-level members is kept in the file form.
    std::vector<std::string> names;
    for (const auto& m : b.GetObject()) names.push_back(str(m.name));
    CHECK(names == std::vector<std::string>{"bundle_id", "bundle_version", "client_id", "generated_at", "incident",
                                            "runbook", "execution", "actions_taken", "artifacts", "outputs",
                                            "evidence_bundle_hash", "signatures", "storage_locations"});

    // Written and read back, the bundle still validates and its hash still verifies.
    TempDir dir;
    const fs::path file = dir / "EB-20251101-0001.json";
    worm::write_file_atomic(file, json::to_pretty(b) + "\n");
    const Document back = json::parse_strict(worm::read_file(file), file.string());
    worm::validate_bundle_schema(back);
    worm::verify_bundle_hash(back);

    // The Python agents' hash function (anchors/common.py) agrees on this seed-shaped bundle.
    const fs::path anchors = worm::test::shared_dir() / "anchors";
    const auto r = worm::test::run_command(
        {worm::test::python3(), "-c",
         "import json, sys; sys.path.insert(0, sys.argv[1]); from common import bundle_hash; "
         "print(bundle_hash(json.load(open(sys.argv[2], encoding='utf-8'))))",
         anchors.string(), file.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == str(b["evidence_bundle_hash"]) + "\n");
}

TEST_CASE("failed remediation: partial resolution, SLA missed, the error captured") {
    const Document b = build("backup-failed");
    worm::validate_bundle_schema(b);
    CHECK(b["execution"]["mttr_seconds"].GetInt64() == 15310);  // 4 h 15 m 10 s
    CHECK(b["execution"]["sla_met"].GetBool() == false);
    const Value& out = b["outputs"];
    CHECK(str(out["resolution_status"]) == "partial");
    CHECK(out["steps_succeeded"].GetInt64() == 2);
    CHECK(out["steps_failed"].GetInt64() == 2);
    CHECK(str(out["escalated_to"]) == "on-call technician");
    REQUIRE(out["failed_steps"].Size() == 2);
    const Value& f = out["failed_steps"][0];
    CHECK(f["step"].GetInt64() == 3);
    CHECK(str(f["action"]) == "run_backup_job");
    CHECK(str(f["result"]) == "failed");
    CHECK(f["exit_code"].GetInt64() == 28);
    CHECK(str(f["error"]) == "Backup repository full: No space left on device (wrote 3.1 of 12.4 GB)");
    CHECK(str(out["failed_steps"][1]["error"]) == "skipped: no backup to verify");
    // The action as reported is kept unchanged, error included.
    CHECK(str(b["actions_taken"][2]["error"]) == str(f["error"]));
    CHECK(str(b["actions_taken"][2]["stderr_excerpt"]) == "write failed: No space left on device");
    worm::verify_bundle_hash(b);
}

TEST_CASE("resolution status: failed when no action succeeded, errors derived when not reported") {
    worm::FixedClock clock(kGeneratedAt);
    auto in = sample_inputs("backup-failed");
    for (auto& action : in.actions.GetArray()) {
        action["result"].SetString("error");
        action["exit_code"].SetInt(1);
        action.EraseMember("error");
        action.EraseMember("stderr_excerpt");
    }
    Document b = worm::process_incident("clinic-001", "EB-20251101-0002", std::move(in), clock);
    CHECK(str(b["outputs"]["resolution_status"]) == "failed");
    CHECK(b["outputs"]["failed_steps"].Size() == 4);
    CHECK(str(b["outputs"]["failed_steps"][0]["error"]) == "result error, exit code 1");

    // An "ok" result with a non-zero exit code is not a success.
    in = sample_inputs("backup-success");
    in.actions[3]["exit_code"].SetInt(2);
    b = worm::process_incident("clinic-001", "EB-20251101-0003", std::move(in), clock);
    CHECK(str(b["outputs"]["resolution_status"]) == "partial");

    // No actions at all: nothing was remediated.
    in = sample_inputs("backup-success");
    in.actions.SetArray();
    b = worm::process_incident("clinic-001", "EB-20251101-0004", std::move(in), clock);
    CHECK(str(b["outputs"]["resolution_status"]) == "failed");
}

TEST_CASE("computed fields replace what the agent claims") {
    worm::FixedClock clock(kGeneratedAt);
    auto in = sample_inputs("backup-failed");
    auto& a = in.execution.GetAllocator();
    in.execution.AddMember("mttr_seconds", 1, a);
    in.execution.AddMember("sla_met", true, a);
    in.artifacts["outputs"].AddMember("resolution_status", "success", in.artifacts.GetAllocator());
    const Document b = worm::process_incident("clinic-001", "EB-20251101-0001", std::move(in), clock);
    CHECK(b["execution"]["mttr_seconds"].GetInt64() == 15310);
    CHECK(b["execution"]["sla_met"].GetBool() == false);
    CHECK(str(b["outputs"]["resolution_status"]) == "partial");
}

TEST_CASE("the public API takes and gives JSON text, the same as the document overloads") {
    const fs::path d = sample("backup-success");
    const worm::IncidentInputs text = worm::load_incident_inputs({.incident = d / "incident.json",
                                                                  .runbook = d / "runbook.json",
                                                                  .execution = d / "execution.json",
                                                                  .actions = d / "actions.json",
                                                                  .artifacts = d / "artifacts.json"});
    CHECK(text.incident == worm::read_file(d / "incident.json"));
    worm::FixedClock clock(kGeneratedAt);
    const std::string bundle = worm::process_incident("clinic-001", "EB-20251101-0001", text, clock);
    CHECK(bundle == json::to_pretty(build("backup-success")));
    worm::validate_bundle_schema(bundle);
    worm::verify_bundle_hash(bundle);
    CHECK(worm::compute_bundle_hash(bundle) == worm::compute_bundle_hash(build("backup-success")));
    // Text that is not JSON is a parse error; an edited bundle fails its hash.
    error_of([&] { worm::validate_bundle_schema(std::string_view("{\"a\": 1, \"a\": 2}")); }, ErrorCode::parse);
    std::string edited = bundle;
    edited.replace(edited.find("clinic-001"), 10, "clinic-002");
    error_of([&] { worm::verify_bundle_hash(edited); }, ErrorCode::verification);
    // A section given as text that is not JSON is named when the bundle is built.
    worm::IncidentInputs broken = text;
    broken.runbook = "{";
    CHECK(error_of([&] { worm::process_incident("clinic-001", "EB-20251101-0001", broken, clock); }, ErrorCode::parse)
              .find("incident input /runbook") == 0);
}

TEST_CASE("a combined incident file and the actions file as an object are accepted") {
    const fs::path d = sample("backup-success");
    const std::string combined = "{\"incident\":" + worm::read_file(d / "incident.json") +
                                 ",\"runbook\":" + worm::read_file(d / "runbook.json") +
                                 ",\"execution\":" + worm::read_file(d / "execution.json") +
                                 ",\"actions_taken\":" + worm::read_file(d / "actions.json") +
                                 ",\"artifacts\":" + worm::read_file(d / "artifacts.json") + "}";
    worm::FixedClock clock(kGeneratedAt);
    const Document from_combined =
        worm::process_incident("clinic-001", "EB-20251101-0001", worm::parse_incident_documents(worm::parse_incident_inputs(combined)), clock);
    CHECK(json::canonicalize(from_combined) == json::canonicalize(build("backup-success")));

    TempDir dir;
    worm::write_file_atomic(dir / "all.json", combined);
    worm::write_file_atomic(dir / "actions.json",
                            "{\"actions_taken\":" + worm::read_file(d / "actions.json") + "}");
    auto in = worm::parse_incident_documents(
        worm::load_incident_inputs({.incident = dir / "all.json", .actions = dir / "actions.json"}));
    const Document b = worm::process_incident("clinic-001", "EB-20251101-0001", std::move(in), clock);
    CHECK(json::canonicalize(b) == json::canonicalize(from_combined));

    // A broken input file is named in the error.
    worm::write_file_atomic(dir / "bad.json", "{\"incident\": {\"a\": 1, \"a\": 2}}");
    const std::string msg =
        error_of([&] { worm::load_incident_inputs({.incident = dir / "bad.json"}); }, ErrorCode::parse);
    CHECK(msg.find((dir / "bad.json").string()) == 0);
    CHECK(msg.find("duplicate key \"a\" at /incident") != std::string::npos);
}

TEST_CASE("missing or malformed inputs name the field") {
    worm::FixedClock clock(kGeneratedAt);
    const auto fails = [&](const std::function<void(worm::IncidentDocuments&)>& change, ErrorCode code,
                           const std::string& client = "clinic-001", const std::string& id = "EB-20251101-0001") {
        auto in = sample_inputs("backup-success");
        change(in);
        return error_of([&] { worm::process_incident(client, id, std::move(in), clock); }, code);
    };
    const auto invalid = ErrorCode::invalid_argument;
    CHECK(fails([](auto& in) { in.incident.SetNull(); }, invalid) == "incident input /incident: missing");
    CHECK(fails([](auto& in) { in.runbook.SetArray(); }, invalid) ==
          "incident input /runbook: must be an object, got array");
    CHECK(fails([](auto& in) { in.actions.SetNull(); }, invalid) == "incident input /actions_taken: missing");
    CHECK(fails([](auto& in) { in.execution.EraseMember("timestamp_end"); }, invalid) ==
          "/execution/timestamp_end: missing");
    CHECK(fails([](auto& in) { in.execution["timestamp_start"].SetString("yesterday"); }, invalid)
              .find("/execution/timestamp_start") != std::string::npos);
    CHECK(fails([](auto& in) { in.execution["timestamp_end"].SetString("2025-11-01T05:00:00Z"); }, invalid) ==
          "incident input /execution/timestamp_end: is before timestamp_start");
    CHECK(fails([](auto& in) { in.execution["sla_target_seconds"].SetString("4h"); }, invalid) ==
          "/execution/sla_target_seconds: must be an integer, got string");
    CHECK(fails([](auto& in) { in.actions[1]["exit_code"].SetString("0"); }, invalid) ==
          "/actions_taken/1/exit_code: must be an integer, got string");
    CHECK(fails([](auto& in) { in.actions[0].SetInt(3); }, invalid) ==
          "incident input /actions_taken/0: must be an object, got integer");

    for (const std::string& bad : std::vector<std::string>{"", "../etc", "a/b", ".hidden", "-x", std::string(65, 'a'), std::string("ab\0c", 4),
                                  "caf\xC3\xA9"}) {
        CAPTURE(bad);
        CHECK(fails([](auto&) {}, invalid, bad).find("client_id") != std::string::npos);
    }
    for (const std::string& bad : std::vector<std::string>{"EB-20251101-001", "EB-2025110-0001", "eb-20251101-0001", "EB-20251101-0001.json",
                                  "EB-20251101-00a1"}) {
        CAPTURE(bad);
        CHECK(fails([](auto&) {}, invalid, "clinic-001", bad).find("bundle_id") != std::string::npos);
    }

    // Inputs of the right kind but the wrong content fail the schema, naming pointer and rule.
    CHECK(fails([](auto& in) { in.incident["severity"].SetString("urgent"); }, ErrorCode::schema) ==
          "schema: /incident/severity: enum (must be one of \"info\", \"low\", \"medium\", \"high\", \"critical\")");
    CHECK(fails([](auto& in) { in.incident.EraseMember("hostname"); }, ErrorCode::schema) ==
          "schema: /incident/hostname: required (missing)");
    CHECK(fails([](auto& in) { in.actions[2]["script_hash"].SetString("md5:abc"); }, ErrorCode::schema) ==
          "schema: /actions_taken/2/script_hash: pattern (must match \"^sha256:[0-9a-f]{64}$\")");
}

TEST_CASE("a 64-character client id is the longest accepted") {
    worm::FixedClock clock(kGeneratedAt);
    const std::string id = "A" + std::string(62, 'b') + "9";
    const Document b = worm::process_incident(id, "EB-20251101-12345", sample_inputs("backup-success"), clock);
    CHECK(str(b["client_id"]) == id);
    CHECK(str(b["bundle_id"]) == "EB-20251101-12345");
}

TEST_CASE("schema failures name the JSON pointer and the rule") {
    const Document good = build("backup-success");
    const auto mutated = [&](const std::function<void(Document&)>& change) {
        Document d;
        d.CopyFrom(good, d.GetAllocator());
        change(d);
        return schema_error(d);
    };
    CHECK(mutated([](Document& d) { at(d, "/execution/mttr_seconds").SetInt(-5); }) ==
          "schema: /execution/mttr_seconds: minimum (must be >= 0)");
    CHECK(mutated([](Document& d) { at(d, "/execution/sla_target_seconds").SetInt(0); }) ==
          "schema: /execution/sla_target_seconds: minimum (must be >= 1)");
    CHECK(mutated([](Document& d) { at(d, "/bundle_id").SetString("EB-2025-1"); }) ==
          "schema: /bundle_id: pattern (must match \"^EB-[0-9]{8}-[0-9]{4,}$\")");
    CHECK(mutated([](Document& d) { at(d, "/client_id").SetString("../../etc"); }) ==
          "schema: /client_id: pattern (must match \"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$\")");
    // A NUL byte inside an id is refused (by the pattern, which sees the whole string, or by
    // the extra check that would catch it were the regex to stop at the NUL).
    CHECK(mutated([](Document& d) { at(d, "/client_id").SetString(rapidjson::StringRef("ok\0/../x", 8)); })
              .find("schema: /client_id: pattern") == 0);
    CHECK(mutated([](Document& d) { at(d, "/bundle_id").SetString(rapidjson::StringRef("EB-20251101-0001\0x", 18)); })
              .find("schema: /bundle_id: ") == 0);
    // The pattern has the shape; the calendar is is_valid_bundle_id's (no 99 December).
    CHECK(mutated([](Document& d) { at(d, "/bundle_id").SetString("EB-20261399-0001"); }) ==
          "schema: /bundle_id: format (must be EB-YYYYMMDD-NNNN: a real calendar day, then 4 or more digits)");
    CHECK(mutated([](Document& d) { at(d, "/evidence_bundle_hash").SetString("sha256:ABC"); })
              .find("schema: /evidence_bundle_hash: pattern") == 0);
    CHECK(mutated([](Document& d) { at(d, "/outputs/resolution_status").SetString("done"); }) ==
          "schema: /outputs/resolution_status: enum (must be one of \"success\", \"partial\", \"failed\")");
    CHECK(mutated([](Document& d) { at(d, "/bundle_version").SetString("2.0"); }) ==
          "schema: /bundle_version: enum (must be one of \"1.0\")");
    CHECK(mutated([](Document& d) { at(d, "/actions_taken/0/exit_code").SetString("0"); }) ==
          "schema: /actions_taken/0/exit_code: type (must be \"integer\", got string)");
    CHECK(mutated([](Document& d) { at(d, "/actions_taken/1/result").SetString("okay"); })
              .find("schema: /actions_taken/1/result: enum") == 0);
    CHECK(mutated([](Document& d) { at(d, "/actions_taken/1/step").SetInt(0); }) ==
          "schema: /actions_taken/1/step: minimum (must be >= 1)");
    CHECK(mutated([](Document& d) { d.AddMember("extra", 1, d.GetAllocator()); }) ==
          "schema: /extra: additionalProperties (property not allowed here)");
    CHECK(mutated([](Document& d) { at(d, "/execution").AddMember("note", "x", d.GetAllocator()); }) ==
          "schema: /execution/note: additionalProperties (property not allowed here)");
    CHECK(mutated([](Document& d) { d.EraseMember("storage_locations"); }) ==
          "schema: /storage_locations: required (missing)");
    CHECK(mutated([](Document& d) { at(d, "/incident/hipaa_controls/1").SetString(""); }) ==
          "schema: /incident/hipaa_controls/1: minLength (must have at least 1 characters)");
    CHECK(mutated([](Document& d) { at(d, "/signatures").SetArray(); }) ==
          "schema: /signatures: type (must be \"object\", got array)");
    CHECK(mutated([](Document& d) { at(d, "/storage_locations").PushBack(3, d.GetAllocator()); }) ==
          "schema: /storage_locations/0: type (must be \"object\", \"string\", got integer)");
    // Dates: the shape (pattern) and the calendar (format).
    CHECK(mutated([](Document& d) { at(d, "/generated_at").SetString("2025-11-01T07:36:00+02:00"); })
              .find("schema: /generated_at: pattern") == 0);
    CHECK(mutated([](Document& d) { at(d, "/generated_at").SetString("2025-13-45T99:00:00Z"); }) ==
          "schema: /generated_at: format (must be an RFC 3339 date-time)");
    CHECK(mutated([](Document& d) { at(d, "/actions_taken/3/timestamp").SetString("2025-02-30T00:00:00Z"); }) ==
          "schema: /actions_taken/3/timestamp: format (must be an RFC 3339 date-time)");
    CHECK(mutated([](Document& d) { at(d, "/execution/timestamp_end").SetString("2025-11-01T05:00:00Z"); }) ==
          "schema: /execution/timestamp_end: order (must not be before timestamp_start)");
    // Not an object at all.
    Document arr(rapidjson::kArrayType);
    CHECK(schema_error(arr) == "schema: (root): type (must be \"object\", got array)");

    // Free-form places accept extra fields; offsets are fine outside generated_at.
    Document d;
    d.CopyFrom(good, d.GetAllocator());
    at(d, "/incident/details").AddMember("anything", Value(rapidjson::kArrayType), d.GetAllocator());
    at(d, "/artifacts").AddMember("new_artifact", "x", d.GetAllocator());
    at(d, "/outputs").AddMember("new_output", 1.5, d.GetAllocator());
    at(d, "/runbook").AddMember("runbook_name", "Backup recovery", d.GetAllocator());
    at(d, "/storage_locations").PushBack("file:///var/evidence/x.json", d.GetAllocator());
    at(d, "/incident/detected_at").SetString("2025-11-01T07:30:00.123+02:00");
    worm::validate_bundle_schema(d);
}

TEST_CASE("schema validation from many threads at once gives each thread its own answer") {
    // RapidJSON's regex keeps match state in the compiled pattern: a shared compiled schema
    // crashed or misjudged "pattern" rules when threads validated together.
    const Document good = build("backup-success");
    Document bad;
    bad.CopyFrom(good, bad.GetAllocator());
    at(bad, "/client_id").SetString("../../etc");
    constexpr int kThreads = 8, kRounds = 300;
    std::vector<int> wrong(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kRounds; ++i) {
                const bool expect_ok = (i + t) % 2 == 0;
                bool ok = true;
                try {
                    worm::validate_bundle_schema(expect_ok ? good : bad);
                } catch (const Error&) {
                    ok = false;
                }
                if (ok != expect_ok) ++wrong[t];
            }
        });
    for (auto& t : threads) t.join();
    for (int t = 0; t < kThreads; ++t) CHECK_MESSAGE(wrong[t] == 0, "thread " << t);
}

TEST_CASE("the evidence hash ignores member order and catches any value change") {
    const Document b = build("backup-failed");
    const std::string hash = worm::compute_bundle_hash(b);
    CHECK(hash.size() == 7 + 64);
    CHECK(hash.rfind("sha256:", 0) == 0);

    Document rev;
    static_cast<Value&>(rev) = reversed(b, rev.GetAllocator());
    CHECK(json::to_compact(rev) != json::to_compact(b));
    CHECK(worm::compute_bundle_hash(rev) == hash);
    CHECK(worm::compute_bundle_hash(json::parse_strict(json::to_pretty(b))) == hash);

    // Excluded members do not count.
    Document d;
    d.CopyFrom(b, d.GetAllocator());
    at(d, "/signatures").AddMember("ed25519", "AAAA", d.GetAllocator());
    at(d, "/storage_locations").PushBack("s3://bucket/key", d.GetAllocator());
    at(d, "/evidence_bundle_hash").SetString("sha256:0000000000000000000000000000000000000000000000000000000000000000");
    CHECK(worm::compute_bundle_hash(d) == hash);
    error_of([&] { worm::verify_bundle_hash(d); }, ErrorCode::verification);

    // Every scalar outside the excluded members changes the hash when changed.
    int leaves = 0;
    for_each_leaf(b, "", [&](const std::string& pointer) {
        if (pointer.rfind("/evidence_bundle_hash", 0) == 0) return;
        CAPTURE(pointer);
        Document m;
        m.CopyFrom(b, m.GetAllocator());
        Value& v = at(m, pointer.c_str());
        if (v.IsString())
            v.SetString((str(v) + "x").c_str(), m.GetAllocator());
        else if (v.IsBool())
            v.SetBool(!v.GetBool());
        else if (v.IsInt64())
            v.SetInt64(v.GetInt64() + 1);
        else if (v.IsDouble())
            v.SetDouble(v.GetDouble() + 0.5);
        else
            v.SetString("was null");
        CHECK(worm::compute_bundle_hash(m) != hash);
        const std::string msg = error_of([&] { worm::verify_bundle_hash(m); }, ErrorCode::verification);
        CHECK(msg.find("mismatch") != std::string::npos);
        ++leaves;
    });
    CHECK(leaves > 60);

    // Changing a key (not only a value) also changes it.
    Document k;
    k.CopyFrom(b, k.GetAllocator());
    at(k, "/incident/details").AddMember("extra", "", k.GetAllocator());
    CHECK(worm::compute_bundle_hash(k) != hash);
}

// ---- ids -------------------------------------------------------------------------------

namespace {
const worm::TimePoint kDay1 = worm::parse_rfc3339("2025-11-01T23:59:59Z");
}

TEST_CASE("bundle ids are sequential per directory and survive restarts") {
    TempDir dir;
    worm::FixedClock clock(kDay1);
    {
        worm::BundleIdAllocator ids(dir.path(), clock);
        CHECK(ids.next() == "EB-20251101-0001");
        CHECK(ids.next() == "EB-20251101-0002");
        CHECK(ids.next() == "EB-20251101-0003");
    }
    worm::BundleIdAllocator again(dir.path(), clock);  // a restart
    CHECK(again.next() == "EB-20251101-0004");
    CHECK(worm::read_file(dir / ".bundle-id-counter") == "20251101 4\n");

    // Another directory has its own sequence.
    TempDir other;
    CHECK(worm::BundleIdAllocator(other.path(), clock).next() == "EB-20251101-0001");
    // A missing evidence directory is created.
    CHECK(worm::BundleIdAllocator(other / "a/b", clock).next() == "EB-20251101-0001");
}

TEST_CASE("bundle ids roll over at UTC midnight and never go back") {
    TempDir dir;
    worm::FixedClock clock(kDay1);
    worm::BundleIdAllocator ids(dir.path(), clock);
    CHECK(ids.next() == "EB-20251101-0001");
    CHECK(ids.next() == "EB-20251101-0002");
    clock.advance(std::chrono::seconds(1));  // 2025-11-02T00:00:00Z
    CHECK(ids.next() == "EB-20251102-0001");
    CHECK(ids.next() == "EB-20251102-0002");
    // The clock steps back to the previous day: that day continues, nothing is reused.
    clock.set(kDay1);
    CHECK(ids.next() == "EB-20251101-0003");
    clock.advance(std::chrono::hours(24));
    CHECK(ids.next() == "EB-20251102-0003");
}

TEST_CASE("after 9999 ids in one day the number grows to 5 digits") {
    TempDir dir;
    worm::write_file_atomic(dir / ".bundle-id-counter", "20251101 9998\n");
    worm::FixedClock clock(kDay1);
    worm::BundleIdAllocator ids(dir.path(), clock);
    CHECK(ids.next() == "EB-20251101-9999");
    CHECK(ids.next() == "EB-20251101-10000");
    CHECK(ids.next() == "EB-20251101-10001");
    CHECK(worm::is_valid_bundle_id("EB-20251101-10001"));
}

TEST_CASE("an id whose bundle file exists is never handed out") {
    TempDir dir;
    worm::FixedClock clock(kDay1);
    worm::BundleIdAllocator ids(dir.path(), clock);
    worm::write_file_atomic(dir / "EB-20251101-0001.json", "{}");
    worm::write_file_atomic(dir / "EB-20251101-0002.sig", "x");
    CHECK(ids.next() == "EB-20251101-0003");
    worm::write_file_atomic(dir / "EB-20251101-0004.json", "{}");
    CHECK(ids.next() == "EB-20251101-0005");

    // The counter is lost: continue after the highest bundle file, at any depth.
    fs::remove(dir / ".bundle-id-counter");
    fs::create_directories(dir / "clinic-001/2025/11");
    worm::write_file_atomic(dir / "clinic-001/2025/11/EB-20251101-0041.json", "{}");
    worm::write_file_atomic(dir / "clinic-001/2025/11/EB-20251031-0900.json", "{}");  // another day
    CHECK(ids.next() == "EB-20251101-0042");
}

TEST_CASE("a corrupt counter file is refused, not reset") {
    TempDir dir;
    worm::FixedClock clock(kDay1);
    for (const std::string bad : {"20251101 12x\n", "garbage\n", "2025110 1\n", "20251101 99999999999999999999999\n"}) {
        CAPTURE(bad);
        worm::write_file_atomic(dir / ".bundle-id-counter", bad);
        const std::string msg =
            error_of([&] { worm::BundleIdAllocator(dir.path(), clock).next(); }, ErrorCode::integrity);
        CHECK(msg.find(".bundle-id-counter") != std::string::npos);
    }
}

TEST_CASE("bundle ids are unique and gap-free across concurrent processes") {
    TempDir dir;
    constexpr int kChildren = 4;
    constexpr int kEach = 25;
    std::vector<std::string> all;
    for (const auto& mine : worm::test::lines_from_children(dir.path(), kChildren, [&](int) {
             worm::FixedClock clock(kDay1);
             worm::BundleIdAllocator ids(dir.path(), clock);
             std::string out;
             for (int i = 0; i < kEach; ++i) out += ids.next() + "\n";
             return out;
         })) {
        CHECK(mine.size() == static_cast<std::size_t>(kEach));
        CHECK(std::is_sorted(mine.begin(), mine.end()));  // each process sees its ids increase
        all.insert(all.end(), mine.begin(), mine.end());
    }
    std::set<std::string> distinct(all.begin(), all.end());
    CHECK(distinct.size() == all.size());
    std::set<std::string> expected;
    char buf[32];
    for (int n = 1; n <= kChildren * kEach; ++n) {
        std::snprintf(buf, sizeof buf, "EB-20251101-%04d", n);
        expected.insert(buf);
    }
    CHECK(distinct == expected);
    CHECK(worm::read_file(dir / ".bundle-id-counter") == "20251101 " + std::to_string(kChildren * kEach) + "\n");
}

// ---- the agents' own evidence (seed 003) --------------------------------------------

namespace {

fs::path seed_bundle_path() { return worm::test::testdata_dir() / "seed" / "EB-20251101-0002.json"; }

Document seed_bundle() { return json::parse_strict(worm::test::read_file(seed_bundle_path()), "seed bundle"); }

}  // namespace

TEST_CASE("the agents' example bundle (seed 003) validates as it is") {
    const Document seed = seed_bundle();
    REQUIRE_FALSE(seed["actions_taken"][2].HasMember("stdout_excerpt"));  // the manual-looking step 3
    worm::validate_bundle_schema(seed);

    // Its sections go through the builder (the file holds every section, as `worm bundle
    // --incident` takes them) and come out as a valid libworm bundle.
    worm::FixedClock clock(worm::parse_rfc3339("2025-11-01T09:34:18Z"));
    const Document b = worm::process_incident("test-client-001", "EB-20251101-0002",
                                              worm::parse_incident_documents(
                                                  worm::parse_incident_inputs(worm::test::read_file(seed_bundle_path()))),
                                              clock);
    CHECK(str(b["outputs"]["resolution_status"]) == "success");
    CHECK(b["outputs"]["steps_succeeded"].GetInt64() == 4);
    CHECK(b["execution"]["mttr_seconds"].GetInt64() == 322);
    CHECK(json::canonicalize(b["actions_taken"]) == json::canonicalize(seed["actions_taken"]));
    worm::verify_bundle_hash(b);
}

TEST_CASE("an action needs step, action, result and timestamp; the rest is optional but typed") {
    const Document seed = seed_bundle();
    const auto with_action = [&](const std::function<void(Value&, Document::AllocatorType&)>& change) {
        Document d;
        d.CopyFrom(seed, d.GetAllocator());
        change(at(d, "/actions_taken/1"), d.GetAllocator());
        return d;
    };
    // A manual step: no script, no exit code, no output.
    const Document manual = with_action([](Value& action, auto&) {
        for (const char* optional : {"script_hash", "exit_code", "stdout_excerpt"}) action.EraseMember(optional);
        REQUIRE(action.MemberCount() == 4);
    });
    worm::validate_bundle_schema(manual);
    // Every optional field, present and well typed.
    worm::validate_bundle_schema(with_action([](Value& action, auto& a) {
        action.AddMember("stderr_excerpt", "", a);
        action.AddMember("error", "none", a);
        action.AddMember("duration_seconds", 1.5, a);
    }));

    const auto refused = [&](const char* member, Value value) {
        return schema_error(with_action([&](Value& action, auto& a) {
            action.EraseMember(member);
            action.AddMember(rapidjson::StringRef(member), value, a);
        }));
    };
    CHECK(refused("script_hash", Value("sha256:1234")) ==
          "schema: /actions_taken/1/script_hash: pattern (must match \"^sha256:[0-9a-f]{64}$\")");
    CHECK(refused("script_hash", Value(rapidjson::StringRef("sha256:" "2222222222222222222222222222222222222222222222222222222222222222x")))
              .find("schema: /actions_taken/1/script_hash: pattern") == 0);
    CHECK(refused("stdout_excerpt", Value(5)) ==
          "schema: /actions_taken/1/stdout_excerpt: type (must be \"string\", got integer)");
    CHECK(refused("stderr_excerpt", Value(rapidjson::kNullType)) ==
          "schema: /actions_taken/1/stderr_excerpt: type (must be \"string\", got null)");
    CHECK(refused("error", Value(true)) == "schema: /actions_taken/1/error: type (must be \"string\", got boolean)");
    CHECK(refused("exit_code", Value(0.5)) ==
          "schema: /actions_taken/1/exit_code: type (must be \"integer\", got number)");
    CHECK(refused("duration_seconds", Value(-1)) ==
          "schema: /actions_taken/1/duration_seconds: minimum (must be >= 0)");
    for (const char* required : {"step", "action", "result", "timestamp"}) {
        CAPTURE(required);
        CHECK(schema_error(with_action([&](Value& action, auto&) { action.EraseMember(required); })) ==
              std::string("schema: /actions_taken/1/") + required + ": required (missing)");
    }

    // The builder counts a manual step by its result alone.
    worm::FixedClock clock(kGeneratedAt);
    auto in = sample_inputs("backup-failed");
    for (const char* optional : {"script_hash", "exit_code", "stdout_excerpt", "stderr_excerpt"})
        in.actions[2].EraseMember(optional);
    const Document b = worm::process_incident("clinic-001", "EB-20251101-0001", std::move(in), clock);
    REQUIRE(b["outputs"]["failed_steps"].Size() == 2);
    CHECK_FALSE(b["outputs"]["failed_steps"][0].HasMember("exit_code"));
    CHECK(str(b["outputs"]["failed_steps"][0]["error"]) ==
          "Backup repository full: No space left on device (wrote 3.1 of 12.4 GB)");
    in = sample_inputs("backup-success");
    in.actions[1].EraseMember("exit_code");
    CHECK(str(worm::process_incident("clinic-001", "EB-20251101-0001", std::move(in), clock)["outputs"]
                  ["resolution_status"]) == "success");
}

// ---- ids: one rule each ------------------------------------------------------------

TEST_CASE("bundle ids: one rule (a real calendar day) for schema, builder and uploader") {
    for (const char* good : {"EB-20251101-0001", "EB-20240229-0001", "EB-20251231-9999", "EB-20251101-10000",
                             "EB-00010101-0001"}) {
        CAPTURE(good);
        CHECK(worm::is_valid_bundle_id(good));
        CHECK_NOTHROW(worm::validate_bundle_id(good));
    }
    // The first two passed the schema's check but not the uploader's before they shared one rule.
    for (const std::string& bad : std::vector<std::string>{
             "EB-20261399-0001", "EB-20251301-0001", "EB-20250229-0001", "EB-20251100-0001", "EB-20250431-0001",
             "EB-20251101-001", "EB-2025110-00001", "eb-20251101-0001", "EB-20251101_0001", "EB-20251101-00a1",
             "EB-20251101-0001.json", std::string("EB-20251101-0001\0", 17), ""}) {
        CAPTURE(bad);
        CHECK_FALSE(worm::is_valid_bundle_id(bad));
        const std::string msg = error_of([&] { worm::validate_bundle_id(bad); }, ErrorCode::invalid_argument);
        CHECK(msg.find("invalid bundle id") == 0);
        CHECK(msg.find("a real calendar day") != std::string::npos);
    }
    worm::FixedClock clock(kGeneratedAt);
    CHECK(error_of([&] { worm::process_incident("clinic-001", "EB-20261399-0001", sample_inputs("backup-success"), clock); },
                   ErrorCode::invalid_argument)
              .find("bundle_id: invalid bundle id 'EB-20261399-0001'") == 0);
}

TEST_CASE("client ids: one rule for the schema, the builder and the stores") {
    for (const std::string& good : std::vector<std::string>{"clinic-001", "A.b_c-9", "0", std::string(64, 'x')}) {
        CAPTURE(good);
        CHECK(worm::is_valid_client_id(good));
        CHECK_NOTHROW(worm::validate_client_id(good));
    }
    for (const std::string& bad : std::vector<std::string>{"", ".hidden", "-x", "_x", "a/b", "../etc", "a b",
                                                           std::string(65, 'x'), std::string("ab\0c", 4), "caf\xC3\xA9"}) {
        CAPTURE(bad);
        CHECK_FALSE(worm::is_valid_client_id(bad));
        CHECK(error_of([&] { worm::validate_client_id(bad); }, ErrorCode::invalid_argument).find("invalid client id") == 0);
        // The schema agrees (a bundle with this client id does not validate).
        Document d = build("backup-success");
        at(d, "/client_id").SetString(bad.data(), static_cast<rapidjson::SizeType>(bad.size()), d.GetAllocator());
        CHECK(schema_error(d).find("schema: /client_id: pattern") == 0);
    }
}
