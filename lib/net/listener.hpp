// Parsing --bind and creating the listening socket, for both servers (internal; the
// public face is include/wsgibridge/listener.hpp).
#pragma once

#include "util/unique_fd.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace wsgibridge::net {

/// Where --bind points: a socket address, and for "unix:" the file's path.
struct BindAddress
{
    sockaddr_storage addr{};
    socklen_t length = 0;
    std::string unix_path; ///< empty for TCP
};

/// Parses "unix:/path", "host:port", "[v6]:port" or ":port" (all IPv4 addresses); a host
/// name is resolved and its first address taken. Throws std::invalid_argument naming
/// --bind and what is wrong.
BindAddress resolve_bind(std::string_view bind);

/// Binds and listens (see wsgibridge::open_listener). Throws std::invalid_argument for a
/// bad `bind`, std::system_error (naming the address) when the socket cannot be made.
util::UniqueFd open_listener(std::string_view bind, unsigned socket_mode, int backlog = SOMAXCONN);

/// --socket-mode: octal digits only ("660", "0660"), at most 0777. Only the permission
/// bits matter on a socket file (connecting needs write permission, unix(7)); setuid,
/// setgid and sticky mean nothing there, so a mode above 0777 is a typo ("6600" for
/// "0660"), refused rather than applied. nullopt for anything else.
std::optional<unsigned> parse_socket_mode(std::string_view text) noexcept;

/// "127.0.0.1:9000", "[::1]:9000" or "unix:/path" for a socket's own address; "?" when
/// getsockname fails.
std::string describe_local(int fd);

} // namespace wsgibridge::net
