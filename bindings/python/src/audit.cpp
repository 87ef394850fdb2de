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
#include "worm/compliance/evidence_db.hpp"
#include "worm/compliance/sigstore.hpp"
#include "worm/json.hpp"
#include "worm/storage.hpp"

namespace worm::python {

namespace fs = std::filesystem;
namespace c = worm::compliance;

namespace {

py::dict evidence_row_dict(const c::EvidenceRow& r) {
    py::dict d;
    d["evidence_id"] = r.evidence_id;
    d["object_key"] = r.object_key;
    d["sha256"] = r.sha256;
    d["retain_until"] = r.retain_until ? to_datetime(*r.retain_until) : py::object(py::none());
    d["lock_mode"] = r.lock_mode;
    d["version_id"] = r.version_id;
    d["session_id"] = r.session_id;
    d["evidence_type"] = r.evidence_type;
    d["metadata"] = r.metadata;
    d["created_at"] = to_datetime(r.created_at);
    return d;
}

}  // namespace

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
           std::optional<c::CosignPublicKey> cosign_public_key, std::optional<std::string> database) {
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
            if (database) o.database_url = *database;
            py::gil_scoped_release release;
            return c::audit(o);
        },
        py::arg("public_key"), py::arg("store") = py::none(), py::arg("directory") = py::none(),
        py::arg("prefix") = "", py::arg("from_") = py::none(), py::arg("to") = py::none(),
        py::arg("registry_dir") = py::none(), py::arg("workers") = 4, py::arg("min_retention_days") = 90,
        py::arg("mode") = "COMPLIANCE", py::arg("verify_bucket") = true, py::arg("cosign_public_key") = py::none(),
        py::arg("database") = py::none(),
        "Audits the evidence in a store (URL or ObjectStore) or a local directory: hashes, signatures,\n"
        "schema, Object Lock against the policy. Bad evidence is in the report, never an exception.\n"
        "cosign_public_key (a CosignPublicKey) checks cosign's X.json.bundle signatures (seed 003).\n"
        "database: an evidence database URL (postgresql://..., sqlite:///path) compared with the store\n"
        "both ways (failures db_missing_object, db_missing_row, db_sha256, db_retention).");

    m.def(
        "issue_certificate",
        [](const fs::path& report, const Ed25519PrivateKey& key, const fs::path& out_dir, int validity_days,
           std::optional<fs::path> signing_cert, std::optional<fs::path> signing_key, py::object evidence) {
            c::CertificateOptions o;
            o.report_path = report;
            o.output_dir = out_dir;
            o.validity_days = validity_days;
            if (signing_cert) o.signing_cert = *signing_cert;
            if (signing_key) o.signing_key = *signing_key;
            if (!evidence.is_none())
                for (const py::handle item : evidence) {
                    const py::dict e = item.cast<py::dict>();
                    c::CertifiedEvidence ce;
                    ce.evidence_id = e["evidence_id"].cast<std::string>();
                    auto text = [&](const char* name) {
                        return e.contains(name) && !e[name].is_none() ? py::str(e[name]).cast<std::string>() : std::string();
                    };
                    ce.object_key = text("object_key");
                    ce.sha256 = text("sha256");
                    ce.lock_mode = text("lock_mode");
                    if (e.contains("retain_until") && !e["retain_until"].is_none())
                        ce.retain_until = to_retention_date(e["retain_until"]);
                    ce.compliant = e.contains("compliant") && py::bool_(e["compliant"]);
                    o.evidence.push_back(std::move(ce));
                }
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
            d["pdf_signer"] = issued.pdf_signer_path;
            d["pdf_signer_subject"] = issued.pdf_signer_subject;
            d["pdf_signer_fingerprint"] = issued.pdf_signer_fingerprint;
            return d;
        },
        py::arg("report"), py::arg("signer"), py::arg("out_dir"), py::arg("validity_days") = 365, py::kw_only(),
        py::arg("signing_cert") = py::none(), py::arg("signing_key") = py::none(), py::arg("evidence") = py::none(),
        "Issues certificate.json/.sig and certificate.pdf/.pdf.sig from an audit's report.json. The PDF is\n"
        "signed inside (CMS) with signing_cert/signing_key (PEM) or a new self-signed P-256 certificate.\n"
        "evidence: dicts with evidence_id, object_key, sha256, lock_mode, retain_until, compliant.");

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
            d["pdf_embedded_signature_valid"] = v.pdf_embedded_signature_valid;
            d["pdf_signer_subject"] = v.pdf_signer_subject;
            d["problems"] = v.problems;
            return d;
        },
        py::arg("directory"), py::arg("public_key"),
        "Checks both signatures of a certificate and that its PDF states its JSON's id and figures.");

    py::class_<c::EvidenceDatabase, std::shared_ptr<c::EvidenceDatabase>>(
        m, "EvidenceDatabase", "The evidence metadata database (worm_evidence table): worm.open_evidence_database(url).")
        .def_property_readonly("url", &c::EvidenceDatabase::url, "The URL, password masked.")
        .def(
            "create_schema",
            [](c::EvidenceDatabase& db) {
                py::gil_scoped_release release;
                db.create_schema();
            },
            "CREATE TABLE IF NOT EXISTS worm_evidence (...).")
        .def(
            "insert",
            [](c::EvidenceDatabase& db, const std::string& evidence_id, const std::string& object_key,
               const std::string& sha256, py::object retain_until, const std::string& lock_mode,
               const std::string& version_id, const std::string& session_id, const std::string& evidence_type,
               const std::string& metadata) {
                c::EvidenceRow row{.evidence_id = evidence_id, .object_key = object_key, .sha256 = sha256,
                                   .retain_until = std::nullopt, .lock_mode = lock_mode, .version_id = version_id,
                                   .session_id = session_id, .evidence_type = evidence_type, .metadata = metadata,
                                   .created_at = {}};
                if (!retain_until.is_none()) row.retain_until = to_retention_date(retain_until);
                py::gil_scoped_release release;
                db.insert(row);
            },
            py::kw_only(), py::arg("evidence_id"), py::arg("object_key"), py::arg("sha256"),
            py::arg("retain_until") = py::none(), py::arg("lock_mode") = "", py::arg("version_id") = "",
            py::arg("session_id") = "", py::arg("evidence_type") = "", py::arg("metadata") = "",
            "Records one evidence object (AlreadyExistsError for a recorded id or key).")
        .def(
            "find",
            [](c::EvidenceDatabase& db, const std::string& evidence_id) -> py::object {
                std::optional<c::EvidenceRow> row;
                {
                    py::gil_scoped_release release;
                    row = db.find(evidence_id);
                }
                return row ? evidence_row_dict(*row) : py::object(py::none());
            },
            py::arg("evidence_id"), "The row as a dict, or None.")
        .def(
            "rows",
            [](c::EvidenceDatabase& db, const std::string& prefix) {
                std::vector<c::EvidenceRow> rows;
                {
                    py::gil_scoped_release release;
                    rows = db.rows(prefix);
                }
                py::list out;
                for (const auto& r : rows) out.append(evidence_row_dict(r));
                return out;
            },
            py::arg("prefix") = "", "Rows whose object_key starts with prefix, sorted by key.");

    m.def(
        "open_evidence_database",
        [](const std::string& url) -> std::shared_ptr<c::EvidenceDatabase> {
            py::gil_scoped_release release;
            return c::open_evidence_database(url);
        },
        py::arg("url"), "Connects to postgresql://user:password@host:port/db or opens sqlite:///path.");

    m.def(
        "write_sigstore_bundle",
        [](const Ed25519PrivateKey& key, const fs::path& path) {
            py::gil_scoped_release release;
            return c::write_sigstore_bundle(key, path);
        },
        py::arg("signer"), py::arg("path"), "Writes <path minus .json>.sigstore.json (Sigstore bundle v0.3).");
}

}  // namespace worm::python
