// Error codes shared by every layer. Inside the library functions return these (or a
// Result<T>); exceptions are only thrown at the edges (program start-up, bad options).
#pragma once

#include "export.hpp"

#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

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
    /// The header block (HTTP headers, FastCGI params, CGI environment) exceeds
    /// Limits::max_header_bytes.
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

} // namespace wsgibridge

template <>
struct std::is_error_code_enum<wsgibridge::errc> : std::true_type
{
};

namespace wsgibridge {

WSGIBRIDGE_API const std::error_category& wsgibridge_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), wsgibridge_category()};
}

/// The HTTP status a front end answers with when a request fails with `e` before the
/// application ran (400 for malformed input, 413, 431, 408, 501), or 500.
WSGIBRIDGE_API int http_status_for(std::error_code ec) noexcept;

/// The status line the gateway answers with when it refuses or fails a request itself
/// ("413 Content Too Large"); codes it never sends give "500 Internal Server Error".
WSGIBRIDGE_API std::string_view gateway_status_line(int status) noexcept;

/// Expected-style result (std::expected is C++23): a value or an error_code. Converts
/// implicitly from either, like the return statements it replaces. Reaching the value of
/// an error result (value(), *, ->) throws std::system_error instead of reading garbage.
template <class T>
class [[nodiscard]] Result
{
public:
    template <class U = T>
    requires(!std::is_same_v<std::remove_cvref_t<U>, Result> && std::is_constructible_v<T, U&&> &&
             !std::is_constructible_v<std::error_code, U&&>) Result(U&& value)
        : state_(std::in_place_index<0>, std::forward<U>(value))
    {
    }

    template <class E>
    requires(!std::is_same_v<std::remove_cvref_t<E>, Result> &&
             std::is_constructible_v<std::error_code, E&&> && !std::is_constructible_v<T, E&&>)
        Result(E&& error)
        : state_(std::in_place_index<1>, std::error_code(std::forward<E>(error)))
    {
    }

    bool has_value() const noexcept { return state_.index() == 0; }
    bool has_error() const noexcept { return state_.index() == 1; }
    explicit operator bool() const noexcept { return has_value(); }

    /// The error; a default (success) error_code when there is a value.
    std::error_code error() const noexcept
    {
        return has_error() ? *std::get_if<1>(&state_) : std::error_code{};
    }

    T& value() &
    {
        check();
        return *std::get_if<0>(&state_);
    }
    const T& value() const&
    {
        check();
        return *std::get_if<0>(&state_);
    }
    T&& value() &&
    {
        check();
        return std::move(*std::get_if<0>(&state_));
    }

    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

private:
    void check() const
    {
        if (has_error()) throw std::system_error(*std::get_if<1>(&state_));
    }

    std::variant<T, std::error_code> state_;
};

} // namespace wsgibridge
