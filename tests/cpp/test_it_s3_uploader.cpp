// peers: moto rgw
// WormUploader over S3Store against a real S3 server (WORM_TEST_PEER=moto|rgw): its check
// after a put uses what the server really returns. Ceph RGW ignores x-amz-checksum-* and
// echoes none, so there the uploader must read the object back and hash it; its lock
// check must see the retention in the server's HEAD. A tampering transport (fault
// injection only) proves both checks are real: a read-back, checksum or HEAD that does
// not match is Error(integrity) and the bundle is left failed, never marked uploaded.
#include <doctest/doctest.h>

#include "support/s3_peer.hpp"
#include "support/test_env.hpp"
#include "support/wire_log.hpp"
#include "worm/crypto.hpp"
#include "worm/registry.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/store.hpp"
#include "worm/uploader.hpp"

using namespace worm;
using namespace std::chrono_literals;
namespace t = worm::test;

namespace {

t::S3Peer& peer() { return t::S3Peer::shared(); }

const std::string& lock_bucket() {
    static const std::string name = peer().create_bucket("upl", true);
    return name;
}

struct Fixture {
    t::TempDir dir{"worm-it-s3-uploader"};
    std::filesystem::path evidence = dir / "evidence";
    std::shared_ptr<t::WireLog> wire = std::make_shared<t::WireLog>(make_curl_transport());
    std::shared_ptr<s3::S3Store> store;
    std::shared_ptr<UploadRegistry> registry;
    WormConfig config;
    std::unique_ptr<WormUploader> uploader;
    std::string prefix;

    explicit Fixture(std::string key_prefix) : prefix(std::move(key_prefix)) {
        std::filesystem::create_directories(evidence);
        store = std::make_shared<s3::S3Store>(std::make_shared<s3::S3Client>(peer().client_config(wire)), lock_bucket());
        RegistryOptions ro;
        ro.durable = false;
        registry = std::make_shared<UploadRegistry>(evidence, ro);
        config.enabled = true;
        config.mode = WormMode::direct;
        config.s3_bucket = lock_bucket();
        config.s3_prefix = prefix;
        config.retention_days = 90;
        config.lock_mode = LockMode::compliance;
        UploaderOptions options;
        options.sleep = [](std::chrono::milliseconds) {};
        uploader = std::make_unique<WormUploader>(config, store, registry, options);
    }

    std::pair<std::filesystem::path, std::filesystem::path> make_bundle(const std::string& id) {
        const auto json = evidence / (id + ".json"), sig = evidence / (id + ".sig");
        t::write_file(json, R"({"bundle_id":")" + id + R"(","client_id":"clinic-001","incident":"disk full"})");
        t::write_file(sig, base64_encode(sha256("signature of " + id)) + "\n");
        return {json, sig};
    }

    std::string key(const std::string& id, const std::string& ext) const {
        return WormUploader::object_key(prefix, "clinic-001", id, ext);
    }
};

bool is_object_request(const HttpRequest& r, const std::string& method, const std::string& key) {
    // The key's path is in the URL as it went on the wire (these keys need no encoding).
    const size_t q = r.url.find('?');
    const std::string path = r.url.substr(0, q);
    return r.method == method && path.ends_with("/" + key);
}

// A plain object PUT (no ?retention, ?partNumber...).
bool is_plain_put(const HttpRequest& r, const std::string& key) {
    return is_object_request(r, "PUT", key) && r.url.find('?') == std::string::npos;
}

}  // namespace

TEST_CASE("the uploader verifies by what the server returns: read back when no checksum is echoed; lock via HEAD") {
    Fixture f("verify");
    const std::string id = "EB-20261122-0001";
    const auto [json, sig] = f.make_bundle(id);
    const TimePoint before = std::chrono::system_clock::now();
    const UploadResult result = f.uploader->upload_bundle(json, sig, "clinic-001");
    CHECK_FALSE(result.already_present);
    CHECK(result.attempts == 1);
    CHECK(result.bundle_uri == "s3://" + lock_bucket() + "/" + f.key(id, ".json"));

    const auto log = f.wire->exchanges();
    for (const auto& [ext, path, version] :
         {std::tuple{".json", json, result.bundle_version_id}, std::tuple{".sig", sig, result.sig_version_id}}) {
        const std::string key = f.key(id, ext);
        CAPTURE(key);
        const std::string file_sha = to_hex(sha256_file(path));
        size_t put_at = log.size();
        for (size_t i = 0; i < log.size(); ++i)
            if (is_plain_put(log[i].request, key)) put_at = i;
        REQUIRE(put_at < log.size());
        CHECK(log[put_at].response.status == 200);
        const auto echoed = find_header(log[put_at].response.headers, "x-amz-checksum-sha256");
        // Ceph RGW ignores x-amz-checksum-sha256 and echoes nothing (moto echoes it).
        if (peer().strict()) CHECK_FALSE(echoed.has_value());

        bool read_back = false, headed = false;
        for (size_t i = put_at + 1; i < log.size(); ++i) {
            const t::Exchange& x = log[i];
            if (is_object_request(x.request, "GET", key) && t::url_has(x.request, "versionId=" + version)) {
                read_back = true;
                CHECK(x.response.status == 200);
                CHECK(sha256_hex(x.response.body) == file_sha);  // what was hashed is what the server sent
            }
            if (is_object_request(x.request, "HEAD", key)) {
                headed = true;
                CHECK(find_header(x.response.headers, "x-amz-object-lock-mode") == std::optional<std::string>("COMPLIANCE"));
                const auto until = find_header(x.response.headers, "x-amz-object-lock-retain-until-date");
                REQUIRE(until.has_value());
                CHECK(parse_rfc3339(*until) >= std::chrono::floor<std::chrono::seconds>(before) + std::chrono::days(90));
            }
        }
        MESSAGE(peer().kind() << ": PUT answer " << std::string(echoed ? "echoed" : "did not echo") << " x-amz-checksum-sha256; "
                              << std::string(read_back ? "read back and hashed" : "no read-back"));
        if (echoed) {
            // The store's own checksum is trusted only when it is this file's.
            CHECK(*echoed == base64_encode(sha256(t::read_file(path))));
        } else {
            CHECK(read_back);  // never assumed: read back and hashed
        }
        CHECK(headed);  // the lock is checked from the server's HEAD
    }
    const auto rec = f.registry->get(id);
    REQUIRE(rec.has_value());
    CHECK(rec->status == UploadStatus::uploaded);
    CHECK(rec->bundle_version_id == result.bundle_version_id);

    // Retention on the server itself (GetObjectRetention on RGW, HEAD on moto).
    const auto retention = f.store->get_retention(f.key(id, ".json"), result.bundle_version_id);
    REQUIRE(retention.has_value());
    CHECK(retention->mode == LockMode::compliance);

    // A second upload of the same bundle sends nothing: the registry knows it is stored.
    f.wire->clear();
    CHECK(f.uploader->upload_bundle(json, sig, "clinic-001").attempts == 0);
    CHECK(f.wire->exchanges().empty());
}

TEST_CASE("content that does not verify after the put is integrity, and the bundle is left failed") {
    Fixture f("corrupt-readback");
    const std::string id = "EB-20261122-0002";
    const auto [json, sig] = f.make_bundle(id);
    const std::string json_key = f.key(id, ".json");
    // A network that corrupts what comes back: the read-back body (RGW path) and the
    // echoed checksum (moto path) of the .json.
    f.wire->tamper_response = [&](const HttpRequest& req, HttpResponse& resp) {
        if (resp.status != 200) return;
        if (is_object_request(req, "GET", json_key) && !resp.body.empty()) resp.body[0] ^= 0x01;
        if (is_object_request(req, "PUT", json_key))
            for (auto& [name, value] : resp.headers)
                if (name == "x-amz-checksum-sha256") value = base64_encode(sha256("something else"));
    };
    try {
        f.uploader->upload_bundle(json, sig, "clinic-001");
        FAIL("a stored object that does not hash to the file must not count as uploaded");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::integrity);
        // Named either by the client's whole-object check of the read-back (the server's
        // recorded ETag/SHA-256 against the body) or by the uploader's hash of the file.
        const std::string what = e.what();
        CHECK((what.find(to_hex(sha256_file(json))) != std::string::npos ||
               what.find("S3 recorded") != std::string::npos));
    }
    const auto rec = f.registry->get(id);
    REQUIRE(rec.has_value());
    CHECK(rec->status == UploadStatus::failed);
    CHECK((rec->last_error.find("sha256") != std::string::npos ||
           rec->last_error.find("S3 recorded") != std::string::npos));
    // Integrity is not retried (attempts: 1).
    CHECK(f.registry->attempts(id).size() == 1);
}

TEST_CASE("a HEAD that shows no lock after the put is integrity, never a silent success") {
    Fixture f("nolock-head");
    const std::string id = "EB-20261122-0003";
    const auto [json, sig] = f.make_bundle(id);
    const std::string json_key = f.key(id, ".json");
    bool stripped = false;
    f.wire->tamper_response = [&](const HttpRequest& req, HttpResponse& resp) {
        if (!is_object_request(req, "HEAD", json_key) || resp.status != 200) return;
        std::erase_if(resp.headers, [&](const auto& h) {
            const bool lock = h.first.starts_with("x-amz-object-lock-");
            stripped = stripped || lock;
            return lock;
        });
    };
    try {
        f.uploader->upload_bundle(json, sig, "clinic-001");
        FAIL("a version without the lock must not count as uploaded");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::integrity);
        CHECK(std::string(e.what()).find("no object lock retention") != std::string::npos);
    }
    CHECK(stripped);  // the server did send the lock; only the tampering hid it
    CHECK(f.registry->get(id)->status == UploadStatus::failed);
}
