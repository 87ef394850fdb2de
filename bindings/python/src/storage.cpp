// ObjectStore for scripts: worm.open_store(url), worm.LocalWormStore, and the store
// methods (put/get/head/list/remove, retention, legal hold). Results are plain dicts
// with datetimes in UTC.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "bindings.hpp"
#include "worm/error.hpp"
#include "worm/storage.hpp"
#include "worm/storage/local.hpp"
#include "worm/proxy/store.hpp"

namespace worm::python {

namespace fs = std::filesystem;

namespace {

py::object retention_dict(const std::optional<Retention>& retention) {
    if (!retention) return py::none();
    py::dict d;
    d["mode"] = std::string(to_string(retention->mode));
    d["retain_until"] = to_datetime(retention->retain_until);
    return d;
}

py::dict info_dict(const ObjectInfo& info) {
    py::dict d;
    d["key"] = to_py_str(info.key);
    d["size"] = info.size;
    d["etag"] = info.etag;
    d["sha256"] = info.sha256_hex;
    d["content_type"] = info.content_type;
    py::dict metadata;
    for (const auto& [name, value] : info.metadata) metadata[to_py_str(name)] = to_py_str(value);
    d["metadata"] = metadata;
    d["retention"] = retention_dict(info.retention);
    d["lock_mode"] = info.retention ? py::object(py::str(std::string(to_string(info.retention->mode)))) : py::none();
    d["retain_until"] = info.retention ? to_datetime(info.retention->retain_until) : py::none();
    d["legal_hold"] = info.legal_hold;
    d["version_id"] = info.version_id;
    d["last_modified"] = to_datetime(info.last_modified);
    return d;
}

py::dict summary_dict(const ObjectSummary& s) {
    py::dict d;
    d["key"] = to_py_str(s.key);
    d["size"] = s.size;
    d["etag"] = s.etag;
    d["last_modified"] = to_datetime(s.last_modified);
    return d;
}

ServerSideEncryption parse_sse(const std::optional<std::string>& sse, const std::string& kms_key_id) {
    ServerSideEncryption out;
    if (!sse || sse->empty()) out.kind = ServerSideEncryption::Kind::none;
    else if (*sse == "AES256") out.kind = ServerSideEncryption::Kind::aes256;
    else if (*sse == "aws:kms") out.kind = ServerSideEncryption::Kind::aws_kms;
    else throw Error(ErrorCode::invalid_argument, "sse must be None, 'AES256' or 'aws:kms', got '" + *sse + "'");
    out.kms_key_id = kms_key_id;
    return out;
}

// Keyword arguments of put() -> PutOptions (the GIL is held).
PutOptions put_options(const std::string& content_type, const std::optional<std::map<std::string, std::string>>& metadata,
                       const std::optional<std::string>& lock_mode, const py::object& retain_until, bool legal_hold,
                       const std::optional<std::string>& sse, const std::string& kms_key_id,
                       const std::optional<std::string>& sha256, bool if_none_match) {
    PutOptions options;
    options.content_type = content_type;
    if (metadata) options.metadata = *metadata;
    if (!retain_until.is_none())
        options.lock.retention = Retention{.mode = lock_mode ? parse_lock_mode(*lock_mode) : LockMode::compliance,
                                          .retain_until = to_retention_date(retain_until)};
    else if (lock_mode)
        throw Error(ErrorCode::invalid_argument, "lock_mode needs retain_until");
    options.lock.legal_hold = legal_hold;
    options.encryption = parse_sse(sse, kms_key_id);
    options.sha256_hex = sha256;
    options.if_none_match = if_none_match;
    return options;
}

}  // namespace

void bind_storage(py::module_& m) {
    using Store = ObjectStore;
    py::class_<Store, std::shared_ptr<Store>>(
        m, "ObjectStore",
        "A write-once object store (local directory, S3 bucket or proxy) with S3 Object Lock rules.\n"
        "Open one with worm.open_store(url). Every method releases the GIL.")
        .def(
            "put",
            [](Store& store, const std::string& key, py::object data, std::optional<fs::path> file,
               const std::string& content_type, std::optional<std::map<std::string, std::string>> metadata,
               std::optional<std::string> lock_mode, py::object retain_until, bool legal_hold,
               std::optional<std::string> sse, std::string kms_key_id, std::optional<std::string> sha256,
               bool if_none_match) {
                if (data.is_none() == !file.has_value())
                    throw Error(ErrorCode::invalid_argument, "put() needs exactly one of data and file");
                PutOptions options = put_options(content_type, metadata, lock_mode, retain_until, legal_hold, sse,
                                                 kms_key_id, sha256, if_none_match);
                PutBody body = file ? PutBody::from_file(*file)
                                    : PutBody::from_bytes(std::string(ByteInput(data).view()));
                PutResult result;
                {
                    py::gil_scoped_release release;
                    result = store.put(key, body, options);
                }
                py::dict d;
                d["key"] = to_py_str(result.key);
                d["version_id"] = result.version_id;
                d["etag"] = result.etag;
                d["sha256"] = result.sha256_hex;
                return d;
            },
            py::arg("key"), py::arg("data") = py::none(), py::kw_only(), py::arg("file") = py::none(),
            py::arg("content_type") = "application/octet-stream", py::arg("metadata") = py::none(),
            py::arg("lock_mode") = py::none(), py::arg("retain_until") = py::none(), py::arg("legal_hold") = false,
            py::arg("sse") = py::none(), py::arg("kms_key_id") = "", py::arg("sha256") = py::none(),
            py::arg("if_none_match") = false,
            "Store data (bytes/str) or file under key. retain_until (datetime or RFC 3339) sets a\n"
            "retention in lock_mode (default COMPLIANCE). Returns {key, version_id, etag, sha256}.")
        .def(
            "get",
            [](Store& store, const std::string& key, std::optional<std::string> version_id,
               std::optional<std::pair<std::uint64_t, std::optional<std::uint64_t>>> byte_range) {
                std::string bytes;
                {
                    py::gil_scoped_release release;
                    bytes = store.get(key, GetOptions{.version_id = version_id, .range = byte_range});
                }
                return py::bytes(bytes);
            },
            py::arg("key"), py::arg("version_id") = py::none(), py::arg("range") = py::none(),
            "The object's bytes (checked against its SHA-256). range=(first, last or None), inclusive.")
        .def(
            "get_to_file",
            [](Store& store, const std::string& key, const fs::path& destination, std::optional<std::string> version_id) {
                ObjectInfo info;
                {
                    py::gil_scoped_release release;
                    info = store.get_to_file(key, destination, GetOptions{.version_id = version_id, .range = {}});
                }
                return info_dict(info);
            },
            py::arg("key"), py::arg("path"), py::arg("version_id") = py::none(),
            "Stream the object into path (atomically); returns what head() would.")
        .def(
            "head",
            [](Store& store, const std::string& key, std::optional<std::string> version_id) {
                ObjectInfo info;
                {
                    py::gil_scoped_release release;
                    info = store.head(key, version_id);
                }
                return info_dict(info);
            },
            py::arg("key"), py::arg("version_id") = py::none(),
            "{key, size, etag, sha256, content_type, metadata, retention, lock_mode, retain_until,\n"
            "legal_hold, version_id, last_modified}; NotFoundError when absent.")
        .def(
            "list",
            [](Store& store, const std::string& prefix, const std::string& delimiter,
               const std::string& continuation_token, int max_keys) {
                ListPage page;
                {
                    py::gil_scoped_release release;
                    page = store.list(ListOptions{.prefix = prefix, .delimiter = delimiter,
                                                  .continuation_token = continuation_token, .max_keys = max_keys});
                }
                py::list objects;
                for (const auto& s : page.objects) objects.append(summary_dict(s));
                py::dict d;
                d["objects"] = objects;
                d["common_prefixes"] = page.common_prefixes;
                d["next_continuation_token"] = page.next_continuation_token;
                return d;
            },
            py::arg("prefix") = "", py::arg("delimiter") = "", py::arg("continuation_token") = "",
            py::arg("max_keys") = 1000, "One page: {objects, common_prefixes, next_continuation_token}.")
        .def(
            "list_all",
            [](Store& store, const std::string& prefix) {
                std::vector<ObjectSummary> all;
                {
                    py::gil_scoped_release release;
                    all = store.list_all(prefix);
                }
                py::list out;
                for (const auto& s : all) out.append(summary_dict(s));
                return out;
            },
            py::arg("prefix") = "", "Every object under prefix (follows continuation tokens).")
        .def(
            "remove",
            [](Store& store, const std::string& key, std::optional<std::string> version_id, bool bypass_governance) {
                py::gil_scoped_release release;
                store.remove(key, DeleteOptions{.version_id = version_id, .bypass_governance = bypass_governance});
            },
            py::arg("key"), py::arg("version_id") = py::none(), py::arg("bypass_governance") = false,
            "Delete (ObjectLockedError while retention or a legal hold protects the version).")
        .def(
            "get_retention",
            [](Store& store, const std::string& key, std::optional<std::string> version_id) {
                std::optional<Retention> retention;
                {
                    py::gil_scoped_release release;
                    retention = store.get_retention(key, version_id);
                }
                return retention_dict(retention);
            },
            py::arg("key"), py::arg("version_id") = py::none(), "{mode, retain_until} or None.")
        .def(
            "put_retention",
            [](Store& store, const std::string& key, const std::string& mode, py::object retain_until,
               std::optional<std::string> version_id, bool bypass_governance) {
                Retention retention{.mode = parse_lock_mode(mode), .retain_until = to_retention_date(retain_until)};
                py::gil_scoped_release release;
                store.put_retention(key, retention,
                                    RetentionOptions{.version_id = version_id, .bypass_governance = bypass_governance});
            },
            py::arg("key"), py::arg("mode"), py::arg("retain_until"), py::arg("version_id") = py::none(),
            py::arg("bypass_governance") = false,
            "Set or extend a retention (COMPLIANCE can only be extended).")
        .def(
            "get_legal_hold",
            [](Store& store, const std::string& key, std::optional<std::string> version_id) {
                py::gil_scoped_release release;
                return store.get_legal_hold(key, version_id);
            },
            py::arg("key"), py::arg("version_id") = py::none())
        .def(
            "put_legal_hold",
            [](Store& store, const std::string& key, bool on, std::optional<std::string> version_id) {
                py::gil_scoped_release release;
                store.put_legal_hold(key, on, version_id);
            },
            py::arg("key"), py::arg("on"), py::arg("version_id") = py::none())
        .def("uri", &Store::uri, py::arg("key"), "A URI naming the object (file:///..., s3://bucket/key).");

    py::class_<LocalWormStore, Store, std::shared_ptr<LocalWormStore>>(
        m, "LocalWormStore", "The embedded WORM store: objects under a directory, with S3 Object Lock rules.")
        .def(py::init([](const fs::path& root) {
                 py::gil_scoped_release release;
                 return std::make_shared<LocalWormStore>(root);
             }),
             py::arg("root"))
        .def_property_readonly("root", &LocalWormStore::root)
        .def(
            "list_versions",
            [](LocalWormStore& store, const std::string& key) {
                std::vector<VersionSummary> versions;
                {
                    py::gil_scoped_release release;
                    versions = store.list_versions(key);
                }
                py::list out;
                for (const auto& v : versions) {
                    py::dict d;
                    d["version_id"] = v.version_id;
                    d["delete_marker"] = v.delete_marker;
                    d["is_latest"] = v.is_latest;
                    d["size"] = v.size;
                    d["last_modified"] = to_datetime(v.last_modified);
                    out.append(d);
                }
                return out;
            },
            py::arg("key"), "Every version and delete marker of key, newest first.");

    py::class_<ProxyStore, Store, std::shared_ptr<ProxyStore>>(
        m, "ProxyStore",
        "Proxy mode: the store behind a worm-proxy (MCP_URL) reached with a per-client bearer\n"
        "token (MCP_API_KEY). The proxy confines the client to evidence/{client_id}/.")
        .def(py::init([](const std::string& url, const std::string& api_key) {
                 ProxyConfig config{.url = url, .api_key = api_key, .transport = nullptr};
                 config.validate();
                 py::gil_scoped_release release;
                 return std::make_shared<ProxyStore>(std::move(config));
             }),
             py::arg("url"), py::arg("api_key"))
        .def_property_readonly("base_url", &ProxyStore::base_url);

    m.def(
        "open_store",
        [](const std::string& url) -> std::shared_ptr<Store> {
            py::gil_scoped_release release;
            return open_store(url);
        },
        py::arg("url"),
        "Open a store: file:///dir (LocalWormStore), s3://bucket[/prefix] (endpoint from\n"
        "AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, credentials from the AWS chain),\n"
        "mcp+http(s)://host (proxy).");
}

}  // namespace worm::python
