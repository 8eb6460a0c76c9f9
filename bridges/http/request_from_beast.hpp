// Beast request head -> the one Request model (views only), plus the framing checks
// Beast leaves to us. Pure: no socket, unit-tested with hand-made heads. Internal.
#pragma once

#include "http/arena.hpp"
#include "wsgibridge/error.hpp"
#include "wsgibridge/request.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <system_error>

namespace wsgibridge::http {

namespace bhttp = boost::beast::http;

using Fields = bhttp::basic_fields<ArenaAllocator<char>>;
using RequestHead = bhttp::header<true, Fields>;
/// The body is pulled into the application's buffer (buffer_body): never buffered whole.
using RequestParser = bhttp::parser<true, bhttp::buffer_body, ArenaAllocator<char>>;

/// Addresses of one connection, formatted once when it is accepted.
struct ConnectionInfo
{
    std::string local_addr;  ///< "127.0.0.1", "::1", or the socket path
    std::string local_port;  ///< "8000", "" on a unix socket
    std::string remote_addr; ///< "" on a unix socket
    std::string remote_port;
    bool unix_socket = false;
};

/// The addresses of an accepted socket (getsockname/getpeername).
/// `shared_local`: the listener's own address when every connection has it (not a
/// wildcard bind); `peer`: the address accept() returned. Taken from there instead of
/// asking the kernel per connection.
ConnectionInfo connection_info(int fd, const ConnectionInfo* shared_local = nullptr,
                               const sockaddr_storage* peer = nullptr);

/// What Beast accepts but we must refuse (RFC 9112 §6.1, §6.3), checked before the
/// application is called:
///   errc::unsupported_version            not HTTP/1.0 or HTTP/1.1 (505)
///   errc::too_many_headers               more than `max_header_count` fields (431)
///   errc::bad_content_length             Content-Length together with Transfer-Encoding (400)
///   errc::unsupported_transfer_encoding  a Transfer-Encoding other than "chunked" (501)
std::error_code check_head(const RequestHead& head, std::size_t max_header_count) noexcept;

/// True when the request line in `start` (the bytes received) ends in a well-formed
/// "HTTP/d.d": Beast says bad_version for both a garbled and an unsupported version,
/// and only the second one is a 505 (RFC 9110 §15.6.6).
bool well_formed_version(std::string_view start) noexcept;

/// True for "Expect: 100-continue" on an HTTP/1.1 request.
bool expects_continue(const RequestHead& head) noexcept;

/// Fills `req` with views into `head`, `info` and `path_buf` (cleared first; it holds the
/// percent-decoded path). Returns false when the path lies outside `mount` (404).
bool request_from_beast(const RequestHead& head, const ConnectionInfo& info, std::string_view mount,
                        std::string& path_buf, Request& req);

/// The Host header without its port ("[::1]:80" -> "[::1]"), or "" when absent.
std::string_view host_without_port(std::string_view host) noexcept;

} // namespace wsgibridge::http
