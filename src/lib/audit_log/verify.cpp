// Offline verification and reading of stored audit logs (audit_log/verify.hpp).
#include "worm/audit_log/verify.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <map>
#include <set>

#include "worm/audit_log/format.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/signer.hpp"

namespace worm::audit_log {

std::string_view to_string(ProblemKind kind) noexcept {
    switch (kind) {
        case ProblemKind::missing: return "missing";
        case ProblemKind::modified: return "modified";
        case ProblemKind::reordered: return "reordered";
        case ProblemKind::duplicated: return "duplicated";
        case ProblemKind::extra: return "extra";
        case ProblemKind::truncated: return "truncated";
        case ProblemKind::bad_signature: return "bad checkpoint signature";
        case ProblemKind::bad_checkpoint: return "bad checkpoint";
        case ProblemKind::deleted: return "deleted";
        case ProblemKind::witness_mismatch: return "witness mismatch";
    }
    return "problem";
}

namespace {

// Lists the keys under "prefix/". Asks for the prefix without its trailing '/' and filters:
// moto 5.2.1 refuses the signature of a ListObjectsV2 whose prefix ends in '/'.
std::vector<ObjectSummary> list_under(ObjectStore& store, const std::string& prefix_with_slash) {
    std::string asked = prefix_with_slash;
    if (!asked.empty()) asked.pop_back();
    std::vector<ObjectSummary> out;
    for (auto& o : store.list_all(asked))
        if (o.key.rfind(prefix_with_slash, 0) == 0) out.push_back(std::move(o));
    return out;
}

// Stream and sequence of a batch object: from a batch key's name, or for the per-record
// layout (whose key is the seed's request_id-uuid4) from the object's metadata.
std::optional<BatchName> batch_name_of(ObjectStore& store, const std::string& key) {
    if (auto b = parse_batch_key(key)) return b;
    if (!is_record_key(key)) return std::nullopt;
    const ObjectInfo info = store.head(key);
    const auto stream = info.metadata.find("stream"), sequence = info.metadata.find("sequence");
    if (stream == info.metadata.end() || sequence == info.metadata.end() || stream->second.size() != 16 ||
        sequence->second.empty() || sequence->second.size() > 19 ||
        sequence->second.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return BatchName{stream->second, std::stoull(sequence->second)};
}

std::vector<std::string> split_lines(const std::string& body) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t nl; (nl = body.find('\n', start)) != std::string::npos; start = nl + 1)
        lines.push_back(body.substr(start, nl - start));
    if (start < body.size()) lines.push_back(body.substr(start));
    return lines;
}

std::optional<TimePoint> parse_time(std::string_view text) {
    try {
        return parse_rfc3339(text);
    } catch (const Error&) {
        return std::nullopt;
    }
}

// Whether [first, last] overlaps the window (unknown times always do).
bool in_window(std::string_view first, std::string_view last, const std::optional<TimePoint>& from,
               const std::optional<TimePoint>& to) {
    const auto f = parse_time(first), l = parse_time(last);
    if (from && l && *l < *from) return false;
    if (to && f && *f > *to) return false;
    return true;
}

struct StoredObject {
    std::string key;
    std::uint64_t sequence = 0;
};

struct StreamObjects {
    std::map<std::uint64_t, std::vector<std::string>> batches;  // sequence -> keys
    std::map<std::uint64_t, std::string> checkpoints;           // sequence -> .json key
};

std::string sig_key_for(const std::string& checkpoint_json_key) {
    return checkpoint_json_key.substr(0, checkpoint_json_key.size() - 5) + ".sig";
}

void widen(std::string& first, std::string& last, const std::string& f, const std::string& l) {
    if (!f.empty() && (first.empty() || f < first)) first = f;
    if (!l.empty() && (last.empty() || l > last)) last = l;
}

// A stored checkpoint as a witness compares it: its hash and the records covered through it.
struct CheckpointHead {
    std::string sha256;
    std::optional<std::uint64_t> records;  // unknown after a missing or unreadable checkpoint
};

std::string describe(const Witness& w) {
    return "the witness of " + w.created_at + " names checkpoint " + std::to_string(w.checkpoint_sequence) +
           " (batches through " + std::to_string(w.last_batch_sequence) +
           (w.records ? ", " + std::to_string(*w.records) + " records" : std::string()) + ")";
}

}  // namespace

VerifyReport verify_audit_log(ObjectStore& store, const VerifyOptions& options) {
    // A witness that claims a head its own checkpoint's signature does not back is refused
    // before anything is compared with it: it would report a false truncation.
    if (options.public_key)
        for (const auto& w : options.witnesses) check_witness_signature(w, *options.public_key);
    VerifyReport report;
    report.signatures_checked = options.public_key.has_value();
    const TimePoint now = options.now == TimePoint{} ? system_clock().now() : options.now;
    const std::string prefix = prefix_dir(options.prefix);
    auto problem = [&](ProblemKind kind, const std::string& stream, const std::string& key, std::string detail) {
        report.problems.push_back({kind, stream, key, std::move(detail)});
    };

    // Sort what is under the prefix into streams.
    std::map<std::string, StreamObjects> streams;
    std::set<std::string> signature_keys;
    for (const auto& o : list_under(store, prefix)) {
        if (auto b = batch_name_of(store, o.key)) {
            streams[b->stream].batches[b->sequence].push_back(o.key);
        } else if (auto c = parse_checkpoint_key(options.prefix, o.key)) {
            streams[c->stream].checkpoints[c->sequence] = o.key;
        } else if (o.key.size() > 4 && o.key.substr(o.key.size() - 4) == ".sig" &&
                   parse_checkpoint_key(options.prefix, o.key.substr(0, o.key.size() - 4) + ".json")) {
            signature_keys.insert(o.key);
        } else {
            problem(ProblemKind::extra, "", o.key, "not an audit-log batch or checkpoint");
        }
    }

    std::optional<TimePoint> newest_checkpoint;
    std::map<std::string, std::map<std::uint64_t, CheckpointHead>> heads;  // stream -> checkpoint sequence -> head
    for (auto& [stream, objects] : streams) {
        StreamSummary summary;
        summary.stream = stream;
        summary.signed_checkpoints = !objects.checkpoints.empty();

        // 1. The checkpoint chain: contiguous, each naming the previous one's hash and signature.
        std::map<std::uint64_t, CheckpointEntry> covered;  // batch sequence -> entry
        std::string previous_text, previous_signature;
        std::uint64_t expected_checkpoint = 0;
        std::optional<std::uint64_t> records_through = 0;  // in checkpoints 0..sequence
        auto& stream_heads = heads[stream];
        for (const auto& [sequence, key] : objects.checkpoints) {
            if (sequence != expected_checkpoint) {
                problem(ProblemKind::missing, stream, checkpoint_key(options.prefix, stream, expected_checkpoint),
                        "checkpoints " + std::to_string(expected_checkpoint) + ".." + std::to_string(sequence - 1) +
                            " are not in the store");
                records_through.reset();
            }
            expected_checkpoint = sequence + 1;
            const std::string text = store.get(key);
            Checkpoint cp;
            try {
                cp = parse_checkpoint(text);
            } catch (const Error& e) {
                problem(ProblemKind::bad_checkpoint, stream, key, e.what());
                previous_text.clear();
                records_through.reset();
                stream_heads[sequence] = {sha256_hex(text), std::nullopt};
                continue;
            }
            if (records_through)
                for (const auto& e : cp.batches) *records_through += e.records;
            stream_heads[sequence] = {sha256_hex(text), records_through};
            ++summary.checkpoints;
            if (cp.stream != stream || cp.sequence != sequence)
                problem(ProblemKind::bad_checkpoint, stream, key, "names another stream or sequence than its key");
            if (!previous_text.empty() && (cp.previous_checkpoint_sha256 != sha256_hex(previous_text) ||
                                           cp.previous_signature != previous_signature))
                problem(ProblemKind::bad_checkpoint, stream, key,
                        "does not chain to checkpoint " + std::to_string(sequence - 1));
            const std::string sig_key = sig_key_for(key);
            std::string sig_line;
            if (signature_keys.count(sig_key)) {
                sig_line = store.get(sig_key);
            } else {
                summary.signed_checkpoints = false;
            }
            if (options.public_key) {
                if (sig_line.empty()) {
                    problem(ProblemKind::bad_signature, stream, key, "unsigned (no " + sig_key + ")");
                } else if (const auto check = check_signature_line(*options.public_key, text, sig_line); !check) {
                    problem(ProblemKind::bad_signature, stream, key, check.reason);
                }
            }
            previous_text = text;
            previous_signature = sig_line.empty() ? std::string() : sig_line.substr(0, sig_line.size() - 1);
            if (const auto created = parse_time(cp.created_at); created && (!newest_checkpoint || *created > *newest_checkpoint))
                newest_checkpoint = created;
            for (auto& e : cp.batches) {
                if (covered.count(e.sequence))
                    problem(ProblemKind::bad_checkpoint, stream, key,
                            "covers batch " + std::to_string(e.sequence) + " a second time");
                covered[e.sequence] = std::move(e);
            }
        }
        if (!covered.empty() && (covered.begin()->first != 0 || covered.rbegin()->first + 1 != covered.size()))
            problem(ProblemKind::bad_checkpoint, stream, "", "checkpoints do not cover a gap-free run of batches");
        summary.covered_batches = covered.size();
        std::map<std::string, std::uint64_t> covered_by_hash;  // sha -> sequence
        for (const auto& [sequence, e] : covered) covered_by_hash[e.sha256_hex] = sequence;
        const std::uint64_t highest_object = objects.batches.empty() ? 0 : objects.batches.rbegin()->first;

        // 2. Batches a checkpoint covers.
        std::optional<std::uint64_t> truncated_from;
        for (const auto& [sequence, e] : covered) {
            if (!in_window(e.first_timestamp, e.last_timestamp, options.from, options.to)) continue;
            const auto found = objects.batches.find(sequence);
            const bool present = found != objects.batches.end() &&
                                 std::find(found->second.begin(), found->second.end(), e.key) != found->second.end();
            if (!present) {
                if (objects.batches.empty() || sequence > highest_object) {
                    if (!truncated_from) truncated_from = sequence;
                } else {
                    problem(ProblemKind::missing, stream, e.key,
                            "batch " + std::to_string(sequence) + " is covered by a checkpoint but not in the store");
                }
            }
            if (found == objects.batches.end()) continue;
            for (const auto& key : found->second) {
                if (key != e.key) {
                    problem(ProblemKind::duplicated, stream, key,
                            "a second object for batch " + std::to_string(sequence) + " (checkpointed as " + e.key + ")");
                    continue;
                }
                const std::string body = store.get(key);
                const std::string sha = sha256_hex(body);
                if (sha == e.sha256_hex) {
                    ++report.batches_verified;
                    report.records_verified += split_lines(body).size();
                    widen(report.first_timestamp, report.last_timestamp, e.first_timestamp, e.last_timestamp);
                } else if (auto other = covered_by_hash.find(sha); other != covered_by_hash.end()) {
                    problem(ProblemKind::reordered, stream, key,
                            "holds batch " + std::to_string(other->second) + ", not batch " + std::to_string(sequence));
                } else {
                    problem(ProblemKind::modified, stream, key,
                            "SHA-256 " + sha + " differs from the checkpoint's " + e.sha256_hex);
                }
            }
        }
        if (truncated_from)
            problem(ProblemKind::truncated, stream, covered.at(*truncated_from).key,
                    "batches " + std::to_string(*truncated_from) + ".." + std::to_string(covered.rbegin()->first) +
                        " (the newest a checkpoint covers) are not in the store");

        // 3. Batches after the newest checkpoint: they must continue the hash chain.
        std::string previous_sha = covered.empty() ? std::string() : covered.rbegin()->second.sha256_hex;
        std::uint64_t expected = covered.empty() ? 0 : covered.rbegin()->first + 1;
        for (const auto& [sequence, keys] : objects.batches) {
            if (covered.count(sequence)) continue;
            if (objects.checkpoints.empty()) {
                for (const auto& key : keys)
                    problem(ProblemKind::extra, stream, key, "not covered by any checkpoint (the stream has none)");
                continue;
            }
            if (sequence < expected) {
                for (const auto& key : keys)
                    problem(ProblemKind::extra, stream, key, "batch " + std::to_string(sequence) + " is not covered by any checkpoint");
                continue;
            }
            if (keys.size() > 1)
                for (std::size_t i = 1; i < keys.size(); ++i)
                    problem(ProblemKind::duplicated, stream, keys[i],
                            "a second object for batch " + std::to_string(sequence));
            const std::string& key = keys.front();
            const std::string body = store.get(key);
            const ObjectInfo info = store.head(key);
            const auto meta = [&](const char* name) {
                const auto it = info.metadata.find(name);
                return it == info.metadata.end() ? std::string() : it->second;
            };
            if (sequence != expected)
                problem(ProblemKind::missing, stream, key,
                        "batches " + std::to_string(expected) + ".." + std::to_string(sequence - 1) +
                            " are not in the store");
            else if (meta("previous-batch-sha256") != previous_sha)
                problem(ProblemKind::extra, stream, key,
                        "does not continue the hash chain after batch " + std::to_string(sequence - 1));
            if (!in_window(meta("first-timestamp"), meta("last-timestamp"), options.from, options.to)) {
            } else {
                ++report.batches_verified;
                report.records_verified += split_lines(body).size();
                widen(report.first_timestamp, report.last_timestamp, meta("first-timestamp"), meta("last-timestamp"));
            }
            ++summary.uncovered_batches;
            previous_sha = sha256_hex(body);
            expected = sequence + 1;
        }
        report.streams.push_back(std::move(summary));
    }

    // 4. The witnesses: every stream one names reaches the witness's head, by the same chain.
    report.witnesses_checked = options.witnesses.size();
    for (const auto& w : options.witnesses) {
        const std::string head_key = checkpoint_key(options.prefix, w.stream, w.checkpoint_sequence);
        if (!streams.count(w.stream)) {
            problem(ProblemKind::deleted, w.stream, head_key,
                    "the stream has no object under " + prefix + " but " + describe(w));
            continue;
        }
        const auto& stream_heads = heads[w.stream];
        if (const auto at = stream_heads.find(w.checkpoint_sequence); at != stream_heads.end()) {
            if (at->second.sha256 != w.checkpoint_sha256)
                problem(ProblemKind::witness_mismatch, w.stream, head_key,
                        "SHA-256 " + at->second.sha256 + " differs from the witness's " + w.checkpoint_sha256 +
                            ": the stored stream is another chain than the one the witness saw (a replaced "
                            "checkpoint, or a witness of another store)");
            else if (w.records && at->second.records && *w.records != *at->second.records)
                problem(ProblemKind::witness_mismatch, w.stream, head_key,
                        "checkpoints through this one cover " + std::to_string(*at->second.records) +
                            " records, the witness says " + std::to_string(*w.records));
            continue;
        }
        const std::uint64_t newest = stream_heads.empty() ? 0 : stream_heads.rbegin()->first;
        if (stream_heads.empty() || newest < w.checkpoint_sequence)
            problem(ProblemKind::truncated, w.stream, head_key,
                    (stream_heads.empty() ? std::string("the stream has no checkpoint")
                                          : "the stream ends at checkpoint " + std::to_string(newest)) +
                        " but " + describe(w) + ": newer checkpoints and the batches they cover were deleted");
        // A witnessed checkpoint missing below newer ones is already reported missing above.
    }
    if (newest_checkpoint)
        report.newest_checkpoint_age = std::chrono::duration_cast<std::chrono::seconds>(now - *newest_checkpoint);
    return report;
}

std::string format_report(const VerifyReport& r) {
    std::string out;
    for (const auto& p : r.problems) {
        std::string kind(to_string(p.kind));
        for (char& c : kind) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out += kind + ": " + (p.key.empty() ? "" : p.key + ": ") + p.detail +
               (p.stream.empty() ? "" : " (stream " + p.stream + ")") + "\n";
    }
    for (const auto& s : r.streams) {
        out += "stream " + s.stream + ": " + std::to_string(s.covered_batches) + " batches in " +
               std::to_string(s.checkpoints) + " checkpoints";
        if (s.uncovered_batches) out += ", " + std::to_string(s.uncovered_batches) + " newer batches chained but not yet checkpointed";
        if (!s.signed_checkpoints) out += "; chained but not signed";
        else if (!r.signatures_checked) out += "; signed (signatures not checked: no --key)";
        else out += "; signed";
        out += "\n";
    }
    out += "verified " + std::to_string(r.batches_verified) + " batches, " + std::to_string(r.records_verified) +
           " records";
    if (!r.first_timestamp.empty()) out += ", " + r.first_timestamp + " to " + r.last_timestamp;
    out += "\n";
    out += r.newest_checkpoint_age ? "newest checkpoint: " + std::to_string(r.newest_checkpoint_age->count()) + " s ago\n"
                                   : std::string("no checkpoint\n");
    if (r.witnesses_checked > 0) out += "checked against " + std::to_string(r.witnesses_checked) + " witness head(s)\n";
    out += r.valid() ? "VALID\n" : "INVALID: " + std::to_string(r.problems.size()) + " problems\n";
    return out;
}

std::uint64_t cat_audit_log(ObjectStore& store, const CatOptions& options,
                            const std::function<void(std::string_view line)>& out) {
    // Per stream, batches by sequence; streams merged by each next batch's first record time.
    std::map<std::string, std::map<std::uint64_t, std::string>> streams;
    for (const auto& o : list_under(store, prefix_dir(options.prefix)))
        if (auto b = batch_name_of(store, o.key)) streams[b->stream].emplace(b->sequence, o.key);
    struct Cursor {
        std::map<std::uint64_t, std::string>::const_iterator next, end;
        std::vector<std::string> lines;  // of the batch at `next`, loaded
        bool unverified = false;         // the batch at `next` failed verification
        std::string first_timestamp;
    };
    auto load = [&](Cursor& c) {
        c.lines = split_lines(store.get(c.next->second));
        c.unverified = options.unverified.count(c.next->second) > 0;
        c.first_timestamp.clear();
        if (!c.lines.empty()) {
            rapidjson::Document d;
            d.Parse(c.lines.front().data(), c.lines.front().size());
            if (!d.HasParseError() && d.IsObject() && d.HasMember("timestamp") && d["timestamp"].IsString())
                c.first_timestamp = d["timestamp"].GetString();
        }
    };
    std::vector<Cursor> cursors;
    for (const auto& [stream, batches] : streams) {
        cursors.push_back({batches.begin(), batches.end(), {}, false, {}});
        load(cursors.back());
    }
    std::uint64_t written = 0;
    for (;;) {
        Cursor* pick = nullptr;
        for (auto& c : cursors)
            if (c.next != c.end && (!pick || c.first_timestamp < pick->first_timestamp)) pick = &c;
        if (!pick) break;
        for (const auto& line : pick->lines) {
            rapidjson::Document d;
            d.Parse(line.data(), line.size());
            if (d.HasParseError() || !d.IsObject()) continue;
            if (!options.service.empty() &&
                !(d.HasMember("service_name") && d["service_name"].IsString() && d["service_name"].GetString() == options.service))
                continue;
            if (options.from || options.to) {
                const auto t = d.HasMember("timestamp") && d["timestamp"].IsString()
                                   ? parse_time(d["timestamp"].GetString())
                                   : std::nullopt;
                if (!t || (options.from && *t < *options.from) || (options.to && *t > *options.to)) continue;
            }
            out(pick->unverified ? "UNVERIFIED " + line : line);
            ++written;
        }
        if (++pick->next != pick->end) load(*pick);
    }
    return written;
}

}  // namespace worm::audit_log
