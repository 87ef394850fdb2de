#include "percent_encoding.hpp"

#include <array>

#include "text.hpp"
#include "worm/error.hpp"

namespace worm::detail {

namespace {

using ByteSet = std::array<bool, 256>;

constexpr ByteSet make_set(PercentKeep keep) {
    ByteSet set{};
    for (int c = 0; c < 256; ++c) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '_' || c == '.' || c == '~';
        switch (keep) {
            case PercentKeep::unreserved: set[static_cast<std::size_t>(c)] = unreserved; break;
            case PercentKeep::unreserved_and_slash: set[static_cast<std::size_t>(c)] = unreserved || c == '/'; break;
            case PercentKeep::printable_ascii: set[static_cast<std::size_t>(c)] = c >= 0x20 && c < 0x7f && c != '%'; break;
        }
    }
    return set;
}

constexpr ByteSet kept_unreserved = make_set(PercentKeep::unreserved);
constexpr ByteSet kept_path = make_set(PercentKeep::unreserved_and_slash);
constexpr ByteSet kept_printable = make_set(PercentKeep::printable_ascii);

const ByteSet& kept_set(PercentKeep keep) {
    switch (keep) {
        case PercentKeep::unreserved: return kept_unreserved;
        case PercentKeep::unreserved_and_slash: return kept_path;
        case PercentKeep::printable_ascii: return kept_printable;
    }
    return kept_unreserved;
}

}  // namespace

void append_percent_encoded(std::string& out, std::string_view raw, PercentKeep keep) {
    static constexpr char hex[] = "0123456789ABCDEF";
    const ByteSet& kept = kept_set(keep);
    std::size_t i = 0;
    while (i < raw.size()) {
        // Copy runs of kept bytes at once: keys are mostly unreserved.
        std::size_t run_end = i;
        while (run_end < raw.size() && kept[static_cast<unsigned char>(raw[run_end])]) ++run_end;
        out.append(raw.substr(i, run_end - i));
        if (run_end == raw.size()) break;
        const auto c = static_cast<unsigned char>(raw[run_end]);
        const char escape[3] = {'%', hex[c >> 4], hex[c & 0x0f]};
        out.append(escape, sizeof escape);
        i = run_end + 1;
    }
}

std::string percent_encode(std::string_view raw, PercentKeep keep) {
    std::string out;
    out.reserve(raw.size() + raw.size() / 2);
    append_percent_encoded(out, raw, keep);
    return out;
}

std::string percent_decode(std::string_view text, bool plus_is_space, std::string_view what) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == '%') {
            const int hi = i + 2 < text.size() ? hex_digit_value(text[i + 1]) : -1;
            const int lo = hi >= 0 ? hex_digit_value(text[i + 2]) : -1;
            if (lo < 0) throw Error(ErrorCode::invalid_argument, "bad percent escape in " + std::string(what));
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') throw Error(ErrorCode::invalid_argument, std::string(what) + " holds a NUL byte");
        out += c;
    }
    return out;
}

}  // namespace worm::detail
