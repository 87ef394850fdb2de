// SigV4 for scripts: worm.sigv4_sign and worm.presign_url (the URL is split in
// worm/_sigv4.py; this file only converts and calls worm::s3).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "worm/crypto.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/credentials.hpp"
#include "worm/s3/sigv4.hpp"

namespace worm::python {

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TimePoint signing_time(const py::object& when) {
    return when.is_none() ? std::chrono::system_clock::now() : to_time_point(when);
}

// Hex SHA-256 of a bytes payload, computed without the GIL (bytes are immutable and we
// hold a reference, so the buffer stays valid).
std::string payload_hash(const py::bytes& payload) {
    char* data = nullptr;
    Py_ssize_t size = 0;
    if (PyBytes_AsStringAndSize(payload.ptr(), &data, &size) != 0) throw py::error_already_set();
    py::gil_scoped_release release;
    return sha256_hex(std::string_view(data, static_cast<std::size_t>(size)));
}

}  // namespace

void bind_sigv4(py::module_& m) {
    m.def(
        "_sigv4_sign",
        [](const std::string& method, const std::string& host, const py::bytes& path, const Pairs& query,
           const Pairs& headers, const py::bytes& payload, bool unsigned_payload, const std::string& access_key,
           const std::string& secret_key, const std::string& region, const std::string& service,
           const py::object& when, const std::string& session_token) {
            s3::SigningRequest request{.method = method, .host = host, .path = std::string(path),
                                       .query = query, .headers = headers,
                                       .payload_sha256_hex = unsigned_payload ? std::string(s3::unsigned_payload)
                                                                              : payload_hash(payload)};
            s3::Credentials credentials{.access_key_id = access_key, .secret_access_key = secret_key,
                                        .session_token = session_token, .expiration = std::nullopt};
            s3::SigningScope scope{.region = region, .service = service, .time = signing_time(when)};
            s3::SignedRequest signed_request;
            {
                py::gil_scoped_release release;
                signed_request = s3::sign_request(request, credentials, scope);
            }
            // The headers the caller adds, spelled as botocore spells them.
            py::dict out;
            const std::pair<const char*, const char*> names[] = {
                {"authorization", "Authorization"},
                {"x-amz-date", "X-Amz-Date"},
                {"x-amz-content-sha256", "X-Amz-Content-SHA256"},
                {"x-amz-security-token", "X-Amz-Security-Token"},
            };
            for (const auto& [wire, spelled] : names)
                for (const auto& [name, value] : signed_request.headers)
                    if (name == wire) out[spelled] = value;  // the signer emits lower-case names
            return out;
        },
        py::arg("method"), py::arg("host"), py::arg("path"), py::arg("query"), py::arg("headers"),
        py::arg("payload"), py::arg("unsigned_payload"), py::arg("access_key"), py::arg("secret_key"),
        py::arg("region"), py::arg("service"), py::arg("when"), py::arg("session_token"));

    m.def(
        "_presign_url",
        [](const std::string& method, const std::string& scheme, const std::string& host, const py::bytes& path,
           const Pairs& query, const std::string& access_key, const std::string& secret_key,
           const std::string& region, const std::string& service, long long expires, const py::object& when,
           const std::string& session_token) {
            s3::SigningRequest request{.method = method, .host = host, .path = std::string(path), .query = query,
                                       .headers = {}, .payload_sha256_hex = ""};
            s3::Credentials credentials{.access_key_id = access_key, .secret_access_key = secret_key,
                                        .session_token = session_token, .expiration = std::nullopt};
            s3::SigningScope scope{.region = region, .service = service, .time = signing_time(when)};
            py::gil_scoped_release release;
            return s3::presign_url(request, credentials, scope, std::chrono::seconds(expires), scheme);
        },
        py::arg("method"), py::arg("scheme"), py::arg("host"), py::arg("path"), py::arg("query"),
        py::arg("access_key"), py::arg("secret_key"), py::arg("region"), py::arg("service"), py::arg("expires"),
        py::arg("when"), py::arg("session_token"));

    // What every libworm S3 store resolves from the environment: the credentials of the
    // default chain (environment, shared profile, container, instance role), the endpoint
    // and the region. For worm.presign_object_url.
    m.def("_default_s3_signing", [] {
        s3::ClientConfig config = s3::ClientConfig::from_env();
        s3::Credentials c;
        {
            py::gil_scoped_release release;
            c = config.credentials->get();
        }
        return py::make_tuple(c.access_key_id, c.secret_access_key, c.session_token, config.endpoint, config.region);
    });
}

}  // namespace worm::python
