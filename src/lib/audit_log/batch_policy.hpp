// When the open batch closes: at max_records, max_bytes or max_interval, whichever comes
// first; while max_in_flight batches already wait (a backlog), a batch at max_records keeps
// taking records until a place frees, up to max_bytes and never past max_interval. The
// per-record layout closes every batch at its one record. Checked in log() (under the sink's
// mutex, so inline and without allocation) and by the uploader.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "batch.hpp"
#include "worm/audit_log.hpp"

namespace worm::audit_log::detail {

class BatchPolicy {
public:
    explicit BatchPolicy(const AuditLogOptions& o)
        : max_records_(o.max_records),
          max_bytes_(o.max_bytes),
          max_in_flight_(o.max_in_flight),
          max_interval_(o.max_interval),
          per_record_(o.layout == AuditLogLayout::per_record) {}

    bool per_record() const { return per_record_; }
    // After log() added a record: whether the open batch is full. `waiting`: sealed batches
    // not stored yet.
    bool full(std::uint64_t open_records, std::uint64_t open_bytes, std::size_t waiting) const {
        return (open_records >= max_records_ && (waiting < max_in_flight_ || per_record_)) || open_bytes >= max_bytes_;
    }
    // The uploader's look at an open batch (open_records > 0): whether it closes now, for a
    // flush, its age, a free place in flight, or the per-record layout.
    bool due(std::uint64_t open_records, SteadyTime open_since, SteadyTime now, std::size_t waiting, bool flushing) const {
        return flushing || now - open_since >= max_interval_ || (open_records >= max_records_ && waiting < max_in_flight_) ||
               per_record_;
    }
    // The latest time the uploader must look again at a batch opened at open_since.
    SteadyTime deadline(SteadyTime open_since) const { return open_since + max_interval_; }

private:
    std::size_t max_records_, max_bytes_, max_in_flight_;
    std::chrono::milliseconds max_interval_;
    bool per_record_;
};

}  // namespace worm::audit_log::detail
