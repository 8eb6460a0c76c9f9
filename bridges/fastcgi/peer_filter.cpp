#include "peer_filter.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>

namespace wsgibridge::fastcgi {

PeerFilter::PeerFilter(std::string_view list)
{
    while (!list.empty()) {
        auto comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        while (!item.empty() && item.front() == ' ')
            item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ')
            item.remove_suffix(1);
        if (item.empty()) continue;
        boost::system::error_code ec;
        auto addr = boost::asio::ip::make_address(std::string(item), ec);
        if (ec)
            throw std::invalid_argument("FCGI_WEB_SERVER_ADDRS: not an IP address: '" +
                                        std::string(item) + "'");
        allowed_.push_back(addr);
    }
}

bool PeerFilter::allows(const boost::asio::ip::address& addr) const noexcept
{
    auto a = addr;
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
    for (const auto& b : allowed_)
        if (a == b) return true;
    return false;
}

bool PeerFilter::allows(int fd, std::string& peer) const
{
    if (allowed_.empty()) return true;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
    if (ss.ss_family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        boost::asio::ip::address_v4 v4(ntohl(a->sin_addr.s_addr));
        peer = v4.to_string();
        return allows(v4);
    }
    if (ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        boost::asio::ip::address_v6::bytes_type bytes;
        std::memcpy(bytes.data(), &a->sin6_addr, 16);
        boost::asio::ip::address_v6 v6(bytes);
        peer = v6.to_string();
        return allows(v6);
    }
    return true; // AF_UNIX: exempt, as libfcgi does
}

} // namespace wsgibridge::fastcgi
