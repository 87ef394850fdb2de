// LocalWormStore: S3 Object Lock semantics, integrity, key safety, crash leftovers,
// and several processes writing at once.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <set>

#include "support/error_code.hpp"
#include "support/test_env.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/storage/keys.hpp"
#include "worm/storage/local.hpp"

using namespace worm;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test::TempDir;

using worm::test::code_of;

namespace {

const TimePoint t0 = parse_rfc3339("2026-11-22T18:00:00Z");

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    FAIL("expected worm::Error");
    return "";
}

PutOptions locked(LockMode mode, TimePoint until, bool hold = false) {
    PutOptions o;
    o.lock.retention = Retention{mode, until};
    o.lock.legal_hold = hold;
    return o;
}

// Option structs built field by field: storage.hpp's std::optional members have no
// default member initializer, so designated initializers that skip them trip -Wextra.
GetOptions range(std::uint64_t first, std::optional<std::uint64_t> last) {
    GetOptions o;
    o.range = std::make_pair(first, last);
    return o;
}
GetOptions version(const std::string& v) {
    GetOptions o;
    o.version_id = v;
    return o;
}
DeleteOptions del(std::optional<std::string> v, bool bypass = false) {
    DeleteOptions o;
    o.version_id = std::move(v);
    o.bypass_governance = bypass;
    return o;
}
RetentionOptions bypass() {
    RetentionOptions o;
    o.bypass_governance = true;
    return o;
}
ListOptions listing(std::string prefix, std::string delimiter = "", int max_keys = 1000) {
    ListOptions o;
    o.prefix = std::move(prefix);
    o.delimiter = std::move(delimiter);
    o.max_keys = max_keys;
    return o;
}

PutBody bytes(std::string s) { return PutBody::from_bytes(std::move(s)); }

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// Every version directory of a key (its "@v"), as the store lays it out.
fs::path version_dir(const fs::path& root, const std::string& key) { return root / "versions" / key / "@v"; }

}  // namespace

TEST_CASE("put, get, head and uri round-trip bytes and metadata") {
    TempDir dir;
    FixedClock clock(t0);
    LocalWormStore store(dir / "store", clock);
    const std::string key = "evidence/clinic-001/2026/11/EB-20261122-0001.json";
    const std::string body = std::string("{\"a\":1}\n") + std::string(1, '\0') + "\xff";
    PutOptions options;
    options.content_type = "application/json";
    options.metadata = {{"bundle-id", "EB-20261122-0001"}};
    const PutResult put = store.put(key, bytes(body), options);

    CHECK(put.key == key);
    CHECK(put.sha256_hex == sha256_hex(body));
    CHECK(!put.version_id.empty());
    CHECK(store.get(key) == body);

    const ObjectInfo info = store.head(key);
    CHECK(info.size == body.size());
    CHECK(info.sha256_hex == sha256_hex(body));
    CHECK(info.etag == put.etag);
    CHECK(info.content_type == "application/json");
    CHECK(info.metadata.at("bundle-id") == "EB-20261122-0001");
    CHECK(info.version_id == put.version_id);
    CHECK(info.last_modified == t0);
    CHECK(!info.retention);
    CHECK(!info.legal_hold);

    // The human-readable mirror holds the bytes, read-only, as does the version itself.
    const fs::path mirror = dir.path() / "store/objects" / key;
    CHECK(test::read_file(mirror) == body);
    CHECK(mode_of(mirror) == 0444);
    CHECK(mode_of(version_dir(dir.path() / "store", key) / (put.version_id + ".json")) == 0444);
    CHECK(store.uri(key) == "file://" + fs::canonical(dir.path()).string() + "/store/objects/" + key);
    CHECK(store.uri("a b/%x") == "file://" + fs::canonical(dir.path()).string() + "/store/objects/a%20b/%25x");

    // Ranges are inclusive and still verified against the whole body.
    CHECK(store.get(key, range(2, 4)) == body.substr(2, 3));
    CHECK(store.get(key, range(5, std::nullopt)) ==
          body.substr(5));
    CHECK(code_of([&] {
              store.get(key, range(body.size(), std::nullopt));
          }) == ErrorCode::invalid_argument);

    CHECK(code_of([&] { store.get("evidence/missing.json"); }) == ErrorCode::not_found);
    CHECK(code_of([&] { store.head("evidence/missing.json"); }) == ErrorCode::not_found);
    CHECK(code_of([&] { store.remove("evidence/missing.json"); }) == ErrorCode::not_found);
    CHECK(message_of([&] { store.get("evidence/missing.json"); }).find("evidence/missing.json") != std::string::npos);
}

TEST_CASE("put from a file streams it, get_to_file writes it back, sha256 is checked") {
    TempDir dir;
    LocalWormStore store(dir / "store");
    std::string big;
    big.reserve(3 << 20);
    for (std::uint64_t i = 0; big.size() < (3u << 20) + 7; ++i) big += std::to_string(i * 7919) + ",";  // int would overflow (UB)
    test::write_file(dir / "in.bin", big);

    PutOptions options;
    options.sha256_hex = sha256_hex(big);
    const PutResult put = store.put("big/file.bin", PutBody::from_file(dir / "in.bin"), options);
    CHECK(put.sha256_hex == sha256_hex(big));

    const ObjectInfo info = store.get_to_file("big/file.bin", dir / "out.bin");
    CHECK(info.size == big.size());
    CHECK(test::read_file(dir / "out.bin") == big);
    store.get_to_file("big/file.bin", dir / "slice.bin",
                      range(100000, 200000));
    CHECK(test::read_file(dir / "slice.bin") == big.substr(100000, 100001));

    // A declared sha256 that does not match the bytes is refused, and nothing is stored.
    options.sha256_hex = std::string(64, 'a');
    CHECK(code_of([&] { store.put("big/wrong.bin", PutBody::from_file(dir / "in.bin"), options); }) ==
          ErrorCode::integrity);
    CHECK(code_of([&] { store.head("big/wrong.bin"); }) == ErrorCode::not_found);
    CHECK(code_of([&] { store.put("big/none.bin", PutBody::from_file(dir / "absent.bin"), {}); }) ==
          ErrorCode::not_found);
    CHECK(fs::is_empty(dir.path() / "store/tmp"));  // failed puts leave no staged body
}

TEST_CASE("every put is a new version; delete writes a delete marker") {
    TempDir dir;
    FixedClock clock(t0);
    LocalWormStore store(dir / "store", clock);
    const std::string key = "logs/app.jsonl";
    const auto v1 = store.put(key, bytes("one"), {}).version_id;
    const auto v2 = store.put(key, bytes("two"), {}).version_id;  // same clock time: ids still ordered
    clock.advance(60s);
    const auto v3 = store.put(key, bytes("three"), {}).version_id;
    CHECK(std::set<std::string>{v1, v2, v3}.size() == 3);

    CHECK(store.get(key) == "three");
    CHECK(store.head(key).version_id == v3);
    CHECK(store.get(key, version(v1)) == "one");
    CHECK(store.head(key, v2).size == 3);
    CHECK(code_of([&] { store.get(key, version(std::string("00000000000000000001-00000000"))); }) ==
          ErrorCode::not_found);
    CHECK(code_of([&] { store.get(key, version(std::string("../../etc/passwd"))); }) == ErrorCode::not_found);

    auto versions = store.list_versions(key);
    REQUIRE(versions.size() == 3);
    CHECK(versions[0].version_id == v3);
    CHECK(versions[0].is_latest);
    CHECK(versions[2].version_id == v1);

    // if_none_match refuses an existing key.
    PutOptions once;
    once.if_none_match = true;
    CHECK(code_of([&] { store.put(key, bytes("four"), once); }) == ErrorCode::already_exists);

    store.remove(key);
    CHECK(code_of([&] { store.get(key); }) == ErrorCode::not_found);
    CHECK(code_of([&] { store.head(key); }) == ErrorCode::not_found);
    CHECK(!fs::exists(dir.path() / "store/objects" / key));
    CHECK(store.list_all().empty());
    CHECK(store.get(key, version(v2)) == "two");  // the versions are still there
    versions = store.list_versions(key);
    REQUIRE(versions.size() == 4);
    CHECK(versions[0].delete_marker);

    // Removing the delete marker brings the object back; if_none_match now sees it again.
    store.remove(key, del(versions[0].version_id));
    CHECK(store.get(key) == "three");
    CHECK(test::read_file(dir.path() / "store/objects" / key) == "three");

    // After a delete marker, if_none_match succeeds (the key does not exist).
    store.remove(key);
    CHECK(store.put(key, bytes("five"), once).version_id > v3);
    CHECK(store.get(key) == "five");

    // Deleting each version for good removes the key and its folders.
    for (const auto& v : store.list_versions(key)) store.remove(key, del(v.version_id));
    CHECK(code_of([&] { store.list_versions(key); }) == ErrorCode::not_found);
    CHECK(fs::is_empty(dir.path() / "store/versions"));
    CHECK(fs::is_empty(dir.path() / "store/objects"));
}

TEST_CASE("listing: lexicographic order, 2,500 keys in pages of 1,000, delimiter and prefix") {
    TempDir dir;
    // Not durable: 2,500 puts worth of fsyncs prove nothing here and load a shared disk.
    LocalWormStore store(dir / "store", system_clock(), {.durable = false});
    std::vector<std::string> keys;
    for (int i = 0; i < 2500; ++i) {
        // Spread over folders, with names whose byte order differs from a tree walk's.
        const int folder = i % 7;
        std::string key = "evidence/c" + std::to_string(folder) + (i % 3 == 0 ? "-x/" : "/") + std::to_string(i);
        keys.push_back(key);
        store.put(key, bytes(std::to_string(i)), {});
    }
    std::sort(keys.begin(), keys.end());

    std::vector<std::string> seen;
    ListOptions options = listing("evidence/");
    std::vector<std::size_t> page_sizes;
    while (true) {
        ListPage page = store.list(options);
        page_sizes.push_back(page.objects.size());
        for (const auto& o : page.objects) seen.push_back(o.key);
        if (page.next_continuation_token.empty()) break;
        options.continuation_token = page.next_continuation_token;
    }
    CHECK(page_sizes == std::vector<std::size_t>{1000, 1000, 500});
    CHECK(seen == keys);
    // 1..1000, as the S3 client and worm-proxy accept it: one rule for every store (ObjectStore).
    CHECK(code_of([&] { store.list(listing("", "", 5000)); }) == ErrorCode::invalid_argument);
    CHECK(code_of([&] { store.list(listing("", "", 0)); }) == ErrorCode::invalid_argument);

    ListPage top = store.list(listing("evidence/", "/"));
    CHECK(top.objects.empty());
    CHECK(top.common_prefixes == std::vector<std::string>{"evidence/c0-x/", "evidence/c0/", "evidence/c1-x/",
                                                          "evidence/c1/", "evidence/c2-x/", "evidence/c2/",
                                                          "evidence/c3-x/", "evidence/c3/", "evidence/c4-x/",
                                                          "evidence/c4/", "evidence/c5-x/", "evidence/c5/",
                                                          "evidence/c6-x/", "evidence/c6/"});
    // A prefix that ends mid-segment.
    const auto c3 = store.list_all("evidence/c3");
    CHECK(std::all_of(c3.begin(), c3.end(), [](const auto& o) { return o.key.starts_with("evidence/c3"); }));
    CHECK(c3.size() == static_cast<std::size_t>(std::count_if(
                           keys.begin(), keys.end(), [](const auto& k) { return k.starts_with("evidence/c3"); })));
    CHECK(store.list(listing("nothing/")).objects.empty());
    CHECK(code_of([&] { ListOptions o; o.continuation_token = "not a token"; store.list(o);; }) == ErrorCode::invalid_argument);
}

TEST_CASE("listing with a delimiter pages through common prefixes and keys alike") {
    TempDir dir;
    LocalWormStore store(dir / "store");
    for (const char* k : {"a-c", "a.d", "a/b", "a/c/d", "a0", "b/x/1", "b/x/2", "b/y", "c", "@odd/@v", "@v"})
        store.put(k, bytes(k), {});
    std::vector<std::string> flat;
    for (const auto& o : store.list_all()) flat.push_back(o.key);
    CHECK(flat == std::vector<std::string>{"@odd/@v", "@v", "a-c", "a.d", "a/b", "a/c/d", "a0", "b/x/1", "b/x/2",
                                           "b/y", "c"});
    CHECK(store.get("@odd/@v") == "@odd/@v");

    // One entry per page: keys and common prefixes interleave in byte order.
    std::vector<std::string> entries;
    ListOptions options = listing("", "/", 1);
    for (int guard = 0; guard < 20; ++guard) {
        ListPage page = store.list(options);
        CHECK(page.objects.size() + page.common_prefixes.size() == 1);
        for (const auto& o : page.objects) entries.push_back(o.key);
        for (const auto& p : page.common_prefixes) entries.push_back(p);
        if (page.next_continuation_token.empty()) break;
        options.continuation_token = page.next_continuation_token;
    }
    CHECK(entries == std::vector<std::string>{"@odd/", "@v", "a-c", "a.d", "a/", "a0", "b/", "c"});
    ListPage b = store.list(listing("b/", "/"));
    CHECK(b.common_prefixes == std::vector<std::string>{"b/x/"});
    REQUIRE(b.objects.size() == 1);
    CHECK(b.objects[0].key == "b/y");

    // "a" cannot become an object while "a/" holds objects (the mirror keeps keys as files).
    CHECK(code_of([&] { store.put("a", bytes("x"), {}); }) == ErrorCode::already_exists);
    CHECK(code_of([&] { store.put("c/d", bytes("x"), {}); }) == ErrorCode::already_exists);
}

TEST_CASE("COMPLIANCE retention: no overwrite, no delete, extend only, until it passes") {
    TempDir dir;
    FixedClock clock(t0);
    LocalWormStore store(dir / "store", clock);
    const std::string key = "evidence/c/EB-1.json";
    const auto v1 = store.put(key, bytes("evidence"), locked(LockMode::compliance, t0 + 24h)).version_id;

    auto info = store.head(key);
    REQUIRE(info.retention);
    CHECK(info.retention->mode == LockMode::compliance);
    CHECK(info.retention->retain_until == t0 + 24h);
    CHECK(store.get_retention(key)->retain_until == t0 + 24h);

    CHECK(code_of([&] { store.put(key, bytes("forged"), {}); }) == ErrorCode::object_locked);
    CHECK(store.get(key) == "evidence");
    CHECK(code_of([&] { store.remove(key); }) == ErrorCode::object_locked);
    CHECK(code_of([&] { store.remove(key, del(v1)); }) == ErrorCode::object_locked);
    CHECK(code_of([&] { store.remove(key, del(v1, true)); }) ==
          ErrorCode::object_locked);
    CHECK(message_of([&] { store.remove(key); }).find("COMPLIANCE") != std::string::npos);

    // Extend: fine. Shorten, switch to GOVERNANCE or clear: refused, even with bypass.
    store.put_retention(key, {LockMode::compliance, t0 + 48h});
    CHECK(store.get_retention(key)->retain_until == t0 + 48h);
    CHECK(code_of([&] { store.put_retention(key, {LockMode::compliance, t0 + 30h}, bypass()); }) ==
          ErrorCode::object_locked);
    CHECK(code_of([&] { store.put_retention(key, {LockMode::governance, t0 + 72h}); }) == ErrorCode::object_locked);
    CHECK(code_of([&] { store.clear_retention(key, bypass()); }) == ErrorCode::object_locked);
    CHECK(store.get_retention(key)->retain_until == t0 + 48h);
    CHECK(code_of([&] { store.put_retention(key, {LockMode::compliance, t0 - 1h}); }) ==
          ErrorCode::invalid_argument);

    // A retain-until date in the past at put is a caller error.
    CHECK(code_of([&] { store.put("other", bytes("x"), locked(LockMode::compliance, t0 - 1s)); }) ==
          ErrorCode::invalid_argument);

    // Once the date passes, the version may go and the key may be written again.
    clock.advance(48h + 1s);
    store.put(key, bytes("new"), {});
    CHECK(store.get(key) == "new");
    store.remove(key, del(v1));
    CHECK(code_of([&] { store.get(key, version(v1)); }) == ErrorCode::not_found);
}

TEST_CASE("GOVERNANCE retention: shortened, cleared or deleted only with bypass") {
    TempDir dir;
    FixedClock clock(t0);
    LocalWormStore store(dir / "store", clock);
    const std::string key = "gov/report.pdf";
    const auto v1 = store.put(key, bytes("report"), locked(LockMode::governance, t0 + 24h)).version_id;

    CHECK(code_of([&] { store.put(key, bytes("x"), {}); }) == ErrorCode::object_locked);
    CHECK(code_of([&] { store.remove(key, del(v1)); }) == ErrorCode::object_locked);
    CHECK(code_of([&] { store.put_retention(key, {LockMode::governance, t0 + 1h}); }) == ErrorCode::object_locked);
    store.put_retention(key, {LockMode::governance, t0 + 36h});  // extending needs no bypass
    store.put_retention(key, {LockMode::governance, t0 + 1h}, bypass());
    CHECK(store.get_retention(key)->retain_until == t0 + 1h);
    CHECK(code_of([&] { store.clear_retention(key, {}); }) == ErrorCode::object_locked);
    store.clear_retention(key, bypass());
    CHECK(!store.get_retention(key));

    const auto v2 = store.put(key, bytes("report 2"), locked(LockMode::governance, t0 + 24h)).version_id;
    CHECK(code_of([&] { store.remove(key, del(v2)); }) == ErrorCode::object_locked);
    store.remove(key, del(v2, true));
    CHECK(store.get(key) == "report");

    // GOVERNANCE may be raised to COMPLIANCE, which then cannot be bypassed.
    store.put_retention(key, {LockMode::governance, t0 + 2h});
    store.put_retention(key, {LockMode::compliance, t0 + 3h});
    CHECK(code_of([&] { store.remove(key, del(v1, true)); }) ==
          ErrorCode::object_locked);
}

TEST_CASE("legal hold blocks overwrite and delete until it is released") {
    TempDir dir;
    FixedClock clock(t0);
    LocalWormStore store(dir / "store", clock);
    const std::string key = "held/doc.txt";
    PutOptions hold;
    hold.lock.legal_hold = true;
    const auto v1 = store.put(key, bytes("held"), hold).version_id;
    CHECK(store.get_legal_hold(key));
    CHECK(code_of([&] { store.put(key, bytes("x"), {}); }) == ErrorCode::object_locked);
    CHECK(code_of([&] { store.remove(key); }) == ErrorCode::object_locked);
    CHECK(code_of([&] { store.remove(key, del(v1, true)); }) ==
          ErrorCode::object_locked);
    store.put_legal_hold(key, false);
    CHECK(!store.get_legal_hold(key));
    store.put_legal_hold(key, true, v1);
    CHECK(store.get_legal_hold(key, v1));
    store.put_legal_hold(key, false, v1);
    store.remove(key, del(v1));
    CHECK(code_of([&] { store.head(key); }) == ErrorCode::not_found);

    // A hold on an expired retention still holds.
    store.put(key, bytes("again"), locked(LockMode::compliance, t0 + 1h, true));
    clock.advance(2h);
    CHECK(code_of([&] { store.put(key, bytes("x"), {}); }) == ErrorCode::object_locked);
    store.put_legal_hold(key, false);
    store.put(key, bytes("x"), {});
    CHECK(store.get(key) == "x");
}

TEST_CASE("corruption behind the store's back is detected on read") {
    TempDir dir;
    LocalWormStore store(dir / "store");
    const std::string key = "evidence/c/EB-2.json";
    const auto v = store.put(key, bytes("{\"amount\":100}"), {}).version_id;
    const fs::path body = version_dir(dir.path() / "store", key) / (v + ".body");

    // Flip one byte in place (same size): the mirror is the same file, so edit that.
    const fs::path mirror = dir.path() / "store/objects" / key;
    fs::permissions(mirror, fs::perms::owner_write, fs::perm_options::add);
    {
        std::fstream f(mirror, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(10);
        f.put('9');
    }
    CHECK(test::read_file(body) == "{\"amount\":900}");
    CHECK(code_of([&] { store.get(key); }) == ErrorCode::integrity);
    CHECK(message_of([&] { store.get(key); }).find(key) != std::string::npos);
    CHECK(code_of([&] { store.get_to_file(key, dir / "out.json"); }) == ErrorCode::integrity);
    CHECK(!fs::exists(dir / "out.json"));
    CHECK(code_of([&] {
              store.get(key, range(0, 1));
          }) == ErrorCode::integrity);
    CHECK(store.head(key).sha256_hex == sha256_hex("{\"amount\":100}"));  // head reports the sidecar

    // A missing body, and a sidecar that claims to be another key's, are damage too.
    const auto v2 = store.put("other", bytes("x"), {}).version_id;
    fs::remove(version_dir(dir.path() / "store", "other") / (v2 + ".body"));
    CHECK(code_of([&] { store.get("other"); }) == ErrorCode::integrity);
    const fs::path sidecar = version_dir(dir.path() / "store", "other") / (v2 + ".json");
    std::string json = test::read_file(sidecar);
    json.replace(json.find("\"other\""), 7, "\"elsewhere\"");
    fs::permissions(sidecar, fs::perms::owner_write, fs::perm_options::add);
    test::write_file(sidecar, json);
    CHECK(code_of([&] { store.head("other"); }) == ErrorCode::integrity);
}

TEST_CASE("keys that could escape the store are refused") {
    TempDir dir;
    LocalWormStore store(dir / "store");
    const std::vector<std::string> bad = {"",
                                          "../escape",
                                          "a/../../escape",
                                          "/etc/passwd",
                                          "a\\b",
                                          std::string("a\0b", 3),
                                          "a\x01",
                                          "a//b",
                                          "./a",
                                          "a/.",
                                          "a/",
                                          "..",
                                          "a\x7f",
                                          "a\xc2\x85",       // U+0085, a C1 control
                                          "bad\xff utf8",    // invalid UTF-8
                                          "\xc0\xaf",        // overlong '/'
                                          std::string(1025, 'k'),
                                          std::string(255, 's')};  // longer than a local path segment
    for (const auto& key : bad) {
        CAPTURE(key);
        CHECK(code_of([&] { store.put(key, bytes("x"), {}); }) == ErrorCode::invalid_argument);
        CHECK(code_of([&] { store.get(key); }) == ErrorCode::invalid_argument);
        CHECK(code_of([&] { store.remove(key); }) == ErrorCode::invalid_argument);
    }
    CHECK_NOTHROW(validate_object_key(std::string(1024, 'k')));
    CHECK_NOTHROW(validate_object_key("évidence/日本/a..b/.hidden/x"));
    CHECK(message_of([&] { validate_object_key("tab\there\x01"); }).find("'tab\\x09here\\x01'") != std::string::npos);
    CHECK(fs::is_empty(dir.path() / "store/objects"));
    CHECK(fs::is_empty(dir.path() / "store/versions"));
    CHECK(!fs::exists(dir.path() / "escape"));

    CHECK_NOTHROW(validate_client_id("clinic-001"));
    CHECK_NOTHROW(validate_client_id("A.b_c-9"));
    CHECK_NOTHROW(validate_client_id(std::string(64, 'x')));
    for (const std::string& id : std::vector<std::string>{"", "-lead", ".hidden", "a/b", "a b", "../x", std::string(65, 'x'), "é"}) {
        CAPTURE(id);
        CHECK(code_of([&] { validate_client_id(id); }) == ErrorCode::invalid_argument);
    }
}

TEST_CASE("symlinks planted in the store never let a key escape") {
    TempDir dir;
    LocalWormStore store(dir / "store");
    fs::create_directory(dir / "outside");
    const fs::path root = dir.path() / "store";

    fs::create_directory_symlink(dir / "outside", root / "versions/evil");
    CHECK(code_of([&] { store.put("evil/x", bytes("x"), {}); }) == ErrorCode::storage);
    CHECK(code_of([&] { store.get("evil/x"); }) == ErrorCode::storage);

    fs::create_directory_symlink(dir / "outside", root / "objects/mirror");
    CHECK(code_of([&] { store.put("mirror/x", bytes("x"), {}); }) == ErrorCode::storage);

    // A key's own version directory swapped for a link.
    store.put("k/v", bytes("x"), {});
    fs::create_directories(dir / "outside/@v");
    fs::remove_all(root / "versions/k/v");
    fs::create_directory(root / "versions/k/v");
    fs::create_directory_symlink(dir / "outside/@v", root / "versions/k/v/@v");
    CHECK(code_of([&] { store.put("k/v", bytes("y"), {}); }) == ErrorCode::storage);
    CHECK(code_of([&] { store.head("k/v"); }) == ErrorCode::storage);

    CHECK(fs::is_empty(dir / "outside/@v"));
    CHECK(std::distance(fs::directory_iterator(dir / "outside"), fs::directory_iterator{}) == 1);
    // Listing comes from the operation log and follows nothing: the key is listed, and
    // reading it reports the damage (above).
    CHECK(store.list_all().size() == 1);

    // The store's own top-level folders swapped for links.
    fs::rename(root / "versions", root / "versions.real");
    fs::create_directory_symlink(dir / "outside", root / "versions");
    CHECK(code_of([&] { store.put("fresh", bytes("x"), {}); }) == ErrorCode::storage);
    CHECK(code_of([&] { store.list_all(); }) == ErrorCode::storage);
    fs::remove(root / "versions");
    fs::rename(root / "versions.real", root / "versions");
    fs::rename(root / "tmp", root / "tmp.real");
    fs::create_directory_symlink(dir / "outside", root / "tmp");
    CHECK(code_of([&] { store.put("fresh", bytes("x"), {}); }) == ErrorCode::storage);
    CHECK(std::distance(fs::directory_iterator(dir / "outside"), fs::directory_iterator{}) == 1);
}

TEST_CASE("crash leftovers: temp files and a body without its sidecar do not break reads or lists") {
    TempDir dir;
    FixedClock clock(t0);
    LocalWormStore store(dir / "store", clock);
    const fs::path root = dir.path() / "store";
    const auto v = store.put("a/kept", bytes("kept"), {}).version_id;

    // A put that died after writing its body but before its sidecar, for an existing key
    // and for a new one; temp files of an interrupted sidecar write and of staging.
    const std::string orphan = "99999999999999999999-deadbeef";
    test::write_file(version_dir(root, "a/kept") / (orphan + ".body"), "half");
    test::write_file(version_dir(root, "a/kept") / ("." + orphan + ".json.tmp-1-2"), "{\"trunc");
    test::write_file(version_dir(root, "a/new") / (orphan + ".body"), "never committed");
    test::write_file(root / "tmp/body-1-2", "staged");
    test::write_file(root / "objects/a/.kept.tmp-3", "mirror temp");

    CHECK(store.get("a/kept") == "kept");
    CHECK(store.head("a/kept").version_id == v);
    CHECK(code_of([&] { store.head("a/new"); }) == ErrorCode::not_found);
    const auto listed = store.list_all();
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].key == "a/kept");
    CHECK(store.list_versions("a/kept").size() == 1);

    // Writes carry on past them.
    store.put("a/new", bytes("now committed"), {});
    CHECK(store.get("a/new") == "now committed");
    clock.advance(1s);
    store.put("a/kept", bytes("kept 2"), {});
    CHECK(store.get("a/kept") == "kept 2");

    // A crash between the sidecar and the mirror: reads do not depend on the mirror.
    fs::remove(root / "objects/a/kept");
    CHECK(store.get("a/kept") == "kept 2");
    store.put("a/kept", bytes("kept 3"), {});
    CHECK(test::read_file(root / "objects/a/kept") == "kept 3");
}

TEST_CASE("several processes put to one store at once") {
    TempDir dir;
    const fs::path root = dir.path() / "store";
    { LocalWormStore init(root); }
    constexpr int processes = 4, per_process = 20;
    // Children block on this pipe until the parent closes it, so they start together.
    int start[2];
    REQUIRE(::pipe(start) == 0);
    std::vector<pid_t> children;
    for (int p = 0; p < processes; ++p) {
        const pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(start[1]);
            char c;
            (void)!::read(start[0], &c, 1);
            int rc = 0;
            try {
                LocalWormStore store(root, system_clock(), {.durable = false});
                PutOptions once;
                once.if_none_match = true;
                try {
                    store.put("once/key", bytes(std::to_string(p)), once);
                } catch (const Error& e) {
                    rc = e.code() == ErrorCode::already_exists ? 2 : 1;
                }
                for (int i = 0; i < per_process; ++i) {
                    store.put("proc/" + std::to_string(p) + "/" + std::to_string(i), bytes(std::to_string(p * 1000 + i)), {});
                    store.put("shared/key", bytes(std::to_string(p) + "/" + std::to_string(i)), {});
                }
            } catch (...) {
                rc = 1;
            }
            _exit(rc);
        }
        children.push_back(pid);
    }
    ::close(start[0]);
    ::close(start[1]);
    int winners = 0;
    for (const pid_t pid : children) {
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) != 1);
        winners += WEXITSTATUS(status) == 0;
    }
    CHECK(winners == 1);  // if_none_match: exactly one process created the key

    LocalWormStore store(root);
    CHECK(store.list_versions("once/key").size() == 1);
    CHECK(store.list_all("proc/").size() == processes * per_process);
    for (int p = 0; p < processes; ++p)
        for (int i = 0; i < per_process; ++i)
            CHECK(store.get("proc/" + std::to_string(p) + "/" + std::to_string(i)) == std::to_string(p * 1000 + i));
    const auto versions = store.list_versions("shared/key");
    CHECK(versions.size() == processes * per_process);
    std::set<std::string> ids;
    for (const auto& v : versions) ids.insert(v.version_id);
    CHECK(ids.size() == versions.size());
    // The mirror shows the latest version, whichever process wrote it last.
    CHECK(test::read_file(root / "objects/shared/key") == store.get("shared/key"));
    CHECK(fs::is_empty(root / "tmp"));
    // The operation log took every process's records in one unbroken chain.
    const LocalStoreVerification v = store.verify();
    CHECK(v.ok());
    CHECK(v.records == 1 + 2 * processes * per_process);
}

TEST_CASE("open_store opens file: URLs and refuses other schemes for now") {
    TempDir dir;
    const std::string abs = fs::canonical(dir.path()).string() + "/url store";
    auto store = open_store("file://" + abs.substr(0, abs.size() - 6) + "%20store");
    store->put("k", bytes("v"), {});
    CHECK(test::read_file(abs + "/objects/k") == "v");
    CHECK(open_store("file://localhost" + abs)->get("k") == "v");
    CHECK(open_store("file:" + abs)->get("k") == "v");

    CHECK(message_of([&] { open_store("ftp://host/x"); }).find("unsupported store URL scheme") != std::string::npos);
    CHECK(code_of([&] { open_store("gs://bucket"); }) == ErrorCode::invalid_argument);
    CHECK(code_of([&] { open_store("/no/scheme"); }) == ErrorCode::invalid_argument);
    CHECK(code_of([&] { open_store("file://otherhost/x"); }) == ErrorCode::invalid_argument);
    CHECK(code_of([&] { open_store("file:///"); }) == ErrorCode::invalid_argument);
    CHECK(code_of([&] { open_store("file:///x%zz"); }) == ErrorCode::invalid_argument);
}

namespace {

// Rewrites a read-only sidecar file as someone with write access to the disk would.
void tamper(const fs::path& file, const std::function<void(std::string&)>& edit) {
    std::string text = test::read_file(file);
    edit(text);
    fs::permissions(file, fs::perms::owner_write, fs::perm_options::add);
    test::write_file(file, text);
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
    const std::size_t at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, from);
    text.replace(at, from.size(), to);
}

std::set<std::string> kinds_of(const LocalStoreVerification& v) {
    std::set<std::string> out;
    for (const auto& p : v.problems) out.insert(p.kind + " " + p.key);
    return out;
}

}  // namespace

// Issue 15 defect 6: the store trusted its sidecars; editing one let a locked version be
// deleted, deleting one hid the object from listings.
TEST_CASE("tampered sidecars are refused, not obeyed: the operation log decides") {
    TempDir dir;
    FixedClock clock(t0);
    const fs::path root = dir.path() / "store";
    LocalWormStore store(root, clock);

    SUBCASE("a COMPLIANCE retention removed from the sidecar does not unlock the version") {
        const std::string key = "evidence/c/EB-locked.json";
        const auto v = store.put(key, bytes("evidence"), locked(LockMode::compliance, t0 + 24h * 365)).version_id;
        tamper(version_dir(root, key) / (v + ".json"), [](std::string& t) {
            const std::size_t from = t.find("\"retention\":{");
            const std::size_t to = t.find('}', from);
            t.replace(from, to + 1 - from, "\"retention\":null");
        });
        const std::string why = message_of([&] { store.remove(key, del(v)); });
        CHECK(code_of([&] { store.remove(key, del(v)); }) == ErrorCode::integrity);
        CHECK(why.find(key) != std::string::npos);
        CHECK(why.find(v) != std::string::npos);
        CHECK(why.find("edited") != std::string::npos);
        CHECK(code_of([&] { store.remove(key, del(std::nullopt)); }) == ErrorCode::integrity);
        CHECK(code_of([&] { store.head(key); }) == ErrorCode::integrity);
        CHECK(code_of([&] { store.get(key); }) == ErrorCode::integrity);
        CHECK(fs::exists(version_dir(root, key) / (v + ".body")));
        // A second process (another store object) refuses it just the same.
        LocalWormStore other(root, clock);
        CHECK(code_of([&] { other.remove(key, del(v)); }) == ErrorCode::integrity);
        CHECK(kinds_of(other.verify()) == std::set<std::string>{"edited " + key});
    }
    SUBCASE("a legal hold switched off in the sidecar does not allow a delete") {
        const std::string key = "evidence/c/EB-held.json";
        PutOptions hold;
        hold.lock.legal_hold = true;
        const auto v = store.put(key, bytes("held"), hold).version_id;
        tamper(version_dir(root, key) / (v + ".json"),
               [](std::string& t) { replace_once(t, "\"legal_hold\":true", "\"legal_hold\":false"); });
        CHECK(code_of([&] { store.remove(key, del(v)); }) == ErrorCode::integrity);
        CHECK(code_of([&] { store.put_legal_hold(key, false); }) == ErrorCode::integrity);
        const auto report = store.verify();
        REQUIRE(report.problems.size() == 1);
        CHECK(report.problems[0].kind == "edited");
        CHECK(report.problems[0].version_id == v);
        CHECK(report.problems[0].detail.find("legal_hold") != std::string::npos);
    }
    SUBCASE("a body swapped together with its sidecar's sha256 is not served") {
        const std::string key = "evidence/c/EB-amount.json";
        const auto v = store.put(key, bytes("{\"amount\":100}"), {}).version_id;
        const fs::path body = version_dir(root, key) / (v + ".body");
        fs::permissions(body, fs::perms::owner_write, fs::perm_options::add);
        test::write_file(body, "{\"amount\":900}");
        tamper(version_dir(root, key) / (v + ".json"),
               [&](std::string& t) { replace_once(t, sha256_hex("{\"amount\":100}"), sha256_hex("{\"amount\":900}")); });
        CHECK(code_of([&] { store.get(key); }) == ErrorCode::integrity);
        const auto kinds = kinds_of(store.verify());
        CHECK(kinds.count("edited " + key) == 1);
    }
    SUBCASE("a deleted sidecar does not hide the object; a planted one is ignored") {
        const auto kept = store.put("a/kept", bytes("kept"), {}).version_id;
        const auto gone = store.put("a/gone", bytes("gone"), {}).version_id;
        fs::remove(version_dir(root, "a/gone") / (gone + ".json"));
        const auto listed = store.list_all("a/");
        REQUIRE(listed.size() == 2);
        CHECK(listed[0].key == "a/gone");
        CHECK(code_of([&] { store.head("a/gone"); }) == ErrorCode::integrity);
        CHECK(message_of([&] { store.get("a/gone"); }).find("missing") != std::string::npos);
        // A version copied in by hand (sidecar and body of another key, renamed to fit).
        const std::string planted = "99999999999999999999-0badf00d";
        std::string forged = test::read_file(version_dir(root, "a/kept") / (kept + ".json"));
        replace_once(forged, kept, planted);
        test::write_file(version_dir(root, "a/kept") / (planted + ".json"), forged);
        test::write_file(version_dir(root, "a/kept") / (planted + ".body"), "kept");
        CHECK(store.head("a/kept").version_id == kept);
        CHECK(store.list_versions("a/kept").size() == 1);
        const auto report = store.verify();
        CHECK(kinds_of(report) == std::set<std::string>{"missing a/gone", "orphaned a/kept"});
        CHECK(report.versions == 2);
    }
    SUBCASE("an edited or shortened log is refused") {
        store.put("x", bytes("x"), {});
        store.put("y", bytes("y"), {});
        const fs::path log = root / "oplog.jsonl";
        std::string text = test::read_file(log);
        SUBCASE("a record edited") {
            replace_once(text, "\"key\":\"x\"", "\"key\":\"z\"");
            test::write_file(log, text);
            CHECK(code_of([&] { LocalWormStore(root, clock).head("y"); }) == ErrorCode::integrity);
            const auto report = LocalWormStore(root, clock, {.durable = true, .start_log = false}).verify();
            REQUIRE_FALSE(report.problems.empty());
            CHECK(report.problems[0].kind == "log");
        }
        SUBCASE("the last record removed, while a store object has read it") {
            CHECK(store.head("y").size == 1);
            test::write_file(log, text.substr(0, text.find('\n') + 1));
            CHECK(code_of([&] { store.head("x"); }) == ErrorCode::integrity);
        }
        SUBCASE("a record cut short by a crash is not a record, and the next append replaces it") {
            test::write_file(log, text + "{\"seq\":3,\"prev\":\"");
            LocalWormStore again(root, clock);
            CHECK(again.get("y") == "y");
            again.put("w", bytes("w"), {});
            CHECK(again.verify().ok());
            CHECK(again.verify().records == 3);
        }
    }
}

TEST_CASE("a store written before the operation log gets one on first open") {
    TempDir dir;
    FixedClock clock(t0);
    const fs::path root = dir.path() / "store";
    std::string v1;
    {
        LocalWormStore old(root, clock);
        v1 = old.put("old/a", bytes("a"), locked(LockMode::compliance, t0 + 24h)).version_id;
        clock.advance(1s);
        CHECK(code_of([&] { old.put("old/a", bytes("a2"), {}); }) == ErrorCode::object_locked);
    }
    fs::remove(root / "oplog.jsonl");  // as a store from before the log looks
    // Verification does not start a log; it reports that there is none.
    const auto before = LocalWormStore(root, clock, {.durable = true, .start_log = false}).verify();
    REQUIRE(before.problems.size() >= 1);
    CHECK(before.problems[0].kind == "log");
    CHECK(before.problems[0].detail.find("no operation log") != std::string::npos);

    LocalWormStore store(root, clock);
    CHECK(fs::exists(root / "oplog.jsonl"));
    CHECK(store.get("old/a") == "a");
    CHECK(code_of([&] { store.remove("old/a", del(v1)); }) == ErrorCode::object_locked);
    const auto report = store.verify();
    CHECK(report.ok());
    CHECK(report.records == 1);
    CHECK(test::read_file(root / "oplog.jsonl").find("\"op\":\"adopt\"") != std::string::npos);
}
