// CRC-32C, by instruction or by table (crc32c.hpp).
#include "crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define WORM_CRC32C_SSE42 1
#endif

namespace worm::detail {

namespace {

std::array<std::uint32_t, 256> make_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
    return table;
}

#ifdef WORM_CRC32C_SSE42
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::string_view data, std::uint32_t crc) noexcept {
    std::uint64_t c = ~crc;
    const char* p = data.data();
    std::size_t n = data.size();
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
    }
    auto c32 = static_cast<std::uint32_t>(c);
    for (; n > 0; ++p, --n) c32 = _mm_crc32_u8(c32, static_cast<unsigned char>(*p));
    return ~c32;
}

// __builtin_cpu_init must run first when this is evaluated during static initialization.
const bool have_sse42 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
}();
#endif

}  // namespace

std::uint32_t crc32c_table(std::string_view data, std::uint32_t crc) noexcept {
    static const auto table = make_table();
    crc = ~crc;
    for (const char ch : data) crc = table[(crc ^ static_cast<unsigned char>(ch)) & 0xff] ^ (crc >> 8);
    return ~crc;
}

std::uint32_t crc32c(std::string_view data, std::uint32_t crc) noexcept {
#ifdef WORM_CRC32C_SSE42
    if (have_sse42) return crc32c_sse42(data, crc);
#endif
    return crc32c_table(data, crc);
}

}  // namespace worm::detail
