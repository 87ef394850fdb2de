// Scenarios 2 and 3: the evidence pipeline on one core (build -> canonical hash -> write
// .json -> Ed25519 sign -> write .sig), and verification (signature + hash [+ schema]).
//
// Same work as anchors/pipeline.py and anchors/verify.py: the seed-shaped bundle, its hash
// over the canonical form (RFC 8785 here, sorted compact JSON there), pretty-printed
// bytes on disk, the signature over exactly those bytes.
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"

#if defined(WORM_BENCH_HAVE_JSON) && defined(WORM_BENCH_HAVE_BUNDLE) && defined(WORM_BENCH_HAVE_SIGNER)
#include "bundle_shape.hpp"
#include "worm/bundle.hpp"
#include "worm/ed25519.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/signer.hpp"
#define WORM_BENCH_HAVE_PIPELINE 1
#endif

namespace bench {
namespace {

#ifdef WORM_BENCH_HAVE_PIPELINE
// One bundle through the pipeline; returns the bytes written as the .json.
std::string build_and_hash(long long i) {
    rapidjson::Document doc;
    BundleShape::make(doc, i);
    const std::string hash = worm::compute_bundle_hash(doc);
    doc.AddMember("evidence_bundle_hash", rapidjson::Value(hash.c_str(), doc.GetAllocator()), doc.GetAllocator());
    return worm::json::to_pretty(doc);
}
#endif

int run_pipeline(const Args& args) {
#ifdef WORM_BENCH_HAVE_PIPELINE
    const long long n = args.get_int("n", 3000);
    const bool fsync = args.flag("fsync");
    const std::filesystem::path dir = args.require("dir");
    std::filesystem::create_directories(dir);
    const auto key = worm::Ed25519PrivateKey::generate();
    // Atomic writes always (temp + rename: a reader never sees half a bundle); with fsync
    // the file and the directory are made durable, as the library does by default.
    const worm::WriteOptions write{.durable = fsync};
    Timer timer;
    for (long long i = 0; i < n; ++i) {
        const std::string json = build_and_hash(i);
        char name[32];
        std::snprintf(name, sizeof name, "%07lld", i);
        worm::write_file_atomic(dir / (std::string(name) + ".json"), json, write);
        worm::write_file_atomic(dir / (std::string(name) + ".sig"), worm::make_signature_line(key, json), write);
    }
    const double dt = timer.seconds();
    print_figure(fsync ? "libworm_pipeline_fsync" : "libworm_pipeline", static_cast<double>(n) / dt, "bundles/s");
    return 0;
#else
    (void)args;
    unavailable("worm/json.hpp, worm/bundle.hpp or worm/signer.hpp is not in this tree yet");
#endif
}

int run_verify(const Args& args) {
#ifdef WORM_BENCH_HAVE_PIPELINE
    const long long n = args.get_int("n", 3000);
    const bool schema = args.flag("schema");
    const auto key = worm::Ed25519PrivateKey::generate();
    const auto pub = key.public_key();
    std::vector<std::pair<std::string, std::string>> items;  // (.json bytes, .sig text)
    items.reserve(static_cast<std::size_t>(n));
    for (long long i = 0; i < n; ++i) {
        std::string json = build_and_hash(i);
        std::string sig = worm::make_signature_line(key, json);
        items.emplace_back(std::move(json), std::move(sig));
    }
    Timer timer;
    for (const auto& [json, sig] : items) {
        const auto check = worm::check_signature_line(pub, json, sig);
        if (!check.valid) throw std::runtime_error("signature did not verify: " + check.reason);
        const rapidjson::Document doc = worm::json::parse_strict(json, "bundle");
        const auto& stored = doc["evidence_bundle_hash"];
        if (worm::compute_bundle_hash(doc) != std::string_view(stored.GetString(), stored.GetStringLength()))
            throw std::runtime_error("hash mismatch");
        if (schema) worm::validate_bundle_schema(doc);
    }
    const double dt = timer.seconds();
    print_figure(schema ? "libworm_verify_schema" : "libworm_verify", static_cast<double>(n) / dt, "bundles/s");
    return 0;
#else
    (void)args;
    unavailable("worm/json.hpp, worm/bundle.hpp or worm/signer.hpp is not in this tree yet");
#endif
}

const Register reg_pipeline("pipeline", "--dir D [--n N] [--fsync]", run_pipeline);
const Register reg_verify("verify", "[--n N] [--schema]", run_verify);

}  // namespace
}  // namespace bench
