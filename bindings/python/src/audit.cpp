// Compliance for auditors: worm.audit (evidence audit), worm.issue_certificate,
// worm.verify_certificate, and the Sigstore bundle helpers. Types and errors only; the
// logic is include/worm/compliance/*.hpp.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "bindings.hpp"
#include "worm/compliance/audit.hpp"
#include "worm/compliance/certificate.hpp"
#include "worm/compliance/sigstore.hpp"
#include "worm/json.hpp"
#include "worm/storage.hpp"

namespace worm::python {

namespace fs = std::filesystem;
namespace c = worm::compliance;

void bind_audit(py::module_& m) {
    py::class_<c::AuditFailure>(m, "AuditFailure", "One problem an audit found: the object key, the check, why.")
        .def_readonly("key", &c::AuditFailure::key)
        .def_readonly("check", &c::AuditFailure::check)
        .def_readonly("reason", &c::AuditFailure::reason)
        .def("__repr__", [](const c::AuditFailure& f) { return "<AuditFailure " + f.key + " " + f.check + ">"; });

    py::class_<c::AuditReport>(m, "AuditReport",
                               "The result of worm.audit: clean, failures, and report.json as a dict (report()).")
        .def_property_readonly("clean", &c::AuditReport::clean)
        .def_readonly("failures", &c::AuditReport::failures)
        .def_readonly("manifest_sha256", &c::AuditReport::manifest_sha256)
        .def_property_readonly("bundles", [](const c::AuditReport& r) { return r.inventory.bundles; })
        .def_property_readonly("bundles_ok", [](const c::AuditReport& r) { return r.inventory.bundles_ok; })
        .def("to_json", [](const c::AuditReport& r) { return c::to_json(r); }, "report.json's text.")
        .def("to_html", [](const c::AuditReport& r) { return c::to_html(r); }, "report.html's text.")
        .def(
            "report", [](const c::AuditReport& r) { return to_python(json::parse_strict(c::to_json(r), "report")); },
            "report.json as a dict.")
        .def(
            "write",
            [](const c::AuditReport& r, const fs::path& dir) {
                py::gil_scoped_release release;
                return c::write_audit_report(r, dir);
            },
            py::arg("out_dir"), "Writes out_dir/report.json and report.html; returns the report.json path.");

    m.def(
        "audit",
        [](const Ed25519PublicKey& public_key, py::object store, std::optional<fs::path> directory,
           const std::string& prefix, py::object from, py::object to, std::optional<fs::path> registry_dir, int workers,
           int min_retention_days, std::optional<std::string> mode, bool verify_bucket,
           std::optional<c::CosignPublicKey> cosign_public_key) {
            c::AuditOptions o;
            o.public_key = public_key;
            o.cosign_public_key = std::move(cosign_public_key);
            if (py::isinstance<py::str>(store)) o.store_url = store.cast<std::string>();
            else if (!store.is_none()) o.store = store.cast<std::shared_ptr<ObjectStore>>();
            if (directory) o.directory = *directory;
            o.prefix = prefix;
            if (!from.is_none()) o.from = to_time_point(from);
            if (!to.is_none()) o.to = to_time_point(to);
            if (registry_dir) o.registry_dir = *registry_dir;
            o.workers = workers;
            o.policy.min_retention_days = min_retention_days;
            o.policy.mode = mode ? std::optional<LockMode>(parse_lock_mode(*mode)) : std::nullopt;
            o.verify_bucket = verify_bucket;
            py::gil_scoped_release release;
            return c::audit(o);
        },
        py::arg("public_key"), py::arg("store") = py::none(), py::arg("directory") = py::none(),
        py::arg("prefix") = "", py::arg("from_") = py::none(), py::arg("to") = py::none(),
        py::arg("registry_dir") = py::none(), py::arg("workers") = 4, py::arg("min_retention_days") = 90,
        py::arg("mode") = "COMPLIANCE", py::arg("verify_bucket") = true, py::arg("cosign_public_key") = py::none(),
        "Audits the evidence in a store (URL or ObjectStore) or a local directory: hashes, signatures,\n"
        "schema, Object Lock against the policy. Bad evidence is in the report, never an exception.\n"
        "cosign_public_key (a CosignPublicKey) checks cosign's X.json.bundle signatures (seed 003).");

    m.def(
        "issue_certificate",
        [](const fs::path& report, const Ed25519PrivateKey& key, const fs::path& out_dir, int validity_days) {
            c::CertificateOptions o{.report_path = report, .output_dir = out_dir, .validity_days = validity_days,
                                    .clock = nullptr};
            c::IssuedCertificate issued;
            {
                py::gil_scoped_release release;
                issued = c::issue_certificate(o, key);
            }
            py::dict d;
            d["certificate_id"] = issued.certificate_id;
            d["clean"] = issued.clean;
            d["key_fingerprint"] = issued.key_fingerprint;
            d["json"] = issued.json_path;
            d["sig"] = issued.sig_path;
            d["pdf"] = issued.pdf_path;
            d["pdf_sig"] = issued.pdf_sig_path;
            return d;
        },
        py::arg("report"), py::arg("signer"), py::arg("out_dir"), py::arg("validity_days") = 365,
        "Issues certificate.json/.sig and certificate.pdf/.pdf.sig from an audit's report.json.");

    m.def(
        "verify_certificate",
        [](const fs::path& dir, const Ed25519PublicKey& key) {
            c::CertificateVerification v;
            {
                py::gil_scoped_release release;
                v = c::verify_certificate(dir, key);
            }
            py::dict d;
            d["ok"] = v.ok();
            d["certificate_id"] = v.certificate_id;
            d["json_signature_valid"] = v.json_signature_valid;
            d["pdf_signature_valid"] = v.pdf_signature_valid;
            d["pdf_matches_json"] = v.pdf_matches_json;
            d["problems"] = v.problems;
            return d;
        },
        py::arg("directory"), py::arg("public_key"),
        "Checks both signatures of a certificate and that its PDF states its JSON's id and figures.");

    m.def(
        "write_sigstore_bundle",
        [](const Ed25519PrivateKey& key, const fs::path& path) {
            py::gil_scoped_release release;
            return c::write_sigstore_bundle(key, path);
        },
        py::arg("signer"), py::arg("path"), "Writes <path minus .json>.sigstore.json (Sigstore bundle v0.3).");
}

}  // namespace worm::python
