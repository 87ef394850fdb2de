// Files named on the command line are read with bounds (regular files only, size limits that
// name the file and the limit), and `worm bundle` fails cleanly on a full or failing disk:
// exit 3 (storage), never a .json left without its .sig. Every command runs under
// `timeout`, so a read that would block or never end fails the test instead of hanging it.
#include <sys/stat.h>

#include <doctest/doctest.h>

#include <algorithm>
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

// The shell prefix that runs worm under the LD_PRELOAD fault shim (support/enospc_shim.cpp)
// with `variable` (WORM_FAULT_ENOSPC_SUFFIX or ..._WRITE_SUFFIX) set to `suffix`.
std::string under_enospc_shim(const std::string& variable, const std::string& suffix) {
    const std::string shim = t::env_or("WORM_TEST_ENOSPC_SHIM", "");
    REQUIRE_MESSAGE(fs::exists(shim), "WORM_TEST_ENOSPC_SHIM names the LD_PRELOAD fault shim (set by ctest)");
    return "export LD_PRELOAD='" + shim + "' " + variable + "=" + suffix;
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
    // The .json is written and named; naming its .sig fails as on a full disk.
    const t::CommandResult failed = worm_cli(bundle_args(keys, evidence, example("incident")),
                                             under_enospc_shim("WORM_FAULT_ENOSPC_SUFFIX", ".sig"));
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

namespace {

// worm with `stdin_data` arriving through a pipe (cat | worm ...), as `producer | worm` runs it.
t::CommandResult worm_piped(std::vector<std::string> args, const std::string& stdin_data,
                            const std::string& producer = "cat") {
    std::vector<std::string> argv{"timeout", "60", "sh", "-c", producer + " | exec \"$0\" \"$@\"", t::cli_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return t::run_command(argv, {}, stdin_data);
}

std::vector<std::string> with_actions(std::vector<std::string> args, const std::string& actions) {
    const auto at = std::find(args.begin(), args.end(), "--actions");
    *(at + 1) = actions;
    return args;
}

}  // namespace

TEST_CASE("--actions /dev/stdin and '-' read a pipe to the same limit; devices and a second '-' are refused at once") {
    t::TempDir tmp("worm-stdin");
    const Keys keys = keygen(tmp / "keys");
    const fs::path evidence = tmp / "evidence";
    const std::string actions = t::read_file(example("actions"));
    const t::CommandResult by_file = worm_cli(bundle_args(keys, evidence, example("incident")));
    REQUIRE_MESSAGE(by_file.exit_code == 0, by_file.err);
    const auto from_file = t::parse_json(t::read_file(t::str(t::parse_json(by_file.out), "bundle_path")));
    for (const std::string name : {"/dev/stdin", "-"}) {
        CAPTURE(name);
        const t::CommandResult piped =
            worm_piped(with_actions(bundle_args(keys, evidence, example("incident")), name), actions);
        CHECK_MESSAGE(piped.exit_code == 0, piped.err);
        if (piped.exit_code != 0) continue;
        const std::string bundle = t::str(t::parse_json(piped.out), "bundle_path");
        CHECK(worm_cli({"verify", "--key", keys.pub.string(), bundle}).exit_code == 0);
        // The same actions as read from the file.
        const auto from_pipe = t::parse_json(t::read_file(bundle));
        REQUIRE(from_pipe.HasMember("actions_taken"));
        CHECK(from_pipe["actions_taken"] == from_file["actions_taken"]);
    }
    // A public key through a pipe, and the 64 KiB key limit holds for pipes: named, exit 2.
    const std::string bundle = t::str(t::parse_json(by_file.out), "bundle_path");
    const t::CommandResult key_piped = worm_piped({"verify", "--key", "-", bundle}, t::read_file(keys.pub));
    CHECK_MESSAGE(key_piped.exit_code == 0, key_piped.err);
    const t::CommandResult endless = worm_piped({"verify", "--key", "-", bundle}, "", "yes");
    CHECK(endless.exit_code == 2);
    CHECK_MESSAGE(contains(endless.err, "65536"), endless.err);
    // /dev/zero (as a file, or as stdin) is a device: refused without reading it.
    const t::CommandResult zero = worm_cli(with_actions(bundle_args(keys, evidence, example("incident")), "/dev/zero"));
    CHECK(zero.exit_code == 2);
    CHECK(contains(zero.err, "character device"));
    std::vector<std::string> from_zero{"timeout", "60", "sh", "-c", "exec \"$0\" \"$@\" < /dev/zero", t::cli_path()};
    for (const std::string& arg : with_actions(bundle_args(keys, evidence, example("incident")), "-"))
        from_zero.push_back(arg);
    const t::CommandResult zero_stdin = t::run_command(from_zero);
    CHECK(zero_stdin.exit_code == 2);
    CHECK_MESSAGE(contains(zero_stdin.err, "character device"), zero_stdin.err);
    // Standard input can be read once.
    std::vector<std::string> twice = with_actions(bundle_args(keys, evidence, example("incident")), "-");
    *(std::find(twice.begin(), twice.end(), "--runbook") + 1) = "-";
    const t::CommandResult two = worm_piped(twice, actions);
    CHECK(two.exit_code == 2);
    CHECK_MESSAGE(contains(two.err, "standard input"), two.err);
    check_no_unsigned_bundle(evidence);
}

TEST_CASE("ENOSPC writing the id counter leaves no .bundle-id-counter.tmp; a full registry says 'not registered'") {
    t::TempDir tmp("worm-enospc-counter");
    const Keys keys = keygen(tmp / "keys");
    const fs::path evidence = tmp / "evidence";
    // The counter's temporary file is created, but its bytes do not fit (a disk out of blocks).
    const t::CommandResult failed =
        worm_cli(bundle_args(keys, evidence, example("incident")),
                 under_enospc_shim("WORM_FAULT_ENOSPC_WRITE_SUFFIX", ".bundle-id-counter.tmp"));
    CAPTURE(failed.err);
    CHECK(failed.exit_code == 3);
    CHECK(contains(failed.err, "No space left on device"));
    CHECK_FALSE(fs::exists(evidence / ".bundle-id-counter.tmp"));
    check_no_unsigned_bundle(evidence);

    // A registry that cannot grow: the bundle is signed and kept, and said to be not registered
    // (not "pending": nothing would upload it); the next sync registers and uploads it.
    const fs::path store = tmp / "store";
    std::vector<std::string> args = bundle_args(keys, evidence, example("incident"));
    args.insert(args.end(), {"--store", "file://" + store.string()});
    const t::CommandResult first = worm_cli(args);  // creates the registry
    REQUIRE_MESSAGE(first.exit_code == 0, first.err);
    CHECK(t::str(t::parse_json(first.out), "upload_status") == "uploaded");
    const t::CommandResult full =
        worm_cli(args, under_enospc_shim("WORM_FAULT_ENOSPC_WRITE_SUFFIX", ".worm-registry.sqlite3-wal"));
    CAPTURE(full.err);
    REQUIRE(full.exit_code == 0);
    const auto out = t::parse_json(full.out);
    CHECK(t::str(out, "upload_status") == "not_registered");
    CHECK(contains(t::str(out, "upload_error"), "not registered"));
    CHECK(contains(full.err, "not registered"));
    CHECK_FALSE(contains(full.err, "pending"));
    CHECK(worm_cli({"verify", "--key", keys.pub.string(), t::str(out, "bundle_path")}).exit_code == 0);
    const t::CommandResult sync = worm_cli({"sync", "--evidence-dir", evidence.string(), "--store", "file://" + store.string()});
    CHECK_MESSAGE(sync.exit_code == 0, sync.err);
    CHECK(contains(sync.out, "registered 1"));
}
