// The SCGI request head (SCGI 1.0, python.ca/scgi/protocol.txt): a netstring
// "<length>:<headers>," whose headers are NAME\0VALUE\0 pairs, CONTENT_LENGTH first and
// required, SCGI=1 present; the body follows. Sans-I/O: the caller reads the bytes.
// Declared lengths are never trusted: each is checked against the bytes present.
#pragma once

#include "wsgibridge/error.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace wsgibridge::scgi {

/// The netstring's length prefix: `length` header bytes follow `prefix_size` bytes
/// ("70:" is 3), then one ','.
struct LengthPrefix
{
    std::size_t length = 0;
    std::size_t prefix_size = 0;
};

/// The longest prefix worth reading before giving up: 10 digits and ':'.
inline constexpr std::size_t max_prefix_size = 11;

/// Parses the prefix at the front of `in`. nullopt: no ':' yet (read more).
/// protocol_error: not digits then ':', empty, or more than 10 digits.
Result<std::optional<LengthPrefix>> parse_length_prefix(std::string_view in) noexcept;

/// One header: `name` mutable so the request model may rewrite it in place.
struct Header
{
    std::span<char> name;
    std::string_view value;
};

/// Decodes the netstring payload plus its ',' (`block` = length + 1 bytes), calling
/// on_header(Header) for each pair. protocol_error, with `why` naming the rule, when
/// the ',' is missing, a pair is not NUL-terminated, a name is empty, the first header
/// is not CONTENT_LENGTH or SCGI=1 is missing (SCGI 1.0 §"request format").
template <class OnHeader>
std::error_code decode_headers(std::span<char> block, OnHeader&& on_header, const char*& why);

template <class OnHeader>
std::error_code decode_headers(std::span<char> block, OnHeader&& on_header, const char*& why)
{
    why = nullptr;
    if (block.empty() || block.back() != ',') {
        why = "the netstring does not end with ','";
        return errc::protocol_error;
    }
    std::string_view in(block.data(), block.size() - 1);
    std::size_t at = 0, count = 0;
    bool scgi = false;
    while (at < in.size()) {
        auto name_end = in.find('\0', at);
        if (name_end == std::string_view::npos) break;
        auto value_end = in.find('\0', name_end + 1);
        if (value_end == std::string_view::npos) break;
        std::string_view name = in.substr(at, name_end - at);
        std::string_view value = in.substr(name_end + 1, value_end - name_end - 1);
        if (name.empty()) {
            why = "a header has an empty name";
            return errc::protocol_error;
        }
        if (count == 0 && name != "CONTENT_LENGTH") {
            why = "the first header is not CONTENT_LENGTH";
            return errc::protocol_error;
        }
        if (name == "SCGI") scgi = value == "1";
        on_header(Header{block.subspan(at, name.size()), value});
        ++count;
        at = value_end + 1;
    }
    if (at != in.size()) {
        why = "a header is not NUL-terminated";
        return errc::protocol_error;
    }
    if (count == 0) {
        why = "no headers (CONTENT_LENGTH is required)";
        return errc::protocol_error;
    }
    if (!scgi) {
        why = "no SCGI=1 header";
        return errc::protocol_error;
    }
    return {};
}

} // namespace wsgibridge::scgi
