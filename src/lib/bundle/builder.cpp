// The evidence hash and the bundle builder (process_incident).
#include <chrono>
#include <optional>
#include <string>

#include "worm/bundle_json.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"

namespace worm {

namespace {

using rapidjson::Document;
using rapidjson::Value;

// Members left out of the hash: the hash itself and what is added after hashing.
bool excluded_from_hash(std::string_view name) {
    return name == "evidence_bundle_hash" || name == "signatures" || name == "storage_locations";
}

[[noreturn]] void bad_input(const std::string& pointer, const std::string& why) {
    throw Error(ErrorCode::invalid_argument, "incident input " + pointer + ": " + why);
}

Value copy(const Value& v, Document::AllocatorType& a) { return Value(v, a); }

}  // namespace

std::string compute_bundle_hash(const Value& bundle) {
    if (!bundle.IsObject())
        throw Error(ErrorCode::invalid_argument,
                    "bundle must be a JSON object, got " + std::string(json::type_name(bundle)));
    // A copy of the bundle without the excluded members.
    Document body(rapidjson::kObjectType);
    for (const auto& m : bundle.GetObject()) {
        if (excluded_from_hash(std::string_view(m.name.GetString(), m.name.GetStringLength()))) continue;
        body.AddMember(Value(rapidjson::StringRef(m.name.GetString(), m.name.GetStringLength())),
                       Value(m.value, body.GetAllocator()), body.GetAllocator());
    }
    return "sha256:" + sha256_hex(json::canonicalize(body));
}

std::string compute_bundle_hash(std::string_view bundle_json) {
    return compute_bundle_hash(json::parse_strict(bundle_json, "bundle"));
}

void verify_bundle_hash(std::string_view bundle_json) { verify_bundle_hash(json::parse_strict(bundle_json, "bundle")); }

void verify_bundle_hash(const Value& bundle) {
    const Value* recorded = json::find_member(bundle, "evidence_bundle_hash");
    if (!recorded || !recorded->IsString())
        throw Error(ErrorCode::verification, "bundle has no evidence_bundle_hash");
    const std::string computed = compute_bundle_hash(bundle);
    if (!constant_time_equal(computed, std::string_view(recorded->GetString(), recorded->GetStringLength())))
        throw Error(ErrorCode::verification, "evidence_bundle_hash mismatch: the bundle records " +
                                                 std::string(recorded->GetString()) + " but its content hashes to " +
                                                 computed + " (edited after hashing)");
}

// ---- inputs ---------------------------------------------------------------------------

IncidentInputs parse_incident_inputs(std::string_view json_text, std::string_view what) {
    Document doc = json::parse_strict(json_text, what);
    IncidentInputs in;
    if (!doc.IsObject())
        throw Error(ErrorCode::invalid_argument,
                    std::string(what) + ": must be a JSON object, got " + std::string(json::type_name(doc)));
    const Value* incident = json::find_member(doc, "incident");
    if (!incident || !incident->IsObject()) {
        in.incident = std::string(json_text);  // just the incident
        return in;
    }
    in.incident = json::to_compact(*incident);
    if (const Value* v = json::find_member(doc, "runbook")) in.runbook = json::to_compact(*v);
    if (const Value* v = json::find_member(doc, "execution")) in.execution = json::to_compact(*v);
    if (const Value* v = json::find_member(doc, "actions_taken")) in.actions = json::to_compact(*v);
    else if (const Value* v2 = json::find_member(doc, "actions")) in.actions = json::to_compact(*v2);
    if (const Value* v = json::find_member(doc, "artifacts")) in.artifacts = json::to_compact(*v);
    return in;
}

IncidentInputs load_incident_inputs(const IncidentFiles& files) {
    IncidentInputs in = parse_incident_inputs(read_file(files.incident), files.incident.string());
    // Separate files are checked here, so an error names the file, not the section.
    const auto load = [](const std::filesystem::path& p) {
        std::string text = read_file(p);
        (void)json::parse_strict(text, p.string());
        return text;
    };
    if (files.runbook) in.runbook = load(*files.runbook);
    if (files.execution) in.execution = load(*files.execution);
    if (files.actions) {
        // The actions file may be the array itself or {"actions_taken": [...]}.
        const std::string text = read_file(*files.actions);
        const Document doc = json::parse_strict(text, files.actions->string());
        const Value* inner = doc.IsObject() ? json::find_member(doc, "actions_taken") : nullptr;
        if (!inner && doc.IsObject()) inner = json::find_member(doc, "actions");
        in.actions = inner ? json::to_compact(*inner) : text;
    }
    if (files.artifacts) in.artifacts = load(*files.artifacts);
    return in;
}

IncidentDocuments parse_incident_documents(const IncidentInputs& inputs) {
    const auto parse = [](const std::string& text, const char* pointer) {
        return text.empty() ? Document() : json::parse_strict(text, std::string("incident input ") + pointer);
    };
    IncidentDocuments d;
    d.incident = parse(inputs.incident, "/incident");
    d.runbook = parse(inputs.runbook, "/runbook");
    d.execution = parse(inputs.execution, "/execution");
    d.actions = parse(inputs.actions, "/actions_taken");
    d.artifacts = parse(inputs.artifacts, "/artifacts");
    return d;
}

std::string process_incident(const std::string& client_id, const std::string& bundle_id, const IncidentInputs& inputs,
                             const Clock& clock) {
    return json::to_pretty(process_incident(client_id, bundle_id, parse_incident_documents(inputs), clock));
}

// ---- builder --------------------------------------------------------------------------

rapidjson::Document process_incident(const std::string& client_id, const std::string& bundle_id,
                                     IncidentDocuments inputs, const Clock& clock) {
    const auto check_id = [](const char* field, const auto& validate, const std::string& id) {
        try {
            validate(id);
        } catch (const Error& e) {
            throw Error(ErrorCode::invalid_argument, std::string(field) + ": " + e.what());
        }
    };
    check_id("client_id", validate_client_id, client_id);
    check_id("bundle_id", validate_bundle_id, bundle_id);

    const auto require_object = [](const Document& d, const char* pointer) {
        if (d.IsNull()) bad_input(pointer, "missing");
        if (!d.IsObject()) bad_input(pointer, "must be an object, got " + std::string(json::type_name(d)));
    };
    require_object(inputs.incident, "/incident");
    require_object(inputs.runbook, "/runbook");
    require_object(inputs.execution, "/execution");
    if (inputs.actions.IsNull()) bad_input("/actions_taken", "missing");
    if (!inputs.actions.IsArray())
        bad_input("/actions_taken", "must be an array, got " + std::string(json::type_name(inputs.actions)));
    if (inputs.artifacts.IsNull()) inputs.artifacts.SetObject();
    require_object(inputs.artifacts, "/artifacts");

    // Execution: MTTR and SLA are computed here, never taken from the agent.
    const Value& exec_in = inputs.execution;
    const auto timestamp = [&](const char* name) {
        const std::string text = json::require_string(exec_in, name, "/execution");
        try {
            return parse_rfc3339(text);
        } catch (const Error& e) {
            bad_input(std::string("/execution/") + name, e.what());
        }
    };
    const TimePoint start = timestamp("timestamp_start");
    const TimePoint end = timestamp("timestamp_end");
    if (end < start) bad_input("/execution/timestamp_end", "is before timestamp_start");
    const std::int64_t sla_target = json::require_int64(exec_in, "sla_target_seconds", "/execution");
    if (sla_target <= 0) bad_input("/execution/sla_target_seconds", "must be a positive number of seconds");
    const std::int64_t mttr = std::chrono::floor<std::chrono::seconds>(end - start).count();

    Document bundle(rapidjson::kObjectType);
    auto& a = bundle.GetAllocator();
    bundle.AddMember("bundle_id", json::make_string(bundle_id, a), a);
    bundle.AddMember("bundle_version", json::make_string(kBundleVersion, a), a);
    bundle.AddMember("client_id", json::make_string(client_id, a), a);
    bundle.AddMember("generated_at", json::make_string(format_rfc3339(clock.now()), a), a);
    bundle.AddMember("incident", copy(inputs.incident, a), a);
    bundle.AddMember("runbook", copy(inputs.runbook, a), a);

    Value execution = copy(exec_in, a);
    execution.EraseMember("mttr_seconds");
    execution.EraseMember("sla_met");
    execution.AddMember("mttr_seconds", Value(mttr), a);
    execution.AddMember("sla_met", Value(mttr <= sla_target), a);
    bundle.AddMember("execution", execution, a);

    // Actions: count what succeeded and keep the error of each failure.
    Value failed_steps(rapidjson::kArrayType);
    std::int64_t succeeded = 0, failed = 0;
    for (rapidjson::SizeType i = 0; i < inputs.actions.Size(); ++i) {
        const Value& action = inputs.actions[i];
        const std::string pointer = json::pointer_append("/actions_taken", i);
        if (!action.IsObject()) bad_input(pointer, "must be an object, got " + std::string(json::type_name(action)));
        const std::string result = json::require_string(action, "result", pointer);
        // A manual step has no script and so no exit code: its result alone decides.
        std::optional<std::int64_t> exit_code;
        if (json::find_member(action, "exit_code")) exit_code = json::require_int64(action, "exit_code", pointer);
        if (result == "ok" && exit_code.value_or(0) == 0) {
            ++succeeded;
            continue;
        }
        ++failed;
        std::string error;
        if (const Value* e = json::find_member(action, "error"); e && e->IsString() && e->GetStringLength())
            error.assign(e->GetString(), e->GetStringLength());
        else if (const Value* s = json::find_member(action, "stderr_excerpt"); s && s->IsString() && s->GetStringLength())
            error.assign(s->GetString(), s->GetStringLength());
        else
            error = "result " + result + (exit_code ? ", exit code " + std::to_string(*exit_code) : "");
        Value f(rapidjson::kObjectType);
        if (const Value* step = json::find_member(action, "step")) f.AddMember("step", copy(*step, a), a);
        if (const Value* name = json::find_member(action, "action")) f.AddMember("action", copy(*name, a), a);
        f.AddMember("result", json::make_string(result, a), a);
        if (exit_code) f.AddMember("exit_code", Value(*exit_code), a);
        f.AddMember("error", json::make_string(error, a), a);
        failed_steps.PushBack(f, a);
    }
    bundle.AddMember("actions_taken", copy(inputs.actions, a), a);
    bundle.AddMember("artifacts", copy(inputs.artifacts, a), a);

    const char* status = (succeeded > 0 && failed == 0) ? "success" : succeeded > 0 ? "partial" : "failed";
    Value outputs(rapidjson::kObjectType);
    if (const Value* reported = json::find_member(inputs.artifacts, "outputs"); reported && reported->IsObject())
        outputs.CopyFrom(*reported, a);
    // The agent does not get to claim its own resolution status.
    for (const char* computed : {"resolution_status", "steps_succeeded", "steps_failed", "failed_steps"})
        outputs.EraseMember(computed);
    outputs.AddMember("resolution_status", Value(rapidjson::StringRef(status)), a);
    outputs.AddMember("steps_succeeded", Value(succeeded), a);
    outputs.AddMember("steps_failed", Value(failed), a);
    if (failed > 0) outputs.AddMember("failed_steps", failed_steps, a);
    bundle.AddMember("outputs", outputs, a);

    bundle.AddMember("evidence_bundle_hash", json::make_string(compute_bundle_hash(bundle), a), a);
    bundle.AddMember("signatures", Value(rapidjson::kObjectType), a);
    bundle.AddMember("storage_locations", Value(rapidjson::kArrayType), a);

    validate_bundle_schema(bundle);
    return bundle;
}

}  // namespace worm
