// What a request head must satisfy before the application sees it, beyond what
// Beast's parser checks: the request-target forms of RFC 9112 section 3.2, the Host
// rules of section 3.2 (one, valid, present in HTTP/1.1), singleton fields that must
// not arrive twice, and the raw-byte rules Beast relaxes (obs-fold, section 5.2).
// Pure functions on a parsed head or raw bytes: unit-tested without a socket. Internal.
#pragma once

#include "http/request_from_beast.hpp"

#include <cstddef>
#include <string_view>
#include <system_error>

namespace wsgibridge::http {

/// A refusal: the error (its status via http_status_for) and why, for the log line.
/// `why` points to static text. An empty `code` accepts the head.
struct Refusal
{
    std::error_code code;
    std::string_view why;
    explicit operator bool() const noexcept { return static_cast<bool>(code); }
};

/// Longest method accepted; longer ones get 501 (RFC 9110 section 9.1: an unrecognized
/// method). The longest registered method, UPDATEREDIRECTREF, has 17 bytes.
inline constexpr std::size_t max_method_bytes = 32;

enum class TargetForm { origin, absolute, authority, asterisk, invalid };

/// Which form of RFC 9112 section 3.2 `target` has. "http://" with no host, a userinfo
/// part ("http://u@h/"), a scheme other than http/https, or an invalid authority give
/// `invalid`.
TargetForm target_form(std::string_view target) noexcept;

/// The authority of an absolute-form target ("http://h:8080/p" -> "h:8080"), else "".
std::string_view target_authority(std::string_view target) noexcept;

/// RFC 9112 section 3.2 / RFC 3986 section 3.2.2: uri-host [ ":" port ]. The empty
/// value is valid (a target without authority).
bool valid_host(std::string_view host) noexcept;

/// The checks on a parsed head, in the order a client most likely needs to hear:
/// method (501), target length (414), target form (400, 501 for CONNECT), Host (400),
/// duplicated Content-Length / Content-Type and Content-Length lists (400).
Refusal validate_head(const RequestHead& head, std::size_t max_target_bytes) noexcept;

/// Raw head bytes (request line through the empty line): obs-fold or whitespace before
/// the first field line (RFC 9112 sections 5.2 and 2.2), which Beast would unfold.
Refusal check_raw_head(std::string_view raw) noexcept;

/// True when `target` of a head is the OPTIONS asterisk-form, which the server answers
/// itself: it concerns the server, not a resource of the application.
bool is_server_options(const RequestHead& head) noexcept;

} // namespace wsgibridge::http
