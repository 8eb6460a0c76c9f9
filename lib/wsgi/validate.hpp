// What start_response accepts, as pure functions on bytes (no Python), after mod_wsgi's
// wsgi_validate.c: the rules live here with their reasons, and start_response turns a
// non-empty answer into a ValueError naming the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace wsgibridge::wsgi {

/// "NNN reason": three digits 100-599 (RFC 9110 §15 defines no others; a gateway cannot
/// forward anything else as HTTP/1.1), one space, then a reason phrase of visible
/// characters, spaces and HTABs (RFC 9112 §4; it may be empty). Returns "" when valid and
/// sets `code`, else the reason.
std::string_view check_status(std::string_view status, int& code) noexcept;

/// A header name is a non-empty token (RFC 9110 §5.1): no spaces, colons, controls.
std::string_view check_header_name(std::string_view name) noexcept;

/// A header value has no CR, LF, NUL or other control character except HTAB (RFC 9110
/// §5.5): a CR or LF would let the application (or an attacker who controls a value it
/// echoes) split the response. The check runs on the whole view, so an embedded NUL
/// cannot end it early as C-string validators do.
std::string_view check_header_value(std::string_view value) noexcept;

/// Connection-level fields (RFC 9110 §7.6.1 and PEP 3333's list) that belong to the
/// gateway: an application sending one is a fatal error (PEP 3333, "Other HTTP Features").
bool is_hop_by_hop(std::string_view name) noexcept;

/// A Content-Length value: 1-19 decimal digits, optional surrounding blanks.
std::optional<std::uint64_t> parse_content_length(std::string_view value) noexcept;

/// False for 1xx, 204 and 304: such responses never have a body (RFC 9110 §6.4.1).
constexpr bool status_allows_body(int code) noexcept
{
    return code >= 200 && code != 204 && code != 304;
}

/// False for 1xx and 204: they must not carry Content-Length (RFC 9110 §8.6). A 304
/// may repeat the length of the representation it stands for.
constexpr bool status_allows_content_length(int code) noexcept
{
    return code >= 200 && code != 204;
}

} // namespace wsgibridge::wsgi
