// The listening socket shared by both servers, for a parent that forks workers: it opens
// the socket once, each worker builds its HttpServer or FastcgiServer on it (`listen_fd`).
#pragma once

#include "export.hpp"

#include <string>

namespace wsgibridge {

/// Binds and listens on "unix:/path", "host:port" (a name is resolved; the first address
/// wins), "[v6]:port" or ":port" (every IPv4 address). TCP sockets get SO_REUSEADDR; a
/// unix socket file left by a dead server is replaced (a live one is "address in use"),
/// and `socket_mode` (if not 0) is applied to it. The fd is CLOEXEC and the caller's: it
/// closes it and removes a unix socket file when done. Throws std::invalid_argument for a
/// malformed or unresolvable `bind`, std::system_error when the socket cannot be made.
WSGIBRIDGE_API int open_listener(const std::string& bind, unsigned socket_mode);

/// "127.0.0.1:8000", "[::1]:8000" or "unix:/path": a listening socket's own address.
WSGIBRIDGE_API std::string describe_listener(int fd);

} // namespace wsgibridge
