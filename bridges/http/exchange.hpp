// The state one request/response exchange shares between its BodySource (which may
// have to send "100 Continue") and its ResponseSink (which must know whether the
// request body still sits unread on the socket). Owned by the session, reset per
// request; the two views are short-lived objects on the session's stack. Internal.
#pragma once

#include "http/chunk_guard.hpp"
#include "http/request_from_beast.hpp"
#include "http/transport.hpp"
#include "wsgibridge/limits.hpp"
#include "wsgibridge/log.hpp"

#include <atomic>
#include <boost/beast/core/flat_buffer.hpp>
#include <string_view>
#include <system_error>

namespace wsgibridge::http {

struct Exchange
{
    int fd = -1;
    SSL* ssl = nullptr; ///< the connection's TLS, or null (plain)
    const Limits* limits = nullptr;
    const Logger* log = nullptr;
    RequestParser* parser = nullptr;
    boost::beast::flat_buffer* buffer = nullptr;
    const ChunkGuard* chunks = nullptr;          ///< why a chunked body was refused, if it was
    std::string_view peer;                       ///< "127.0.0.1:4711" for log lines
    const std::atomic<bool>* stopping = nullptr; ///< the server is shutting down

    bool http10 = false;
    bool keep_alive = true;       ///< the client allows another request on this connection
    bool expect_continue = false; ///< "Expect: 100-continue" and no 100 sent yet
    bool continue_sent = false;
    bool head_sent = false;     ///< response bytes reached the socket
    bool must_close = false;    ///< framing lost or the client gone: close afterwards
    bool wants_more = false;    ///< the parser answered need_more to the buffered bytes
    std::error_code body_error; ///< the request body failed (too large, bad chunk, ...)

    Transport transport() const noexcept { return {fd, ssl}; }
};

} // namespace wsgibridge::http
