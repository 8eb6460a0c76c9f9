// The log line for a request a front end refuses by itself (the application never sees
// it), the same words in every front end: who, the status, why, and for a limit the
// option that governs it with its value, so the operator knows what to raise. Internal.
#pragma once

#include "wsgibridge/limits.hpp"

#include <string>
#include <string_view>
#include <system_error>

namespace wsgibridge {

/// "<who>: refused with <status>: <why>". For a limit (errc::header_too_large,
/// too_many_headers, body_too_large, target_too_long, timeout) `detail` says what was
/// too big ("CONTENT_LENGTH 2000000"; empty: a generic subject) and the line ends with
/// "over --max-body (1048576 bytes)"; for the other reasons `detail` is the why.
///   refusal_message("HTTP request from 127.0.0.1:5000", errc::header_too_large, limits, "")
///   -> "HTTP request from 127.0.0.1:5000: refused with 431: request head over
///       --max-header-bytes (65536 bytes)"
std::string refusal_message(std::string_view who, std::error_code reason, const Limits& limits,
                            std::string_view detail);

} // namespace wsgibridge
