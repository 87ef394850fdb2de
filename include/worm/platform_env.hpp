// platform_env.hpp: seed 002's (the FireMode platform's) environment variables, read in
// one place, with where each one applies in libworm.
//
//   WORM_EVIDENCE_BUCKET         the store of `worm monitor` and `worm bucket setup/verify/info`
//                                when no --store is given (a bare name means s3://NAME)
//   WORM_REPORTS_BUCKET          where `worm audit` and `worm certificate issue` upload what they
//                                write when no --upload-to is given
//   WORM_RETENTION_YEARS         default retention of `worm bucket setup` and of uploaded reports
//   WORM_BACKUP_REGION           BackupRegion of examples/cloudformation/deploy.sh (the replica's region)
//   COMPLIANCE_SIGNING_KEY_PATH  the key of `worm certificate issue` when no --key is given
//   WORM_ALERTS_TOPIC_ARN        the SNS topic `worm monitor` alerts
//   DATABASE_URL                 evidence metadata database (`worm audit --database`)
//   MIGRATION_BATCH_SIZE, MIGRATION_PROGRESS_DIR, MIGRATION_MAX_WORKERS   read by `worm migrate`
//
// `worm config check` shows them (a password in DATABASE_URL masked) and their problems.
//
// Example:
//   const worm::PlatformEnv env = worm::PlatformEnv::from_env();
//   std::string evidence = env.evidence_store();  // "s3://firemode-evidence-worm-dev", or empty
//   std::string key_path = env.get("COMPLIANCE_SIGNING_KEY_PATH");
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "worm/config.hpp"
#include "worm/export.hpp"

namespace worm {

struct WORM_API PlatformEnv {
    struct Variable {
        std::string name;      // "WORM_EVIDENCE_BUCKET"
        std::string value;     // as set ("" when unset)
        std::string used_by;   // where libworm reads it
    };
    std::vector<Variable> variables;  // every variable above, in that order

    static PlatformEnv from_env(const EnvLookup& lookup = process_env);

    // The value, "" when unset.
    std::string get(std::string_view name) const;
    // WORM_EVIDENCE_BUCKET / WORM_REPORTS_BUCKET as store URLs (store_url), "" when unset.
    std::string evidence_store() const;
    std::string reports_store() const;
    // WORM_RETENTION_YEARS (1..100), nullopt when unset; Error(config) naming it when malformed.
    std::optional<int> retention_years() const;

    // One line per malformed variable.
    std::vector<std::string> problems() const;
    // {"NAME": {"value": ..., "used_by": ...}, ...} (DATABASE_URL's password masked).
    std::string describe_masked_json() const;
};

// `config_json` (WormConfig::describe_masked()) with a "platform" member holding
// PlatformEnv::describe_masked_json(): the `worm config check` output.
WORM_API std::string with_platform_section(const std::string& config_json, const PlatformEnv& env);

}  // namespace worm
