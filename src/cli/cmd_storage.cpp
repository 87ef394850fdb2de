// Storage commands: the same verbs for every store URL (file://, s3://, mcp+http(s)://).
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/storage/keys.hpp"
#include "worm/storage/local.hpp"

namespace worm::cli {

namespace {

const OptionSpec version_option{"--version-id", "VERSION", "address one version of the object"};

// Empty (unknown, unversioned): null.
std::optional<std::string> unless_empty(const std::string& s) {
    if (s.empty()) return std::nullopt;
    return s;
}

void write_retention(json::Writer& w, const std::optional<Retention>& r) {
    if (r) {
        w.member("lock_mode", to_string(r->mode)).member("retain_until", format_rfc3339_millis(r->retain_until));
    } else {
        w.member("lock_mode", nullptr).member("retain_until", nullptr);
    }
}

std::string info_json(const ObjectInfo& info) {
    json::Writer w;
    w.begin_object();
    w.member("key", info.key).member("size", info.size).member("sha256", unless_empty(info.sha256_hex));
    w.member("etag", info.etag).member("content_type", info.content_type);
    write_retention(w, info.retention);
    w.member("legal_hold", info.legal_hold).member("version_id", unless_empty(info.version_id));
    w.member("last_modified", format_rfc3339(info.last_modified));
    w.key("metadata").begin_object();
    for (const auto& [k, v] : info.metadata) w.member(k, v);
    w.end_object();
    w.end_object();
    return w.take();
}

bool parse_on_off(const std::string& v, const std::string& what) {
    if (v == "on" || v == "ON" || v == "true") return true;
    if (v == "off" || v == "OFF" || v == "false") return false;
    throw UsageError(what + " must be on or off, got '" + v + "'");
}

std::optional<std::string> version_arg(const ParsedArgs& a) { return a.get("--version-id"); }

int run_put(const ParsedArgs& a) {
    const auto& pos = a.positionals();
    const std::string key = pos[0];
    const std::filesystem::path file = pos[1];
    if (!std::filesystem::is_regular_file(file)) throw Error(ErrorCode::io, "no such file: " + file.string());
    PutOptions options;
    options.content_type = a.value_or("--content-type", "application/octet-stream");
    if (auto r = retention_from_args(a)) options.lock.retention = r;
    if (auto h = a.get("--legal-hold")) options.lock.legal_hold = parse_on_off(*h, "--legal-hold");
    options.if_none_match = a.has("--if-none-match");
    options.validate(system_clock().now());
    auto store = open_store(a.require("--store"));
    const PutResult r = store->put(key, PutBody::from_file(file), options);
    json::Writer w;
    w.begin_object().member("key", r.key).member("uri", store->uri(r.key)).member("version_id", unless_empty(r.version_id));
    w.member("etag", r.etag).member("sha256", unless_empty(r.sha256_hex)).end_object();
    std::cout << w.take() << "\n";
    return exit_ok;
}

int run_get(const ParsedArgs& a) {
    auto store = open_store(a.require("--store"));
    GetOptions options;
    options.version_id = version_arg(a);
    if (const auto out = a.get("--output")) {
        store->get_to_file(a.positionals()[0], *out, options);
    } else {
        const std::string data = store->get(a.positionals()[0], options);
        std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
        std::cout.flush();
    }
    return exit_ok;
}

int run_head(const ParsedArgs& a) {
    auto store = open_store(a.require("--store"));
    std::cout << info_json(store->head(a.positionals()[0], version_arg(a))) << "\n";
    return exit_ok;
}

int run_ls(const ParsedArgs& a) {
    auto store = open_store(a.require("--store"));
    for (const auto& o : store->list_all(a.value_or("--prefix", ""))) std::cout << o.key << "\n";
    return exit_ok;
}

int run_rm(const ParsedArgs& a) {
    auto store = open_store(a.require("--store"));
    DeleteOptions options;
    options.version_id = version_arg(a);
    options.bypass_governance = a.has("--bypass-governance");
    store->remove(a.positionals()[0], options);
    return exit_ok;
}

int run_retention_get(const ParsedArgs& a) {
    auto store = open_store(a.require("--store"));
    const auto r = store->get_retention(a.positionals()[0], version_arg(a));
    json::Writer w;
    w.begin_object();
    write_retention(w, r);
    w.end_object();
    std::cout << w.take() << "\n";
    return exit_ok;
}

int run_retention_set(const ParsedArgs& a) {
    const auto r = retention_from_args(a);
    if (!r) throw UsageError("retention set needs --lock-mode and --retain-days or --retain-until");
    if (r->retain_until <= system_clock().now())
        throw UsageError("retain-until " + format_rfc3339(r->retain_until) + " is not in the future");
    auto store = open_store(a.require("--store"));
    RetentionOptions options;
    options.version_id = version_arg(a);
    options.bypass_governance = a.has("--bypass-governance");
    store->put_retention(a.positionals()[0], *r, options);
    return exit_ok;
}

int run_legal_hold_get(const ParsedArgs& a) {
    auto store = open_store(a.require("--store"));
    const bool on = store->get_legal_hold(a.positionals()[0], version_arg(a));
    json::Writer w;
    w.begin_object().member("legal_hold", on).end_object();
    std::cout << w.take() << "\n";
    return exit_ok;
}

int run_legal_hold_set(const ParsedArgs& a) {
    const bool on = parse_on_off(a.positionals()[1], "legal hold");
    auto store = open_store(a.require("--store"));
    store->put_legal_hold(a.positionals()[0], on, version_arg(a));
    return exit_ok;
}

// `worm store verify`: the local store's sidecars and bodies against its operation log.
int run_store_verify(const ParsedArgs& a) {
    const std::string url = a.require("--store");
    if (!url.starts_with("file:"))
        throw UsageError("store verify checks a local store (file:///dir); got '" + url.substr(0, url.find(':')) +
                         ":' (S3 Object Lock is verified by `worm bucket verify` and `worm audit`)");
    const std::filesystem::path root = file_store_path(url);
    if (!std::filesystem::is_directory(root)) throw Error(ErrorCode::not_found, "no local store at " + root.string());
    // start_log off: a missing log is reported, never replaced by a fresh one.
    LocalWormStore store(root, system_clock(), LocalStoreOptions{.durable = true, .start_log = false});
    const LocalStoreVerification v = store.verify();
    json::Writer w;
    w.begin_object().member("store", url).member("ok", v.ok()).member("records", v.records).member("versions", v.versions);
    w.member("log_head", v.log_head);
    w.key("problems").begin_array();
    for (const auto& p : v.problems) {
        w.begin_object().member("kind", p.kind).member("key", p.key).member("version_id", p.version_id);
        w.member("detail", p.detail).end_object();
    }
    w.end_array().end_object();
    std::cout << w.take() << "\n";
    for (const auto& p : v.problems)
        std::cerr << "worm store verify: " << p.kind << (p.key.empty() ? "" : " " + quote_key(p.key))
                  << (p.version_id.empty() ? "" : " version " + p.version_id) << ": " << p.detail << "\n";
    return v.ok() ? exit_ok : exit_verification_failed;
}

const std::string retain_details =
    "Retention: --lock-mode COMPLIANCE|GOVERNANCE with --retain-days N or --retain-until RFC3339.\n"
    "COMPLIANCE retention can never be shortened or removed; GOVERNANCE only with --bypass-governance.";

}  // namespace

std::vector<Command> storage_commands() {
    std::vector<Command> c;
    c.push_back({{"put", "KEY FILE", "store a file as an object, optionally write-once locked",
                  {store_option, lock_mode_option, retain_days_option, retain_until_option,
                   {"--legal-hold", "on|off", "place a legal hold"},
                   {"--content-type", "TYPE", "content type (default application/octet-stream)"},
                   {"--if-none-match", "", "fail if the key already exists"}},
                  2, 2, "prints one JSON object: key, uri, version_id, etag, sha256.\n" + retain_details},
                 run_put});
    c.push_back({{"get", "KEY", "read an object to stdout or a file",
                  {store_option, version_option,
                   {"--output", "FILE", "write to FILE (atomically) instead of stdout", false, "-o"}},
                  1, 1, "The store checks the content against its recorded SHA-256 where it has one."},
                 run_get});
    c.push_back({{"head", "KEY", "show an object's size, sha256, lock and metadata as JSON",
                  {store_option, version_option}, 1, 1, ""},
                 run_head});
    c.push_back({{"ls", "", "list keys, one per line",
                  {store_option, {"--prefix", "PREFIX", "only keys starting with PREFIX"}}, 0, 0, ""},
                 run_ls});
    c.push_back({{"rm", "KEY", "delete an object or one version (refused while locked)",
                  {store_option, version_option, {"--bypass-governance", "", "allow removing GOVERNANCE-locked versions"}},
                  1, 1, ""},
                 run_rm});
    c.push_back({{"store verify", "", "check a local store's sidecars and bodies against its operation log",
                  {with_help(store_option, "the local store, file:///dir")},
                  0, 0,
                  "prints one JSON object: ok, records, versions, log_head and problems (kind edited, missing,\n"
                  "orphaned, body or log, with key, version_id, detail). Exit 0 when the store matches its\n"
                  "log, 1 when it does not. Keep log_head elsewhere to detect a rewritten log later."},
                 run_store_verify});
    c.push_back({{"retention get", "KEY", "show an object's retention as JSON", {store_option, version_option}, 1, 1, ""},
                 run_retention_get});
    c.push_back({{"retention set", "KEY", "set or extend an object's retention",
                  {store_option, version_option,
                   required(lock_mode_option),
                   retain_days_option, retain_until_option,
                   {"--bypass-governance", "", "allow shortening GOVERNANCE retention"}},
                  1, 1, retain_details},
                 run_retention_set});
    c.push_back({{"legal-hold get", "KEY", "show whether a legal hold is on", {store_option, version_option}, 1, 1, ""},
                 run_legal_hold_get});
    c.push_back({{"legal-hold set", "KEY on|off", "place or lift a legal hold", {store_option, version_option}, 2, 2, ""},
                 run_legal_hold_set});
    for (auto& b : bucket_commands()) c.push_back(std::move(b));
    return c;
}

}  // namespace worm::cli
