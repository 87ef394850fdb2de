// compliance.cpp: worm.setup_bucket / worm.verify_bucket and their typed results
// (BucketSetupReport, ResourceOutcome, BucketVerification, BucketCheck, ServerAnswer).
// Actions and statuses are the strings the CLI prints ("created", "pass", ...).
#include "bindings.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/s3/client.hpp"

namespace worm::python {

namespace {

using namespace worm::compliance;

std::shared_ptr<s3::S3Client> client_or_env(std::shared_ptr<s3::S3Client> client) {
    if (client) return client;
    return std::make_shared<s3::S3Client>(s3::ClientConfig::from_env());
}

ServerSideEncryption parse_sse(const std::string& sse, const std::optional<std::string>& kms_key) {
    ServerSideEncryption e;
    if (sse == "AES256") e.kind = ServerSideEncryption::Kind::aes256;
    else if (sse == "aws:kms") e.kind = ServerSideEncryption::Kind::aws_kms;
    else throw Error(ErrorCode::invalid_argument, "sse must be 'AES256' or 'aws:kms', got '" + sse + "'");
    e.kms_key_id = kms_key.value_or("");
    return e;
}

}  // namespace

void bind_compliance(py::module_& m) {
    py::class_<ResourceOutcome>(m, "ResourceOutcome", "One resource of a bucket setup and what happened to it.")
        .def_readonly("resource", &ResourceOutcome::resource)
        .def_property_readonly("action", [](const ResourceOutcome& r) { return std::string(to_string(r.action)); },
                               "'created', 'already right', 'changed', 'not supported by this server', "
                               "'planned', 'printed' or 'skipped'")
        .def_readonly("detail", &ResourceOutcome::detail)
        .def("__repr__", [](const ResourceOutcome& r) {
            return "<ResourceOutcome " + r.resource + ": " + std::string(to_string(r.action)) + ">";
        });

    py::class_<BucketSetupReport>(m, "BucketSetupReport", "What worm.setup_bucket did, one line per resource.")
        .def_readonly("bucket", &BucketSetupReport::bucket)
        .def_readonly("dry_run", &BucketSetupReport::dry_run)
        .def_readonly("resources", &BucketSetupReport::resources)
        .def_property_readonly("unchanged", &BucketSetupReport::unchanged, "Nothing was created or changed.")
        .def_property_readonly("has_unsupported", &BucketSetupReport::has_unsupported)
        .def("to_json", [](const BucketSetupReport& r) { return to_json(r); });

    py::class_<ServerAnswer>(m, "ServerAnswer", "A raw server answer a check was judged on.")
        .def_readonly("request", &ServerAnswer::request)
        .def_readonly("http_status", &ServerAnswer::http_status)
        .def_readonly("sha256", &ServerAnswer::sha256_hex);

    py::class_<BucketCheck>(m, "BucketCheck", "One row of a bucket verification.")
        .def_readonly("id", &BucketCheck::id)
        .def_readonly("title", &BucketCheck::title)
        .def_readonly("cross_reference", &BucketCheck::cross_reference)
        .def_readonly("observed", &BucketCheck::observed)
        .def_readonly("expected", &BucketCheck::expected)
        .def_property_readonly("status", [](const BucketCheck& c) { return std::string(to_string(c.status)); },
                               "'pass', 'fail' or 'unsupported'")
        .def_readonly("answers", &BucketCheck::answers)
        .def("__repr__", [](const BucketCheck& c) {
            return "<BucketCheck " + c.id + ": " + std::string(to_string(c.status)) + ">";
        });

    py::class_<BucketVerification>(m, "BucketVerification", "The rows of worm.verify_bucket.")
        .def_readonly("endpoint", &BucketVerification::endpoint)
        .def_readonly("bucket", &BucketVerification::bucket)
        .def_property_readonly("checked_at", [](const BucketVerification& v) { return to_datetime(v.checked_at); })
        .def_readonly("checks", &BucketVerification::checks)
        .def_property_readonly("passed", &BucketVerification::passed, "No check failed.")
        .def_property_readonly("failed_ids", &BucketVerification::failed_ids)
        .def(
            "find", [](const BucketVerification& v, const std::string& id) -> std::optional<BucketCheck> {
                const BucketCheck* c = v.find(id);
                return c ? std::optional(*c) : std::nullopt;
            },
            py::arg("id"))
        .def("to_json", [](const BucketVerification& v) { return to_json(v); });

    m.def(
        "setup_bucket",
        [](const std::string& bucket, std::shared_ptr<s3::S3Client> client, const std::string& profile,
           std::optional<int> retention_days, std::optional<int> retention_years, std::optional<std::string> mode,
           const std::string& sse, std::optional<std::string> kms_key, std::optional<std::string> prefix,
           std::optional<int> transition_days, std::optional<std::string> storage_class,
           std::optional<std::vector<std::pair<int, std::string>>> transitions, std::optional<int> expire_grace_days, bool tls_only_policy, std::optional<bool> deny_delete_policy,
           bool dry_run, const std::string& region) {
            BucketSetupOptions o = BucketSetupOptions::for_profile(parse_bucket_profile(profile), bucket);
            o.region = region;
            if (retention_days || retention_years) {
                o.retention_days = retention_days;
                o.retention_years = retention_years;
            }
            if (mode) o.mode = parse_lock_mode(*mode);
            o.encryption = parse_sse(sse, kms_key);
            if (prefix) o.prefix = *prefix;
            if (transitions) {
                if (transition_days || storage_class)
                    throw Error(ErrorCode::invalid_argument,
                                "give transitions or transition_days / storage_class, not both");
                o.transitions.clear();
                for (const auto& [days, storage] : *transitions) o.transitions.push_back({days, storage});
            }
            if (transition_days || storage_class) {
                if (o.transitions.size() > 1)
                    throw Error(ErrorCode::invalid_argument,
                                "profile " + profile + " has several transitions; transition_days and storage_class "
                                "set the one of the evidence profile");
                s3::LifecycleTransition t =
                    o.transitions.empty() ? s3::LifecycleTransition{30, "GLACIER"} : o.transitions.front();
                if (transition_days) t.days = *transition_days;
                if (storage_class) t.storage_class = *storage_class;
                o.transitions = {t};
            }
            if (expire_grace_days) o.expire_grace_days = expire_grace_days;
            o.tls_only_policy = tls_only_policy;
            if (deny_delete_policy) o.deny_delete_policy = *deny_delete_policy;
            o.dry_run = dry_run;
            py::gil_scoped_release release;
            auto c = client_or_env(std::move(client));
            return setup_bucket(*c, o);
        },
        py::arg("bucket"), py::kw_only(), py::arg("client") = py::none(), py::arg("profile") = "evidence",
        py::arg("retention_days") = py::none(), py::arg("retention_years") = py::none(), py::arg("mode") = py::none(),
        py::arg("sse") = "AES256", py::arg("kms_key") = py::none(), py::arg("prefix") = py::none(),
        py::arg("transition_days") = py::none(), py::arg("storage_class") = py::none(),
        py::arg("transitions") = py::none(), py::arg("expire_grace_days") = py::none(), py::arg("tls_only_policy") = true,
        py::arg("deny_delete_policy") = py::none(), py::arg("dry_run") = false, py::arg("region") = "",
        "Creates or adopts a WORM bucket and applies its resources; idempotent. profile: 'evidence' "
        "(COMPLIANCE 90 days, evidence/ to GLACIER after 30 days) or 'audit-logs' (seed 004: GOVERNANCE 2557 "
        "days, audit-logs/ to STANDARD_IA/GLACIER/DEEP_ARCHIVE after 31/91/366 days, deny-delete policy); "
        "arguments left None keep the profile's value; transitions: [(days, storage_class), ...] ([] for none). client: a worm.S3Client (default: one from the "
        "environment).");

    m.def(
        "verify_bucket",
        [](const std::string& bucket, std::shared_ptr<s3::S3Client> client, const std::string& profile,
           std::optional<int> min_retention_days, std::optional<std::string> mode, bool require_kms,
           bool require_replica, std::optional<std::string> prefix, int sample) {
            BucketVerifyOptions o = BucketVerifyOptions::for_profile(parse_bucket_profile(profile), bucket);
            if (min_retention_days) o.min_retention_days = *min_retention_days;
            if (mode) o.mode = parse_lock_mode(*mode);
            o.require_kms = require_kms;
            o.require_replica = require_replica;
            if (prefix) o.prefix = *prefix;
            o.sample = sample;
            py::gil_scoped_release release;
            auto c = client_or_env(std::move(client));
            return verify_bucket(*c, o);
        },
        py::arg("bucket"), py::kw_only(), py::arg("client") = py::none(), py::arg("profile") = "evidence",
        py::arg("min_retention_days") = py::none(), py::arg("mode") = py::none(), py::arg("require_kms") = false,
        py::arg("require_replica") = false, py::arg("prefix") = py::none(), py::arg("sample") = 10,
        "Checks the bucket's WORM configuration; one BucketCheck per check (profile 'audit-logs' adds the "
        "deny_delete_policy and lifecycle_transition_* rows and requires GOVERNANCE for 2557 days). Raises "
        "NotFoundError when the bucket does not exist, S3Error when it cannot be read.");
}

}  // namespace worm::python
