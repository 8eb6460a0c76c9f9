// Limits every front end enforces, with the defaults documented in the README. A
// request over a limit is answered (413, 431, 408, 400) and logged with the name of the
// option that governs it; it never reaches the application.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace wsgibridge {

struct Limits
{
    /// --max-header-bytes: request line + header block (HTTP), all FCGI_PARAMS (FastCGI),
    /// or the CGI environment. 431 above it. nginx allows 4 x 8 KiB by default; 64 KiB
    /// leaves room for big cookies.
    std::size_t max_header_bytes = 64 * 1024;
    /// --max-target-bytes: the request-target of an HTTP request line. 414 above it
    /// (nginx and Apache answer 414 past about 8 KiB too).
    std::size_t max_target_bytes = 8 * 1024;
    /// --max-header-count: number of header fields. 431 above it (gunicorn: 100).
    std::size_t max_header_count = 100;
    /// --max-body: request body bytes. 413 above it.
    std::uint64_t max_body_bytes = 100ull * 1024 * 1024;
    /// --header-timeout: time allowed to receive a complete request head. 408 then close.
    std::chrono::milliseconds header_timeout{10'000};
    /// --keepalive-timeout: idle time between requests on a kept-alive connection.
    std::chrono::milliseconds idle_timeout{15'000};
    /// --io-timeout: a body read or a response write that makes no progress this long fails.
    std::chrono::milliseconds io_timeout{60'000};
    /// --max-drain: unread body bytes the server reads and discards after the
    /// application returned, so the client sees the response instead of a reset.
    std::uint64_t max_drain_bytes = 4ull * 1024 * 1024;
};

} // namespace wsgibridge
