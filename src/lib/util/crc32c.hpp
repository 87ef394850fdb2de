// crc32c.hpp (private): CRC-32C (Castagnoli), the checksum of the audit-log journal's frames.
// Uses the SSE4.2 crc32 instruction when the CPU has it (8 bytes per step instead of one table
// lookup per byte: log() checksums every record), the table otherwise; both give the same value.
#pragma once

#include <cstdint>
#include <string_view>

namespace worm::detail {

// crc continues an earlier value (0 to start): crc32c(b, crc32c(a)) == crc32c(a + b).
std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0) noexcept;

// The portable table version, for tests that compare it with the instruction.
std::uint32_t crc32c_table(std::string_view data, std::uint32_t crc = 0) noexcept;

}  // namespace worm::detail
