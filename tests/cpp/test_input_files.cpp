// Files named on the command line are read with bounds (regular files only, size limits that
// name the file and the limit), and `worm bundle` fails cleanly on a full or failing disk:
// exit 3 (storage), never a .json left without its .sig. Every command runs under
// `timeout`, so a read that would block or never end fails the test instead of hanging it.
#include <sys/stat.h>

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/json_output.hpp"
#include "support/test_env.hpp"

namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

t::CommandResult worm_cli(std::vector<std::string> args, const std::string& shell_prefix = "") {
    if (shell_prefix.empty()) {
        args.insert(args.begin(), {"timeout", "60", t::cli_path()});
        return t::run_command(args);
    }
    // The prefix (ulimit, trap) applies to the shell, and exec hands its limits to worm.
    std::vector<std::string> argv{"timeout", "60", "sh", "-c", shell_prefix + " && exec \"$0\" \"$@\"", t::cli_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return t::run_command(argv);
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

struct Keys {
    fs::path priv, pub;
};

Keys keygen(const fs::path& dir) {
    const t::CommandResult r = worm_cli({"keygen", "--out", dir.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto d = t::parse_json(r.out);
    return {t::str(d, "private_key"), t::str(d, "public_key")};
}

fs::path example(const std::string& section) {
    return t::source_dir() / "examples" / "data" / "backup-success" / (section + ".json");
}

std::vector<std::string> bundle_args(const Keys& keys, const fs::path& evidence, const fs::path& incident) {
    return {"bundle", "--client-id", "clinic-001", "--evidence-dir", evidence.string(), "--key", keys.priv.string(),
            "--incident", incident.string(), "--runbook", example("runbook").string(), "--execution",
            example("execution").string(), "--actions", example("actions").string(), "--artifacts",
            example("artifacts").string()};
}

// The hostile inputs: a device that never ends, a FIFO nobody writes, a 4 GiB sparse file, a directory.
struct HostilePaths {
    explicit HostilePaths(const fs::path& dir) {
        fifo = dir / "fifo";
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        sparse = dir / "sparse.pem";
        t::write_file(sparse, "");
        fs::resize_file(sparse, 4ull * 1024 * 1024 * 1024);
        directory = dir / "a-directory";
        fs::create_directories(directory);
    }
    std::vector<fs::path> all() const { return {"/dev/zero", fifo, sparse, directory}; }
    fs::path fifo, sparse, directory;
};

// Every .json in the evidence directory has its .sig.
void check_no_unsigned_bundle(const fs::path& evidence) {
    for (const auto& e : fs::directory_iterator(evidence)) {
        if (e.path().extension() != ".json") continue;
        CAPTURE(e.path());
        CHECK(fs::exists(fs::path(e.path()).replace_extension(".sig")));
    }
}

}  // namespace

TEST_CASE("--key, --incident and the bundle path refuse a device, a FIFO, a huge sparse file and a directory") {
    t::TempDir tmp("worm-input-files");
    const Keys keys = keygen(tmp / "keys");
    const fs::path evidence = tmp / "evidence";
    const t::CommandResult made = worm_cli(bundle_args(keys, evidence, example("incident")));
    REQUIRE_MESSAGE(made.exit_code == 0, made.err);
    const std::string bundle_path = t::str(t::parse_json(made.out), "bundle_path");
    const HostilePaths hostile(tmp.path());

    for (const fs::path& bad : hostile.all()) {
        CAPTURE(bad);
        const t::CommandResult key = worm_cli({"verify", "--key", bad.string(), bundle_path});
        CHECK(key.exit_code == 2);
        CHECK(contains(key.err, bad.string()));

        const t::CommandResult incident = worm_cli(bundle_args(keys, evidence, bad));
        CHECK(incident.exit_code == 2);
        CHECK(contains(incident.err, bad.string()));

        const t::CommandResult bundle = worm_cli({"verify", "--key", keys.pub.string(), bad.string()});
        CHECK(bundle.exit_code == 2);
        CHECK(contains(bundle.err, bad.string()));
    }
    // The size limit is named: 64 KiB for a key, 256 MiB for documents.
    CHECK(contains(worm_cli({"verify", "--key", hostile.sparse.string(), bundle_path}).err, "65536"));
    CHECK(contains(worm_cli(bundle_args(keys, evidence, hostile.sparse)).err, "268435456"));
    CHECK(contains(worm_cli({"verify", "--key", hostile.fifo.string(), bundle_path}).err, "FIFO"));
    // A private key that is a FIFO is refused too, not waited on.
    Keys fifo_key{hostile.fifo, keys.pub};
    const t::CommandResult sign = worm_cli(bundle_args(fifo_key, evidence, example("incident")));
    CHECK(sign.exit_code == 2);
    CHECK(contains(sign.err, hostile.fifo.string()));
    // Nothing of the refused runs was written; the good bundle still verifies.
    check_no_unsigned_bundle(evidence);
    CHECK(worm_cli({"verify", "--key", keys.pub.string(), bundle_path}).exit_code == 0);
}

TEST_CASE("ENOSPC on the .sig: exit 3 (storage), no .json left without its .sig, and the next run completes") {
    t::TempDir tmp("worm-half-bundle");
    const Keys keys = keygen(tmp / "keys");
    const fs::path evidence = tmp / "evidence";
    const std::string shim = t::env_or("WORM_TEST_ENOSPC_SHIM", "");
    REQUIRE_MESSAGE(fs::exists(shim), "WORM_TEST_ENOSPC_SHIM names the LD_PRELOAD fault shim (set by ctest)");
    // The .json is written and named; naming its .sig fails as on a full disk.
    const t::CommandResult failed = worm_cli(bundle_args(keys, evidence, example("incident")),
                                             "export LD_PRELOAD='" + shim + "' WORM_FAULT_ENOSPC_SUFFIX=.sig");
    CAPTURE(failed.err);
    CHECK(failed.exit_code == 3);
    CHECK(contains(failed.err, "No space left on device"));
    CHECK(contains(failed.err, ".sig"));
    check_no_unsigned_bundle(evidence);
    for (const auto& e : fs::directory_iterator(evidence)) CHECK(e.path().extension() != ".json");

    const t::CommandResult again = worm_cli(bundle_args(keys, evidence, example("incident")));
    REQUIRE_MESSAGE(again.exit_code == 0, again.err);
    CHECK(worm_cli({"verify", "--key", keys.pub.string(), t::str(t::parse_json(again.out), "bundle_path")}).exit_code ==
          0);
    check_no_unsigned_bundle(evidence);
}

TEST_CASE("a full disk while bundling is a storage error: exit 3, and no half-written bundle") {
    t::TempDir tmp("worm-full-disk");
    const Keys keys = keygen(tmp / "keys");
    const fs::path evidence = tmp / "evidence";
    fs::create_directories(evidence);
    // RLIMIT_FSIZE with SIGXFSZ ignored: writes past 1 KiB fail with EFBIG, as a full disk fails with ENOSPC.
    const t::CommandResult full = worm_cli(bundle_args(keys, evidence, example("incident")), "ulimit -f 1 && trap '' XFSZ");
    CAPTURE(full.err);
    CHECK(full.exit_code == 3);
    CHECK(contains(full.err, "File too large"));
    check_no_unsigned_bundle(evidence);
    // With room again the next run writes a complete, verifiable bundle.
    const t::CommandResult again = worm_cli(bundle_args(keys, evidence, example("incident")));
    REQUIRE_MESSAGE(again.exit_code == 0, again.err);
    CHECK(worm_cli({"verify", "--key", keys.pub.string(), t::str(t::parse_json(again.out), "bundle_path")}).exit_code ==
          0);
}
