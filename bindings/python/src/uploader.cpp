// The uploader (worm.WormUploader is the Python class in worm/_agent.py over
// _worm._Uploader) and S3 for scripts (worm.S3Client).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "bindings.hpp"
#include "worm/config.hpp"
#include "worm/error.hpp"
#include "worm/registry.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/credentials.hpp"
#include "worm/s3/store.hpp"
#include "worm/uploader.hpp"

namespace worm::python {

namespace fs = std::filesystem;

namespace {

py::dict upload_dict(const UploadResult& r) {
    py::dict d;
    d["bundle_id"] = r.bundle_id;
    d["bundle_uri"] = to_py_str(r.bundle_uri);
    d["sig_uri"] = to_py_str(r.sig_uri);
    d["bundle_version_id"] = r.bundle_version_id;
    d["sig_version_id"] = r.sig_version_id;
    d["already_present"] = r.already_present;
    d["attempts"] = r.attempts;
    return d;
}

py::dict stats_dict(const UploaderStats& s) {
    py::dict health;
    health["ok"] = s.health.ok();
    health["backlog_high"] = s.health.backlog_high;
    health["repeated_failures"] = s.health.repeated_failures;
    health["stale_pending"] = s.health.stale_pending;
    py::dict d;
    d["enabled"] = s.enabled;
    d["mode"] = std::string(to_string(s.mode));
    d["total_uploaded"] = s.total_uploaded;
    d["pending_count"] = s.pending_count;
    d["failed_count"] = s.failed_count;
    d["last_error"] = to_py_str(s.last_error);
    d["last_error_at"] = s.last_error_at ? py::object(py::str(format_rfc3339_millis(*s.last_error_at))) : py::none();
    d["last_error_current"] = s.last_error_current;
    d["oldest_pending_age_s"] = s.oldest_pending_age_s ? py::object(py::float_(*s.oldest_pending_age_s)) : py::none();
    d["consecutive_failures"] = s.consecutive_failures;
    const auto optional_float = [](const std::optional<double>& v) { return v ? py::object(py::float_(*v)) : py::none(); };
    d["upload_success_rate"] = optional_float(s.upload_success_rate);
    d["pending_queue_depth"] = s.pending_queue_depth;
    d["upload_latency"] = optional_float(s.upload_latency);
    d["upload_latency_max"] = optional_float(s.upload_latency_max);
    d["retry_count"] = s.retry_count;
    d["health"] = health;
    return d;
}

// An S3 client from the environment (AWS_ENDPOINT_URL_S3, AWS_REGION, the credentials
// chain), with the arguments given in Python taking precedence.
std::shared_ptr<s3::S3Client> make_s3_client(const std::optional<std::string>& endpoint,
                                             const std::optional<std::string>& region,
                                             const std::optional<std::string>& access_key,
                                             const std::optional<std::string>& secret_key,
                                             const std::optional<std::string>& session_token,
                                             const std::optional<std::string>& addressing) {
    s3::ClientConfig config = s3::ClientConfig::from_env();
    if (endpoint && !endpoint->empty()) config.endpoint = *endpoint;
    if (region && !region->empty()) config.region = *region;
    if (access_key || secret_key) {
        if (!access_key || !secret_key)
            throw Error(ErrorCode::config, "S3Client needs both access_key and secret_key, or neither");
        config.credentials = std::make_shared<s3::StaticProvider>(
            s3::Credentials{.access_key_id = *access_key, .secret_access_key = *secret_key,
                            .session_token = session_token.value_or(""), .expiration = std::nullopt});
    }
    if (addressing) {
        if (*addressing == "path") config.addressing = s3::AddressingStyle::path;
        else if (*addressing == "virtual") config.addressing = s3::AddressingStyle::virtual_hosted;
        else if (*addressing == "auto") config.addressing = s3::AddressingStyle::automatic;
        else throw Error(ErrorCode::config, "addressing must be 'auto', 'path' or 'virtual', got '" + *addressing + "'");
    }
    config.validate();
    return std::make_shared<s3::S3Client>(std::move(config));
}

}  // namespace

UploaderOptions python_uploader_options() {
    UploaderOptions options;
    options.log = [](std::string_view message) {
        py::gil_scoped_acquire gil;
        py::module_::import("logging").attr("getLogger")("worm").attr("warning")("cannot upload: %s",
                                                                                  to_py_str(message));
    };
    return options;
}

void bind_uploader(py::module_& m) {
    py::class_<WormUploader, std::shared_ptr<WormUploader>>(m, "_Uploader")
        .def(py::init([](const WormConfig& config, std::shared_ptr<ObjectStore> store, const fs::path& evidence_dir) {
                 UploaderOptions options = python_uploader_options();
                 py::gil_scoped_release release;
                 // No store given: the configured one is opened at the first upload or sync.
                 fs::create_directories(evidence_dir);
                 auto registry = std::make_shared<UploadRegistry>(evidence_dir);
                 return std::make_shared<WormUploader>(config, std::move(store), std::move(registry),
                                                       std::move(options));
             }),
             py::arg("config"), py::arg("store"), py::arg("evidence_dir"))
        .def(
            "store",
            [](WormUploader& u) {
                py::gil_scoped_release release;
                return u.store();
            },
            "The store uploads go to (opened from the configuration on first use).")
        .def(
            "check_object_lock",
            [](WormUploader& u) {
                py::gil_scoped_release release;
                u.check_object_lock();
            },
            "ConfigError naming the bucket when an S3 bucket has no Object Lock (or does not exist).")
        .def_static(
            "object_key",
            [](const std::string& prefix, const std::string& client_id, const std::string& bundle_id,
               const std::string& extension) { return WormUploader::object_key(prefix, client_id, bundle_id, extension); },
            py::arg("prefix"), py::arg("client_id"), py::arg("bundle_id"), py::arg("extension"))
        .def(
            "enqueue",
            [](WormUploader& u, const fs::path& bundle, const fs::path& sig, const std::string& client_id) {
                py::gil_scoped_release release;
                return u.enqueue(bundle, sig, client_id);
            },
            py::arg("bundle_path"), py::arg("sig_path"), py::arg("client_id"))
        .def(
            "upload_bundle",
            [](WormUploader& u, const fs::path& bundle, const fs::path& sig, const std::string& client_id) {
                UploadResult r;
                {
                    py::gil_scoped_release release;
                    r = u.upload_bundle(bundle, sig, client_id);
                }
                return upload_dict(r);
            },
            py::arg("bundle_path"), py::arg("sig_path"), py::arg("client_id"))
        .def("sync",
             [](WormUploader& u) {
                 SyncResult r;
                 {
                     py::gil_scoped_release release;
                     r = u.sync();
                 }
                 py::dict d;
                 d["uploaded"] = r.uploaded;
                 d["failed"] = r.failed;
                 d["pending"] = r.pending;
                 py::list errors;
                 for (const auto& e : r.errors) errors.append(to_py_str(e));
                 d["errors"] = errors;
                 return d;
             })
        .def("stats", [](WormUploader& u) {
            UploaderStats s;
            {
                py::gil_scoped_release release;
                s = u.stats();
            }
            return stats_dict(s);
        });

    py::class_<s3::S3Client, std::shared_ptr<s3::S3Client>>(
        m, "S3Client",
        "A SigV4 S3 client (no AWS SDK). Arguments left out come from the environment:\n"
        "AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION, the AWS credentials chain,\n"
        "WORM_S3_ADDRESSING. store(bucket, prefix) gives the bucket as an ObjectStore.")
        .def(py::init([](std::optional<std::string> endpoint, std::optional<std::string> region,
                         std::optional<std::string> access_key, std::optional<std::string> secret_key,
                         std::optional<std::string> session_token, std::optional<std::string> addressing) {
                 py::gil_scoped_release release;
                 return make_s3_client(endpoint, region, access_key, secret_key, session_token, addressing);
             }),
             py::kw_only(), py::arg("endpoint") = py::none(), py::arg("region") = py::none(),
             py::arg("access_key") = py::none(), py::arg("secret_key") = py::none(),
             py::arg("session_token") = py::none(), py::arg("addressing") = py::none())
        .def(
            "create_bucket",
            [](s3::S3Client& c, const std::string& bucket, bool object_lock, const std::string& region) {
                py::gil_scoped_release release;
                c.create_bucket(s3::CreateBucketOptions{.bucket = bucket, .object_lock = object_lock, .region = region});
            },
            py::arg("bucket"), py::arg("object_lock") = false, py::arg("region") = "",
            "CreateBucket; object_lock=True sends x-amz-bucket-object-lock-enabled (and versioning).")
        .def(
            "bucket_exists",
            [](s3::S3Client& c, const std::string& bucket) {
                py::gil_scoped_release release;
                return c.bucket_exists(bucket);
            },
            py::arg("bucket"))
        .def(
            "store",
            [](std::shared_ptr<s3::S3Client> c, const std::string& bucket, const std::string& prefix)
                -> std::shared_ptr<ObjectStore> { return std::make_shared<s3::S3Store>(std::move(c), bucket, prefix); },
            py::arg("bucket"), py::arg("prefix") = "", "The bucket (under prefix) as an ObjectStore.");
}

}  // namespace worm::python
