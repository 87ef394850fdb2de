// The audit-log journal's replay (reader) over damaged segment files. The first input byte
// picks the form of the rest:
//   even: the bytes of seg-0000000001.wal as they are (torn writes, garbage);
//   odd:  frames the harness builds with valid CRC-32C (so the fuzzer reaches the frame
//         logic): repeated [u8 type][u8 length][payload], split into two segments at the
//         first frame of type 0xff.
// Invariants: replay either repairs (cuts the damaged tail) or throws a typed error; every
// recovered batch reads back; and the repaired journal accepts a new batch that a second
// replay recovers.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "audit_log/journal.hpp"
#include "util/crc32c.hpp"
#include "fuzz_support.hpp"

namespace fs = std::filesystem;
using worm::audit_log::detail::Journal;

namespace {

const fs::path& scratch() {
    static const fs::path dir = [] {
        auto d = fs::temp_directory_path() / ("worm-fuzz-journal-" + std::to_string(::getpid()));
        fs::create_directories(d);
        return d;
    }();
    return dir;
}

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string frame(char type, std::string_view payload) {
    std::string out;
    put_u32(out, static_cast<std::uint32_t>(payload.size()));
    const std::uint32_t crc = worm::detail::crc32c(std::string_view(&type, 1));
    put_u32(out, worm::detail::crc32c(payload, crc));
    out.push_back(type);
    out.append(payload);
    return out;
}

void write(const fs::path& path, std::string_view bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const fs::path& dir = scratch();
    for (const auto& entry : fs::directory_iterator(dir)) fs::remove_all(entry.path());
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    if ((data[0] & 1) == 0) {
        write(dir / "seg-0000000001.wal", rest);
    } else {
        std::string segments[2];
        int current = 0;
        for (std::size_t at = 0; at + 2 <= rest.size();) {
            const char type = rest[at];
            const std::size_t length = static_cast<unsigned char>(rest[at + 1]);
            const std::string_view payload = rest.substr(at + 2, length);
            at += 2 + payload.size();
            if (static_cast<unsigned char>(type) == 0xff) {
                current = 1;
                continue;
            }
            segments[current] += frame(type, payload);
        }
        write(dir / "seg-0000000001.wal", segments[0]);
        if (current == 1) write(dir / "seg-0000000002.wal", segments[1]);
    }
    worm::fuzz::expect_typed([&] {
        std::uint64_t last_sequence = 0;
        std::size_t batches = 0;
        {
            Journal journal(dir, 1 << 20);
            const auto recovered = journal.batches_from(0, SIZE_MAX);
            for (const auto& range : recovered) {
                const auto records = journal.read_batch(range.sequence);
                worm::fuzz::check(records.size() == range.records, "a recovered batch reads back short");
                last_sequence = std::max(last_sequence, range.sequence);
            }
            batches = recovered.size();
            journal.append_record(R"({"after":"repair"})");
            journal.seal(last_sequence + 1);
            journal.sync();
        }
        Journal again(dir, 1 << 20);
        const auto recovered_again = again.batches_from(0, SIZE_MAX);
        worm::fuzz::check(recovered_again.size() == batches + 1, "the batch sealed after repair was lost");
        const auto& added = recovered_again.back();
        worm::fuzz::check(added.sequence == last_sequence + 1, "the batch sealed after repair has another sequence");
        // Records left unsealed before the repair are part of the new batch.
        worm::fuzz::check(again.read_batch(added.sequence).back() == R"({"after":"repair"})", "the new record reads back wrong");
    });
    return 0;
}
