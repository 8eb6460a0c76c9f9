// Where a FastCGI server listens and whom it lets in: parsing --bind, creating or
// adopting the listening socket, and the FCGI_WEB_SERVER_ADDRS check.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <vector>

namespace wsgibridge::fastcgi {

/// Creates a listening socket for "unix:/path", "host:port", "[v6]:port" or ":port".
/// A stale unix socket file is replaced; `socket_mode` (if not 0) is applied to it.
/// Throws std::system_error or std::invalid_argument.
int open_listener(std::string_view bind, unsigned socket_mode, int backlog = 1024);

/// "127.0.0.1:9000", "[::1]:9000" or "unix:/path" for a socket's own address.
std::string describe_local(int fd);

class PeerFilter
{
public:
    /// Parses FCGI_WEB_SERVER_ADDRS ("127.0.0.1,::1"; "" = everybody). Throws
    /// std::invalid_argument naming a bad entry.
    explicit PeerFilter(std::string_view list);
    bool active() const noexcept { return !allowed_.empty(); }
    /// True when the peer of the connected socket `fd` may talk to us: every AF_UNIX
    /// peer (the socket file's permissions guard it), TCP peers (IPv4 and IPv6, an
    /// IPv4-mapped IPv6 address counting as IPv4) only when listed.
    bool allows(int fd, std::string& peer) const;
    bool allows(const boost::asio::ip::address& addr) const noexcept;

private:
    std::vector<boost::asio::ip::address> allowed_;
};

} // namespace wsgibridge::fastcgi
