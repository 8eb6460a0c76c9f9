// Content-Length, parsed the same strict way everywhere a length arrives (an HTTP field,
// a CGI/FastCGI/SCGI/uwsgi CONTENT_LENGTH variable). Internal.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace wsgibridge {

/// RFC 9110 section 8.6: Content-Length = 1*DIGIT (RFC 3875 section 4.1.2 says the same
/// of CONTENT_LENGTH). No sign, no whitespace, no list ("5, 5"), nothing past 2^64-1
/// (leading zeros are digits like any other). nullopt for anything else: a length the
/// server cannot trust is refused, never guessed (RFC 9112 section 6.3).
constexpr std::optional<std::uint64_t> parse_content_length(std::string_view text) noexcept
{
    if (text.empty()) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        auto digit = static_cast<std::uint64_t>(c - '0');
        if (n > (UINT64_MAX - digit) / 10) return std::nullopt;
        n = n * 10 + digit;
    }
    return n;
}

} // namespace wsgibridge
