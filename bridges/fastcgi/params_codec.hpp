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

template <class OnPair>
std::error_code decode_pairs(std::span<char> stream, OnPair&& on_pair)
{
    std::span<const char> in(stream.data(), stream.size());
    while (!in.empty()) {
        auto name_len = decode_length(in);
        if (!name_len) return name_len.error();
        auto value_len = decode_length(in);
        if (!value_len) return value_len.error();
        // Both lengths are < 2^31, so the sum cannot overflow a size_t.
        if (*name_len + *value_len > in.size()) return errc::protocol_error;
        auto offset = static_cast<std::size_t>(in.data() - stream.data());
        Pair p{stream.subspan(offset, *name_len),
               std::string_view(in.data() + *name_len, *value_len)};
        in = in.subspan(*name_len + *value_len);
        on_pair(p);
    }
    return {};
}

} // namespace wsgibridge::fastcgi
