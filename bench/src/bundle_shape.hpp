// bundle_shape.hpp: the seed-shaped bundle of anchors/common.py make_bundle(i), built as a
// RapidJSON document field by field, the same work the Python anchor does with a dict.
#pragma once

#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace bench {

class BundleShape {
public:
    // Fills doc (an object) like make_bundle(i, "clinic-001"), with "now" timestamps.
    static void make(rapidjson::Document& doc, long long i) {
        using rapidjson::Value;
        auto& a = doc.GetAllocator();
        const auto now = std::chrono::system_clock::now();
        const std::time_t t = std::chrono::system_clock::to_time_t(now);
        std::tm tm{};
        gmtime_r(&t, &tm);
        const long long micros =
            std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
        char day[16], generated[40], bundle_id[32], incident_id[40];
        std::strftime(day, sizeof day, "%Y%m%d", &tm);
        char base[24];
        std::strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
        std::snprintf(generated, sizeof generated, "%s.%06lldZ", base, micros);
        std::snprintf(bundle_id, sizeof bundle_id, "EB-%s-%04lld", day, i % 10000);
        std::snprintf(incident_id, sizeof incident_id, "INC-%s-%04lld", day, i);

        auto s = [&](const std::string& text) { return Value(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), a); };
        auto obj = [] { return Value(rapidjson::kObjectType); };
        auto arr = [] { return Value(rapidjson::kArrayType); };

        doc.SetObject();
        doc.AddMember("bundle_id", s(bundle_id), a);
        doc.AddMember("bundle_version", "1.0", a);
        doc.AddMember("client_id", "clinic-001", a);
        doc.AddMember("generated_at", s(generated), a);

        Value details = obj();
        details.AddMember("backup_age_hours", 36.5, a);
        details.AddMember("error", "Connection timeout to backup repository", a);
        Value controls = arr();
        controls.PushBack("164.308(a)(7)(ii)(A)", a).PushBack("164.310(d)(2)(iv)", a);
        Value incident = obj();
        incident.AddMember("incident_id", s(incident_id), a);
        incident.AddMember("event_type", "backup_failure", a);
        incident.AddMember("severity", "high", a);
        incident.AddMember("detected_at", "2025-11-01T05:30:00Z", a);
        incident.AddMember("hostname", "srv-primary.clinic.local", a);
        incident.AddMember("details", details, a);
        incident.AddMember("hipaa_controls", controls, a);
        doc.AddMember("incident", incident, a);

        Value runbook = obj();
        runbook.AddMember("runbook_id", "RB-BACKUP-001", a);
        runbook.AddMember("runbook_version", "1.0", a);
        std::string ab = "sha256:";
        for (int k = 0; k < 32; ++k) ab += "ab";
        runbook.AddMember("runbook_hash", s(ab), a);
        runbook.AddMember("steps_total", 4, a);
        runbook.AddMember("steps_executed", 4, a);
        doc.AddMember("runbook", runbook, a);

        Value execution = obj();
        execution.AddMember("timestamp_start", "2025-11-01T05:30:00Z", a);
        execution.AddMember("timestamp_end", "2025-11-01T05:35:22Z", a);
        execution.AddMember("operator", "service:mcp-executor", a);
        execution.AddMember("mttr_seconds", 322, a);
        execution.AddMember("sla_target_seconds", 14400, a);
        execution.AddMember("sla_met", true, a);
        execution.AddMember("resolution_type", "auto", a);
        doc.AddMember("execution", execution, a);

        Value actions = arr();
        for (int step = 1; step <= 4; ++step) {
            Value action = obj();
            action.AddMember("step", step, a);
            action.AddMember("action", s("step_" + std::to_string(step)), a);
            action.AddMember("script_hash", s("sha256:" + std::string(64, static_cast<char>('0' + step))), a);
            action.AddMember("result", "ok", a);
            action.AddMember("exit_code", 0, a);
            action.AddMember("timestamp", "2025-11-01T05:30:15Z", a);
            action.AddMember("stdout_excerpt", "Backup completed successfully: 12.4 GB transferred", a);
            actions.PushBack(action, a);
        }
        doc.AddMember("actions_taken", actions, a);

        std::string log;
        for (int k = 0; k < 8; ++k) log += "[2025-11-01 05:30:00] Starting backup job...\n";
        Value excerpts = obj();
        excerpts.AddMember("backup_log", s(log), a);
        Value checksums = obj();
        checksums.AddMember("backup_file", s("sha256:" + std::string(64, '5')), a);
        Value art_outputs = obj();
        art_outputs.AddMember("backup_duration_seconds", 192, a);
        art_outputs.AddMember("backup_size_gb", 12.4, a);
        Value artifacts = obj();
        artifacts.AddMember("log_excerpts", excerpts, a);
        artifacts.AddMember("checksums", checksums, a);
        artifacts.AddMember("outputs", art_outputs, a);
        doc.AddMember("artifacts", artifacts, a);

        Value outputs = obj();
        outputs.AddMember("resolution_status", "success", a);
        outputs.AddMember("backup_duration_seconds", 192, a);
        doc.AddMember("outputs", outputs, a);
        doc.AddMember("signatures", obj(), a);
        doc.AddMember("storage_locations", arr(), a);
    }
};

}  // namespace bench
