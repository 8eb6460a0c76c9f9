// Error codes shared by every layer. Inside the library functions return these (or a
// Result<T>); exceptions are only thrown at the edges (program start-up, bad options).
#pragma once

#include <boost/system/result.hpp>
#include <string_view>
#include <system_error>

namespace wsgibridge {

enum class errc {
    ok = 0,
    /// A sans-I/O parser needs more input before it can say anything.
    need_more,
    /// The peer closed the stream cleanly between messages.
    end_of_stream,
    /// The peer went away (reset, EPIPE, or closed in the middle of a message).
    peer_gone,
    /// A read or write did not complete within its timeout.
    timeout,
    /// The request line or start of a message is malformed.
    bad_request,
    /// Content-Length is not a number, appears twice with different values, or
    /// appears together with Transfer-Encoding (RFC 9112 §6.3).
    bad_content_length,
    /// A chunked body has a malformed chunk size or trailer.
    bad_chunk,
    /// A Transfer-Encoding other than chunked.
    unsupported_transfer_encoding,
    /// The header block (HTTP headers, FastCGI params, CGI environment) exceeds Limits::max_header_bytes.
    header_too_large,
    /// More header fields than Limits::max_header_count.
    too_many_headers,
    /// The request body exceeds Limits::max_body_bytes.
    body_too_large,
    /// The body ended before the announced Content-Length.
    body_truncated,
    /// A wire-protocol violation (bad FastCGI record, bad name-value pair, ...).
    protocol_error,
    /// FastCGI record with a version other than 1.
    unsupported_version,
    /// The application failed (exception, bad status, bad headers).
    app_error,
    /// The request-target is longer than Limits::max_target_bytes (414).
    target_too_long,
    /// A method the gateway does not implement: CONNECT, or an absurdly long one (501).
    method_not_implemented,
};

const std::error_category& wsgibridge_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), wsgibridge_category()};
}

/// The HTTP status a front end answers with when a request fails with `e` before the
/// application ran (400 for malformed input, 413, 431, 408, 501), or 500.
int http_status_for(std::error_code ec) noexcept;

/// The status line the gateway answers with when it refuses or fails a request itself
/// ("413 Content Too Large"); codes it never sends give "500 Internal Server Error".
std::string_view gateway_status_line(int status) noexcept;

/// Expected-style result: a value or an error_code.
template <class T>
using Result = boost::system::result<T, std::error_code>;

} // namespace wsgibridge

template <>
struct std::is_error_code_enum<wsgibridge::errc> : std::true_type {};
