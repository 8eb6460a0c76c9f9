// The responses the front end answers by itself (the application never sees these
// requests): 400, 404, 408, 413, 431, 500, 501, 505. Internal.
#pragma once

#include "http/response_sink.hpp"

#include <string_view>
#include <system_error>

namespace wsgibridge::http {

/// A short text/plain response through `sink` (never started before).
void send_canned(HttpResponseSink& sink, int code);

/// The log line for a request refused with `reason` (model/refusal.hpp), naming the
/// option that governs the limit: "HTTP request from 127.0.0.1:5000: refused with 431:
/// request head over --max-header-bytes (65536 bytes)".
std::string refusal_message(std::error_code reason, std::string_view peer, const Limits& limits,
                            std::string_view detail);

} // namespace wsgibridge::http
