// The evidence directory is reconciled with the upload registry: signed bundles the registry
// does not know are reported by `worm status` (never "healthy") and uploaded by `worm sync`,
// and a registry truncated to 0 bytes is refused (naming the file and `worm registry
// rebuild`), never read as an empty one that would silently drop the backlog.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/json_output.hpp"
#include "support/test_env.hpp"

namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

t::CommandResult worm_cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"timeout", "120", t::cli_path()});
    return t::run_command(args);
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

fs::path example(const std::string& section) {
    return t::source_dir() / "examples" / "data" / "backup-success" / (section + ".json");
}

std::size_t count_files(const fs::path& dir, const std::string& extension) {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file() && e.path().extension() == extension && !e.path().filename().string().starts_with("."))
            ++n;
    return n;
}

}  // namespace

TEST_CASE("60 signed bundles: status reports them, a truncated registry is refused, rebuild + sync upload them") {
    t::TempDir tmp("worm-reconcile");
    const fs::path evidence = tmp / "evidence", keys = tmp / "keys";
    const std::string store = "file://" + (tmp / "store").string();
    fs::create_directories(tmp / "store");
    REQUIRE(worm_cli({"keygen", "--out", keys.string()}).exit_code == 0);
    const std::vector<std::string> bundle_args{
        "bundle", "--client-id", "clinic-001", "--evidence-dir", evidence.string(), "--key",
        (keys / "private.pem").string(), "--incident", example("incident").string(), "--runbook",
        example("runbook").string(), "--execution", example("execution").string(), "--actions",
        example("actions").string(), "--artifacts", example("artifacts").string()};
    constexpr std::size_t bundles = 60;
    for (std::size_t i = 0; i < bundles; ++i) {
        const t::CommandResult r = worm_cli(bundle_args);
        REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    }

    // Signed, on disk, unknown to the registry: status must not call that healthy.
    const t::CommandResult before = worm_cli({"status", "--evidence-dir", evidence.string(), "--json"});
    CAPTURE(before.out);
    CHECK(before.exit_code == 3);
    const auto doc = t::parse_json(before.out);
    REQUIRE(doc.HasMember("unregistered_bundles"));
    CHECK(doc["unregistered_bundles"].GetUint64() == bundles);
    CHECK_FALSE(doc["healthy"].GetBool());

    // The registry file exists now (status opened it): truncate it to 0 bytes.
    const fs::path registry = evidence / ".worm-registry.sqlite3";
    REQUIRE(fs::exists(registry));
    fs::resize_file(registry, 0);
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"status", "--evidence-dir", evidence.string()},
             {"sync", "--evidence-dir", evidence.string(), "--store", store, "--quiet"}}) {
        const t::CommandResult r = worm_cli(args);
        CAPTURE(args[0]);
        CHECK(r.exit_code == 3);
        CHECK(contains(r.err, registry.string()));
        CHECK(contains(r.err, "worm registry rebuild"));
    }
    CHECK(count_files(tmp / "store", ".sig") == 0);  // nothing was uploaded from an "empty" registry

    const t::CommandResult rebuilt = worm_cli({"registry", "rebuild", "--evidence-dir", evidence.string()});
    REQUIRE_MESSAGE(rebuilt.exit_code == 0, rebuilt.err);
    const auto rebuild = t::parse_json(rebuilt.out);
    REQUIRE(rebuild.HasMember("queued"));
    CHECK(rebuild["queued"].GetUint64() == bundles);
    REQUIRE(rebuild["set_aside"].IsString());
    CHECK(fs::exists(rebuild["set_aside"].GetString()));

    const t::CommandResult sync = worm_cli({"sync", "--evidence-dir", evidence.string(), "--store", store, "--quiet"});
    CAPTURE(sync.err);
    CHECK(sync.exit_code == 0);
    CHECK(contains(sync.out, "uploaded " + std::to_string(bundles)));
    CHECK(count_files(tmp / "store", ".sig") == bundles);
    CHECK(worm_cli({"status", "--evidence-dir", evidence.string()}).exit_code == 0);

    // A healthy registry still learns of a signed bundle it missed: status reports it, sync uploads it.
    REQUIRE(worm_cli(bundle_args).exit_code == 0);
    const t::CommandResult missed = worm_cli({"status", "--evidence-dir", evidence.string()});
    CHECK(missed.exit_code == 3);
    CHECK(contains(missed.out, "1 signed bundles are not in the registry"));
    const t::CommandResult again = worm_cli({"sync", "--evidence-dir", evidence.string(), "--store", store, "--quiet"});
    CHECK(again.exit_code == 0);
    CHECK(count_files(tmp / "store", ".sig") == bundles + 1);
}
