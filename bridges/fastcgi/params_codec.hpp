// FastCGI name-value pairs (spec 3.4): each length is one byte (< 128) or four bytes
// with the high bit set. The decoder works on a whole PARAMS stream (the connection
// concatenates the records first, so a pair split across two records, as H2O sends
// them, is just bytes) and never trusts a declared length: it is checked against the
// bytes actually present before anything is touched.
#pragma once

#include "wsgibridge/error.hpp"

#include <span>
#include <string>
#include <string_view>

namespace wsgibridge::fastcgi {

/// One decoded pair: views into the decoded stream. `name` is mutable so the caller
/// may rewrite it in place (HTTP_ACCEPT_LANGUAGE → ACCEPT-LANGUAGE).
struct Pair
{
    std::span<char> name;
    std::string_view value;
};

/// Calls `on_pair(Pair)` for each pair in `stream`. Returns errc::protocol_error when a
/// length field or a name/value runs past the end of the stream (a truncated pair).
template <class OnPair>
std::error_code decode_pairs(std::span<char> stream, OnPair&& on_pair);

/// Reads one length field at the front of `in`; advances it. Exposed for tests.
Result<std::size_t> decode_length(std::span<const char>& in) noexcept;

/// Appends the encoding of one pair to `out` (GET_VALUES_RESULT, tests, the client).
void encode_pair(std::string& out, std::string_view name, std::string_view value);

namespace detail {
/// decode_length on raw pointers, inline: a PARAMS stream has two lengths per pair
/// (42 for nginx's 21 params), and the out-of-line, Result-returning call cost more
/// than the byte or four it reads. False when the field runs past `end`.
inline bool read_length(const unsigned char*& p, const unsigned char* end, std::size_t& n) noexcept
{
    if (p == end) return false;
    if ((*p & 0x80) == 0) {
        n = *p++;
        return true;
    }
    if (end - p < 4) return false;
    n = (std::size_t{p[0]} & 0x7f) << 24 | std::size_t{p[1]} << 16 | std::size_t{p[2]} << 8 |
        std::size_t{p[3]};
    p += 4;
    return true;
}
} // namespace detail

template <class OnPair>
std::error_code decode_pairs(std::span<char> stream, OnPair&& on_pair)
{
    auto* const base = reinterpret_cast<unsigned char*>(stream.data());
    const unsigned char* p = base;
    const unsigned char* const end = base + stream.size();
    while (p != end) {
        std::size_t name_len, value_len;
        if (!detail::read_length(p, end, name_len) || !detail::read_length(p, end, value_len))
            return errc::protocol_error;
        // Both lengths are < 2^31, so the sum cannot overflow a size_t.
        if (name_len + value_len > static_cast<std::size_t>(end - p)) return errc::protocol_error;
        char* name = stream.data() + (p - base);
        on_pair(
            Pair{std::span<char>(name, name_len), std::string_view(name + name_len, value_len)});
        p += name_len + value_len;
    }
    return {};
}

} // namespace wsgibridge::fastcgi
