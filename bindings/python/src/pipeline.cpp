// The evidence pipeline: _worm._Pipeline (wrapped by worm.EvidencePipeline in
// worm/_agent.py), _worm._verify_report and _worm._verify_evidence (used by worm.verify_file).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "worm/bundle_json.hpp"
#include "worm/json.hpp"
#include "worm/compliance/cosign.hpp"
#include "worm/error.hpp"
#include "worm/config.hpp"
#include "worm/pipeline.hpp"
#include "worm/signer.hpp"
#include "worm/storage.hpp"
#include "worm/uploader.hpp"

namespace worm::python {

namespace fs = std::filesystem;

namespace {

// A section of the inputs as JSON text: None stays "" ("not given").
std::string section(const py::object& value) {
    if (value.is_none()) return {};
    return json::to_compact(to_json(value));
}

IncidentInputs inputs_of(const py::object& incident, const py::object& runbook, const py::object& execution,
                         const py::object& actions, const py::object& artifacts) {
    return IncidentInputs{.incident = section(incident), .runbook = section(runbook), .execution = section(execution),
                          .actions = section(actions), .artifacts = section(artifacts)};
}

py::dict result_dict(const BundleResult& r) {
    py::dict d;
    d["bundle_id"] = r.bundle_id;
    d["bundle_path"] = r.bundle_path;
    d["sig_path"] = r.sig_path;
    d["evidence_bundle_hash"] = r.evidence_bundle_hash;
    d["bundle_uri"] = to_py_str(r.bundle_uri);
    d["sig_uri"] = to_py_str(r.sig_uri);
    d["upload_status"] = r.upload_status;
    d["upload_error"] = to_py_str(r.upload_error);
    return d;
}

// One incident of a batch: a mapping with the keyword arguments of process_incident
// (incident, runbook, execution, actions or actions_taken, artifacts).
IncidentInputs inputs_of_mapping(const py::handle& item, std::size_t index) {
    if (!py::isinstance<py::dict>(item))
        throw Error(ErrorCode::invalid_argument, "incident #" + std::to_string(index) +
                                                     ": expected a dict with incident, runbook, execution, "
                                                     "actions and artifacts");
    const py::dict d = py::reinterpret_borrow<py::dict>(item);
    const auto get = [&](const char* key) { return d.contains(key) ? py::object(d[key]) : py::object(py::none()); };
    py::object actions = get("actions");
    if (actions.is_none()) actions = get("actions_taken");
    return inputs_of(get("incident"), get("runbook"), get("execution"), actions, get("artifacts"));
}

py::dict report_dict(const VerificationReport& r) {
    py::dict d;
    d["ok"] = r.ok();
    d["signature_valid"] = r.signature_valid;
    d["hash_valid"] = r.hash_valid;
    d["schema_valid"] = r.schema_valid;
    d["bundle_id"] = to_py_str(r.bundle_id);
    d["evidence_bundle_hash"] = to_py_str(r.evidence_bundle_hash);
    py::list problems;
    for (const auto& p : r.problems) problems.append(to_py_str(p));
    d["problems"] = problems;
    d["summary"] = to_py_str(r.summary());
    return d;
}

}  // namespace

void bind_pipeline(py::module_& m) {
    py::class_<EvidencePipeline, std::shared_ptr<EvidencePipeline>>(m, "_Pipeline")
        .def(py::init([](const std::string& client_id, const fs::path& evidence_dir, const fs::path& private_key,
                         std::optional<std::string> passphrase, bool durable) {
                 PipelineOptions options;
                 options.client_id = client_id;
                 options.evidence_dir = evidence_dir;
                 options.private_key_path = private_key;
                 options.key_passphrase = passphrase ? passphrase : key_password_from_env();
                 options.durable = durable;
                 py::gil_scoped_release release;
                 return std::make_shared<EvidencePipeline>(std::move(options));
             }),
             py::arg("client_id"), py::arg("evidence_dir"), py::arg("private_key"), py::arg("passphrase"),
             py::arg("durable") = true)
        .def(
            "process_incident",
            [](EvidencePipeline& p, py::object incident, py::object runbook, py::object execution, py::object actions,
               py::object artifacts) {
                IncidentInputs inputs = inputs_of(incident, runbook, execution, actions, artifacts);
                BundleResult r;
                {
                    py::gil_scoped_release release;
                    r = p.process_incident(std::move(inputs));
                }
                return result_dict(r);
            },
            py::arg("incident"), py::arg("runbook"), py::arg("execution"), py::arg("actions"), py::arg("artifacts"))
        .def(
            "process_incidents",
            [](EvidencePipeline& p, const py::iterable& incidents) {
                std::vector<IncidentInputs> batch;
                for (const py::handle item : incidents) batch.push_back(inputs_of_mapping(item, batch.size()));
                std::vector<BundleResult> results;
                {
                    py::gil_scoped_release release;
                    results = p.process_incidents(std::move(batch));
                }
                py::list out;
                for (const auto& r : results) out.append(result_dict(r));
                return out;
            },
            py::arg("incidents"))
        .def(
            "enable_uploads",
            [](EvidencePipeline& p, const WormConfig& config, std::shared_ptr<ObjectStore> store) {
                UploaderOptions options = python_uploader_options();
                py::gil_scoped_release release;
                return p.enable_uploads(config, std::move(store), std::move(options));
            },
            py::arg("config"), py::arg("store"),
            "The library's upload-after-sign policy: the attached _Uploader, or None when uploads are off.")
        .def("public_key", &EvidencePipeline::public_key);

    m.def(
        "_verify_report",
        [](const fs::path& bundle_path, const fs::path& sig_path, const Ed25519PublicKey& key) {
            VerificationReport r;
            {
                py::gil_scoped_release release;
                r = verify_bundle_files(bundle_path, sig_path, key);
            }
            return report_dict(r);
        },
        py::arg("bundle_path"), py::arg("sig_path"), py::arg("public_key"));
    m.def(
        "_verify_evidence",
        [](const fs::path& bundle_path, const fs::path& sig_path, const fs::path& public_key_path) {
            compliance::EvidenceVerification v;
            {
                py::gil_scoped_release release;
                v = compliance::verify_evidence_files(bundle_path, sig_path, public_key_path);
            }
            py::dict d = report_dict(v.report);
            d["signature_path"] = v.signature_path.string();  // a JSON-ready report, as report_dict
            d["signature_format"] = v.signature_format;
            py::list notes;
            for (const auto& n : v.notes) notes.append(to_py_str(n));
            d["notes"] = notes;
            return d;
        },
        py::arg("bundle_path"), py::arg("sig_path"), py::arg("public_key_path"),
        "verify_evidence_files: any signature kind (.sig, .sigstore.json, cosign .json.bundle).");

    m.def(
        "compute_bundle_hash",
        [](py::handle bundle) {
            rapidjson::Document document = to_json(bundle);
            py::gil_scoped_release release;
            return compute_bundle_hash(document);
        },
        py::arg("bundle"),
        "evidence_bundle_hash of a bundle: \"sha256:\" + hex SHA-256 of its RFC 8785 form without\n"
        "evidence_bundle_hash, signatures and storage_locations.");
    m.def(
        "validate_bundle",
        [](py::handle bundle) {
            rapidjson::Document document = to_json(bundle);
            py::gil_scoped_release release;
            validate_bundle_schema(document);
        },
        py::arg("bundle"), "Raise InputError (code \"schema\") naming the JSON pointer and rule that failed.");
}

}  // namespace worm::python
