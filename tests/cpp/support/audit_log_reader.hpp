// audit_log_reader.hpp: what a test needs to read audit-log batches back from a store,
// independent of the verifier under test: batch keys in (stream, sequence) order and
// their records.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "worm/audit_log/format.hpp"
#include "worm/storage.hpp"

namespace worm::test {

struct StoredBatch {
    std::string key;
    std::string stream;
    std::uint64_t sequence = 0;
    std::vector<std::string> lines;
};

inline std::vector<StoredBatch> stored_batches(ObjectStore& store, const std::string& prefix) {
    std::vector<StoredBatch> out;
    for (const auto& o : store.list_all(prefix)) {
        const auto name = audit_log::parse_batch_key(o.key);
        if (!name) continue;
        StoredBatch b{o.key, name->stream, name->sequence, {}};
        const std::string body = store.get(o.key);
        std::size_t start = 0;
        for (std::size_t nl; (nl = body.find('\n', start)) != std::string::npos; start = nl + 1)
            b.lines.push_back(body.substr(start, nl - start));
        out.push_back(std::move(b));
    }
    std::sort(out.begin(), out.end(), [](const StoredBatch& a, const StoredBatch& b) {
        return std::tie(a.stream, a.sequence) < std::tie(b.stream, b.sequence);
    });
    return out;
}

inline std::vector<std::string> stored_lines(ObjectStore& store, const std::string& prefix) {
    std::vector<std::string> lines;
    for (auto& b : stored_batches(store, prefix))
        for (auto& l : b.lines) lines.push_back(std::move(l));
    return lines;
}

}  // namespace worm::test
