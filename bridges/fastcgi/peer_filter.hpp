// Whom a FastCGI server lets in: the FCGI_WEB_SERVER_ADDRS check. (--bind and the
// listening socket are lib/net/listener.hpp, shared with the HTTP server.)
#pragma once

#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace wsgibridge::fastcgi {

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
