// evidence_fixture.hpp: signed evidence for the compliance tests: a key pair and bundles
// made by the real pipeline from examples/data, plus the ways evidence goes wrong
// (an edited byte, a lost signature) and a store to put it in with a chosen lock.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_env.hpp"
#include "worm/bundle.hpp"
#include "worm/crypto.hpp"
#include "worm/pipeline.hpp"
#include "worm/signer.hpp"
#include "worm/storage.hpp"

namespace worm::test {

struct SignedBundle {
    std::string bundle_id;
    fs::path json;
    fs::path sig;
};

class EvidenceFixture {
public:
    explicit EvidenceFixture(const fs::path& root) : root_(root), keys_(generate_key_files(root / "keys")) {}

    const KeyPaths& keys() const { return keys_; }
    fs::path evidence_dir() const { return root_ / "evidence"; }

    // n bundles from the backup-success example, signed (and with X.sigstore.json when asked).
    std::vector<SignedBundle> make_bundles(int n, bool sigstore = false) {
        PipelineOptions o;
        o.client_id = "clinic-001";
        o.evidence_dir = evidence_dir();
        o.private_key_path = keys_.private_key;
        o.durable = false;
        o.sigstore_bundle = sigstore;
        EvidencePipeline pipeline(o);
        std::vector<SignedBundle> out;
        const fs::path data = source_dir() / "examples" / "data" / "backup-success";
        for (int i = 0; i < n; ++i) {
            IncidentFiles files{.incident = data / "incident.json",
                                .runbook = data / "runbook.json",
                                .execution = data / "execution.json",
                                .actions = data / "actions.json",
                                .artifacts = data / "artifacts.json"};
            const BundleResult r = pipeline.process_incident(load_incident_inputs(files));
            out.push_back({r.bundle_id, r.bundle_path, r.sig_path});
        }
        return out;
    }

    // Changes one byte of a file in place (the digit of the MTTR, or the first digit found).
    static void edit_one_byte(const fs::path& file) {
        fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
        std::string bytes = read_file(file);
        const std::size_t at = bytes.find_first_of("0123456789", bytes.size() / 2);
        if (at == std::string::npos) throw std::runtime_error("no digit to edit in " + file.string());
        bytes[at] = bytes[at] == '9' ? '8' : static_cast<char>(bytes[at] + 1);
        write_file(file, bytes);
    }

    // The key the uploader would use: evidence/clinic-001/YYYY/MM/<file name>.
    static std::string object_key(const std::string& prefix, const SignedBundle& b, const std::string& extension) {
        const std::string day = b.bundle_id.substr(3, 8);
        return prefix + "clinic-001/" + day.substr(0, 4) + "/" + day.substr(4, 2) + "/" + b.bundle_id + extension;
    }

    // Puts a file under key, locked in COMPLIANCE mode for `days`, with the writer's sha256 metadata.
    static void put_locked(ObjectStore& store, const std::string& key, const fs::path& file, int days) {
        PutOptions put;
        put.lock.retention = Retention{LockMode::compliance, std::chrono::floor<std::chrono::seconds>(
                                                                 std::chrono::system_clock::now()) +
                                                                 std::chrono::days(days)};
        put.metadata = {{"sha256", to_hex(sha256_file(file))}};
        store.put(key, PutBody::from_file(file), put);
    }

private:
    fs::path root_;
    KeyPaths keys_;
};

}  // namespace worm::test
