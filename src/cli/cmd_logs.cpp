// `worm logs verify|cat`: offline checks and reading of stored audit logs (audit_log/verify.hpp).
#include <iostream>

#include "commands.hpp"
#include "worm/audit_log/verify.hpp"
#include "worm/audit_log/witness.hpp"
#include "worm/signer.hpp"

namespace worm::cli {

namespace {

const OptionSpec prefix_option{"--prefix", "PREFIX", "key prefix of the logs (default audit-logs)"};
const OptionSpec from_option{"--from", "DATE", "only records at or after this time (YYYY-MM-DD or RFC 3339)"};
const OptionSpec to_option{"--to", "DATE", "only records at or before this time (YYYY-MM-DD: to the end of that day)"};

int run_verify(const ParsedArgs& a) {
    audit_log::VerifyOptions options;
    options.prefix = a.value_or("--prefix", "audit-logs");
    if (const auto key = a.get("--key")) options.public_key = load_public_key(*key);
    options.from = date_arg(a, "--from", false);
    options.to = date_arg(a, "--to", true);
    if (const auto w = a.get("--witness")) options.witnesses = audit_log::read_witnesses(*w, options.prefix);
    const auto store = open_store(a.require("--store"));
    std::optional<long long> max_age;
    if (const auto v = a.get("--max-age")) {
        try {
            std::size_t used = 0;
            max_age = std::stoll(*v, &used);
            if (used != v->size() || *max_age < 0) throw std::invalid_argument(*v);
        } catch (const std::exception&) {
            throw UsageError("--max-age must be a whole number of seconds, got '" + *v + "'");
        }
    }
    const auto report = audit_log::verify_audit_log(*store, options);
    std::cout << audit_log::format_report(report);
    // Deleting a stream's newest checkpoint and the batches after it leaves an older, valid
    // stream: without a witness of the newest head (--witness), only the checkpoint's age can tell.
    if (max_age && (!report.newest_checkpoint_age || report.newest_checkpoint_age->count() > *max_age))
        std::cout << "WARNING: " << (report.newest_checkpoint_age
                                         ? "the newest checkpoint is " + std::to_string(report.newest_checkpoint_age->count()) + " s old"
                                         : std::string("there is no checkpoint"))
                  << ", more than --max-age " << *max_age
                  << " s: checkpoints newer than that (and their batches) may have been deleted\n";
    return report.valid() ? exit_ok : exit_verification_failed;
}

int run_cat(const ParsedArgs& a) {
    audit_log::CatOptions options;
    options.prefix = a.value_or("--prefix", "audit-logs");
    options.from = date_arg(a, "--from", false);
    options.to = date_arg(a, "--to", true);
    options.service = a.value_or("--service", "");
    const auto store = open_store(a.require("--store"));
    // An edited or forged record must not pass for a stored one: the batches are verified
    // first (as `logs verify` does, signatures aside), and printed only when they pass.
    audit_log::VerifyOptions check;
    check.prefix = options.prefix;
    check.from = options.from;
    check.to = options.to;
    for (const auto& p : audit_log::verify_audit_log(*store, check).problems) {
        using K = audit_log::ProblemKind;
        if (!p.key.empty() && (p.kind == K::modified || p.kind == K::reordered || p.kind == K::duplicated || p.kind == K::extra))
            options.unverified.insert(p.key);
    }
    if (!options.unverified.empty() && !a.has("--unverified")) {
        std::cerr << "worm logs cat: " << options.unverified.size() << " batch(es) fail verification, first "
                  << *options.unverified.begin() << "; see `worm logs verify`, or pass --unverified to print "
                  << "their records marked UNVERIFIED\n";
        return exit_verification_failed;
    }
    audit_log::cat_audit_log(*store, options, [](std::string_view line) { std::cout << line << '\n'; });
    std::cout.flush();
    return exit_ok;
}

}  // namespace

std::vector<Command> logs_commands() {
    std::vector<Command> c;
    c.push_back({{"logs verify", "", "check stored audit logs: every batch present, unmodified, in order, checkpointed",
                  {store_option, prefix_option, {"--key", "PUB", "public key (SPKI PEM) the checkpoints are signed with"},
                   from_option, to_option,
                   {"--max-age", "SECONDS", "warn when the newest checkpoint is older (the sink writes one every "
                                            "checkpoint_interval while it logs)"},
                   {"--witness", "PATH|URL", "the sink's witness of each stream's head: its journal directory (or "
                                             "witness.json), or the WORM_LOG_WITNESS_STORE URL"}},
                  0, 0,
                  "Prints one line per problem (MISSING, MODIFIED, REORDERED, DUPLICATED, EXTRA, TRUNCATED,\n"
                  "BAD CHECKPOINT SIGNATURE, BAD CHECKPOINT, DELETED, WITNESS MISMATCH) and a summary. Exit 0\n"
                  "valid, 1 not. Without --key the checkpoint chain is checked but not its signatures.\n"
                  "With --witness, a stream that ends before the witness's head is TRUNCATED, a stream the\n"
                  "witness names that is gone is DELETED; without it, only --max-age hints at a deleted tail."},
                 run_verify});
    c.push_back({{"logs cat", "", "print stored audit-log records in order, one JSON object per line",
                  {store_option, prefix_option, from_option, to_option,
                   {"--service", "S", "only records whose service_name is S"},
                   {"--unverified", "", "print the records of batches that fail verification, marked UNVERIFIED"}},
                  0, 0,
                  "Batches are verified first: when one is edited, forged, reordered or doubled, cat refuses\n"
                  "(exit 1) unless --unverified, which prints their records with \"UNVERIFIED \" in front."},
                 run_cat});
    return c;
}

}  // namespace worm::cli
