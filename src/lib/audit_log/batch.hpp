// A batch of the sink's stream as it moves from the record queue to the store: its facts
// (for its key, metadata and checkpoint entry), sealed and waiting, then in flight.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "journal.hpp"
#include "worm/audit_log.hpp"
#include "worm/storage.hpp"

namespace worm::audit_log::detail {

using SteadyTime = std::chrono::steady_clock::time_point;

// What log() knows of a record without parsing it again: its batch's facts come from these.
struct RecordFacts {
    std::string_view timestamp, level, request_id, service_name;
    std::optional<LogLevel> known_level;
};

// The batch's facts for its key, metadata and checkpoint entry, from its records.
struct BatchFacts {
    std::string first_timestamp, last_timestamp, request_id, service_name, log_level;
    std::optional<LogLevel> highest;  // of the records whose level is a known name

    // Adds the next record's facts.
    void add(std::string_view timestamp, std::string_view level, std::optional<LogLevel> known,
             std::string_view first_request_id, std::string_view first_service_name, bool first) {
        if (first) {
            first_timestamp = timestamp;
            request_id = first_request_id;
            service_name = first_service_name;
            log_level = level;
        }
        last_timestamp = timestamp;
        if (known && (!highest || *known > *highest)) {
            highest = known;
            log_level = std::string(to_string(*known));
        }
    }
};

// A sealed batch, not stored yet.
struct PendingBatch {
    std::uint64_t sequence = 0;
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;             // record bytes plus frame overhead (the cap's unit)
    // Memory mode: the batch's JSON Lines text (disk mode reads the records back from the
    // journal). Shared, so that the uploader's copy of the batch does not copy the text.
    std::shared_ptr<std::string> body;
    std::optional<BatchFacts> facts;     // unset for batches replayed from the journal
    SteadyTime first_accepted{};

    // A batch known only from the journal (after a restart, or unlisted during a backlog):
    // its facts come from its records when it is stored.
    static PendingBatch in_journal(const BatchRange& range, SteadyTime first_accepted) {
        PendingBatch b;
        b.sequence = range.sequence;
        b.records = range.records;
        b.first_accepted = first_accepted;
        return b;
    }
};

// A batch on its way to the store: built in order by the uploader (its previous-batch hash
// is the one built before it), PUT by the batch uploader, committed in order.
struct Flight {
    PendingBatch batch;
    std::string key, sha;
    std::uint64_t records = 0;
    std::string first_timestamp, last_timestamp;
    PutBody body;
    PutOptions put;
    std::atomic<bool> done{false};  // set by the batch uploader, read by the uploader
};

}  // namespace worm::audit_log::detail
