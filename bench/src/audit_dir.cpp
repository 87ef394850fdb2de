// Scenario: the evidence audit over a directory (issue 14, target 4). `audit-make` writes
// the directory both sides verify: N seed-shaped bundles (pretty JSON, canonical hash,
// unique ids EB-YYYYMMDD-NNNNNN) with their .sig lines, and keys/public.pem. The harness
// then times `worm audit --dir` beside anchors_extra/audit_dir.py over the same files.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "common.hpp"

#if defined(WORM_BENCH_HAVE_JSON) && defined(WORM_BENCH_HAVE_BUNDLE) && defined(WORM_BENCH_HAVE_SIGNER)
#include "bundle_shape.hpp"
#include "worm/bundle_json.hpp"
#include "worm/json.hpp"
#include "worm/signer.hpp"
#define WORM_BENCH_HAVE_AUDIT_DIR 1
#endif

namespace bench {
namespace {

int run_audit_make(const Args& args) {
#ifdef WORM_BENCH_HAVE_AUDIT_DIR
    const long long n = args.get_int("n", 100000);
    const std::filesystem::path dir = args.scratch_dir();
    const auto keys = worm::generate_key_files(dir / "keys");
    const auto key = worm::load_private_key(keys.private_key);
    const std::filesystem::path evidence = dir / "evidence";
    std::filesystem::create_directories(evidence);
    // Plain writes: making the data set is not timed, and atomic creations cost more here.
    const auto write = [](const std::filesystem::path& path, const std::string& data) {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(data.data(), static_cast<std::streamsize>(data.size()));
        if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
    };
    for (long long i = 0; i < n; ++i) {
        rapidjson::Document doc;
        BundleShape::make(doc, i);
        auto& id = doc["bundle_id"];
        std::string unique(id.GetString(), 12);  // "EB-YYYYMMDD-"
        char number[24];
        std::snprintf(number, sizeof number, "%06lld", i);
        unique += number;
        id.SetString(unique.c_str(), static_cast<rapidjson::SizeType>(unique.size()), doc.GetAllocator());
        const std::string hash = worm::compute_bundle_hash(doc);
        doc.AddMember("evidence_bundle_hash", rapidjson::Value(hash.c_str(), doc.GetAllocator()), doc.GetAllocator());
        const std::string json = worm::json::to_pretty(doc);
        write(evidence / (unique + ".json"), json);
        write(evidence / (unique + ".sig"), worm::make_signature_line(key, json));
    }
    std::printf("public_key: %s\nevidence: %s\n", keys.public_key.c_str(), evidence.c_str());
    print_figure("audit_bundles_written", static_cast<double>(n), "bundles");
    return 0;
#else
    (void)args;
    unavailable("worm/json.hpp, worm/bundle.hpp or worm/signer.hpp is not in this tree yet");
#endif
}

const Register reg("audit-make", "--dir D [--n N]: N signed bundles in D/evidence, the key in D/keys", run_audit_make);

}  // namespace
}  // namespace bench
