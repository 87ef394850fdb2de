// worm.WormConfig: the upload configuration with the seeds' names and defaults.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <optional>
#include <string>

#include "bindings.hpp"
#include "worm/config.hpp"
#include "worm/error.hpp"
#include "worm/json.hpp"

namespace worm::python {

namespace {

WormMode parse_mode(const std::string& mode) {
    if (mode == "proxy") return WormMode::proxy;
    if (mode == "direct") return WormMode::direct;
    throw Error(ErrorCode::config, "mode must be 'proxy' or 'direct', got '" + mode + "'");
}

std::optional<std::string> sse_name(const ServerSideEncryption& sse) {
    switch (sse.kind) {
        case ServerSideEncryption::Kind::aes256: return "AES256";
        case ServerSideEncryption::Kind::aws_kms: return "aws:kms";
        case ServerSideEncryption::Kind::none: break;
    }
    return std::nullopt;
}

void set_sse(WormConfig& c, const std::optional<std::string>& sse) {
    if (!sse || sse->empty()) c.encryption.kind = ServerSideEncryption::Kind::none;
    else if (*sse == "AES256") c.encryption.kind = ServerSideEncryption::Kind::aes256;
    else if (*sse == "aws:kms") c.encryption.kind = ServerSideEncryption::Kind::aws_kms;
    else throw Error(ErrorCode::config, "sse must be None, 'AES256' or 'aws:kms', got '" + *sse + "'");
}

}  // namespace

void bind_config(py::module_& m) {
    py::class_<WormConfig>(
        m, "WormConfig",
        "WORM upload configuration. WormConfig.from_env() reads WORM_ENABLED, WORM_MODE,\n"
        "WORM_S3_BUCKET (or MSP_WORM_BUCKET, which alone turns direct uploads on),\n"
        "WORM_S3_REGION/AWS_REGION, WORM_RETENTION_DAYS,\n"
        "WORM_AUTO_UPLOAD, WORM_LOCK_MODE, MCP_URL, MCP_API_KEY, ... with the seeds' defaults.\n"
        "validate() raises ConfigError naming every problem.")
        .def(py::init([](bool enabled, const std::string& mode, const std::string& s3_bucket,
                         const std::string& s3_region, int retention_days, bool auto_upload, const std::string& mcp_url,
                         const std::optional<std::string>& mcp_upload_endpoint, const std::string& mcp_api_key,
                         const std::string& s3_prefix, const std::string& s3_endpoint, const std::string& lock_mode,
                         bool allow_short_retention, int upload_attempts, int sync_concurrency,
                         const std::optional<std::string>& sse, const std::string& kms_key_id) {
                 WormConfig c;
                 c.enabled = enabled;
                 c.mode = parse_mode(mode);
                 c.s3_bucket = s3_bucket;
                 c.s3_region = s3_region;
                 c.retention_days = retention_days;
                 c.auto_upload = auto_upload;
                 c.mcp_url = mcp_upload_endpoint ? *mcp_upload_endpoint : mcp_url;  // the seed's older name
                 c.mcp_api_key = mcp_api_key;
                 c.s3_prefix = s3_prefix;
                 c.s3_endpoint = s3_endpoint;
                 c.lock_mode = parse_lock_mode(lock_mode);
                 c.allow_short_retention = allow_short_retention;
                 c.upload_attempts = upload_attempts;
                 c.sync_concurrency = sync_concurrency;
                 set_sse(c, sse);
                 c.encryption.kms_key_id = kms_key_id;
                 return c;
             }),
             py::kw_only(), py::arg("enabled") = false, py::arg("mode") = "proxy", py::arg("s3_bucket") = "",
             py::arg("s3_region") = "us-east-1", py::arg("retention_days") = default_retention_days, py::arg("auto_upload") = true,
             py::arg("mcp_url") = "", py::arg("mcp_upload_endpoint") = py::none(), py::arg("mcp_api_key") = "",
             py::arg("s3_prefix") = "", py::arg("s3_endpoint") = "", py::arg("lock_mode") = "COMPLIANCE",
             py::arg("allow_short_retention") = false, py::arg("upload_attempts") = 3,
             py::arg("sync_concurrency") = 4, py::arg("sse") = py::none(), py::arg("kms_key_id") = "")
        .def_static(
            "from_env",
            [](std::optional<std::map<std::string, std::string>> env) {
                if (!env) return WormConfig::from_env();
                return WormConfig::from_env([&](std::string_view name) -> std::optional<std::string> {
                    auto it = env->find(std::string(name));
                    if (it == env->end()) return std::nullopt;
                    return it->second;
                });
            },
            py::arg("env") = py::none(),
            "Read the configuration from the process environment, or from the mapping env.\n"
            "Never raises: unreadable values are reported by validate().")
        .def_readwrite("enabled", &WormConfig::enabled)
        .def_property(
            "mode", [](const WormConfig& c) { return std::string(to_string(c.mode)); },
            [](WormConfig& c, const std::string& mode) { c.mode = parse_mode(mode); })
        .def_readwrite("s3_bucket", &WormConfig::s3_bucket)
        .def_readwrite("s3_region", &WormConfig::s3_region)
        .def_readwrite("s3_prefix", &WormConfig::s3_prefix)
        .def_readwrite("s3_endpoint", &WormConfig::s3_endpoint)
        .def_readwrite("retention_days", &WormConfig::retention_days)
        .def_readwrite("allow_short_retention", &WormConfig::allow_short_retention)
        .def_property(
            "lock_mode", [](const WormConfig& c) { return std::string(to_string(c.lock_mode)); },
            [](WormConfig& c, const std::string& mode) { c.lock_mode = parse_lock_mode(mode); })
        .def_readwrite("auto_upload", &WormConfig::auto_upload)
        .def_readwrite("upload_attempts", &WormConfig::upload_attempts)
        .def_readwrite("sync_concurrency", &WormConfig::sync_concurrency)
        .def_property(
            "sse", [](const WormConfig& c) { return sse_name(c.encryption); }, &set_sse)
        .def_property(
            "kms_key_id", [](const WormConfig& c) { return c.encryption.kms_key_id; },
            [](WormConfig& c, const std::string& id) { c.encryption.kms_key_id = id; })
        .def_readwrite("mcp_url", &WormConfig::mcp_url)
        .def_property(
            "mcp_upload_endpoint", [](const WormConfig& c) { return c.mcp_url; },
            [](WormConfig& c, const std::string& url) { c.mcp_url = url; }, "The seed's name for mcp_url.")
        .def_readwrite("mcp_api_key", &WormConfig::mcp_api_key)
        .def_readonly("problems", &WormConfig::problems)
        .def_readonly("sources", &WormConfig::sources,
                      "Where from_env took each value: field -> variable name, or \"default\".")
        .def("__copy__", [](const WormConfig& c) { return WormConfig(c); })
        .def("__deepcopy__", [](const WormConfig& c, py::dict) { return WormConfig(c); }, py::arg("memo"))
        .def("validate", &WormConfig::validate,
             "Raise ConfigError listing every problem (\"endpoint not configured\" in proxy mode\n"
             "without MCP_URL, \"bucket not configured\" in direct mode without a bucket, ...).")
        .def("check", &WormConfig::check, "Every problem validate() would report (empty when valid).")
        .def(
            "describe",
            [](const WormConfig& c) { return to_python(json::parse_strict(c.describe_masked(), "config")); },
            "The resolved configuration as a dict, secrets masked.")
        .def("__repr__", [](const WormConfig& c) {
            return "WormConfig(" + json::to_compact(json::parse_strict(c.describe_masked(), "config")) + ")";
        });
}

}  // namespace worm::python
