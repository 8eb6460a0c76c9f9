#include "listener.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>

namespace wsgibridge::fastcgi {
namespace {

[[noreturn]] void fail(const std::string& what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

int listen_on(int family, const sockaddr* addr, socklen_t len, std::string_view bind, int backlog)
{
    int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket");
    int one = 1;
    if (family != AF_UNIX) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, addr, len) != 0 || ::listen(fd, backlog) != 0) {
        int saved = errno;
        ::close(fd);
        errno = saved;
        fail("cannot listen on " + std::string(bind));
    }
    return fd;
}

int open_unix(std::string_view bind, std::string_view path, unsigned mode, int backlog)
{
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof a.sun_path)
        throw std::invalid_argument("--bind: bad unix socket path in '" + std::string(bind) + "'");
    std::memcpy(a.sun_path, path.data(), path.size());
    struct stat st
    {
    };
    // A socket file left by a previous run would make bind fail: replace it (only a
    // socket, never a regular file).
    if (::lstat(a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(a.sun_path);
    int fd = listen_on(AF_UNIX, reinterpret_cast<sockaddr*>(&a), sizeof a, bind, backlog);
    if (mode != 0 && ::chmod(a.sun_path, static_cast<mode_t>(mode)) != 0) {
        int saved = errno;
        ::close(fd);
        errno = saved;
        fail("--socket-mode: chmod " + std::string(path));
    }
    return fd;
}

} // namespace

int open_listener(std::string_view bind, unsigned socket_mode, int backlog)
{
    if (bind.starts_with("unix:")) return open_unix(bind, bind.substr(5), socket_mode, backlog);
    auto colon = bind.rfind(':');
    if (colon == std::string_view::npos)
        throw std::invalid_argument("--bind: expected unix:/path, HOST:PORT or [V6]:PORT, got '" +
                                    std::string(bind) + "'");
    std::string_view host = bind.substr(0, colon), port_text = bind.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
        throw std::invalid_argument("--bind: bad port in '" + std::string(bind) + "'");
    if (host.starts_with('[') && host.ends_with(']')) {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(static_cast<std::uint16_t>(port));
        std::string h(host.substr(1, host.size() - 2));
        if (::inet_pton(AF_INET6, h.c_str(), &a.sin6_addr) != 1)
            throw std::invalid_argument("--bind: bad IPv6 address in '" + std::string(bind) + "'");
        return listen_on(AF_INET6, reinterpret_cast<sockaddr*>(&a), sizeof a, bind, backlog);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    std::string h = host.empty() ? "0.0.0.0" : std::string(host);
    if (h == "localhost") h = "127.0.0.1";
    if (::inet_pton(AF_INET, h.c_str(), &a.sin_addr) != 1)
        throw std::invalid_argument("--bind: bad IPv4 address in '" + std::string(bind) +
                                    "' (use [::1]:PORT for IPv6)");
    return listen_on(AF_INET, reinterpret_cast<sockaddr*>(&a), sizeof a, bind, backlog);
}

std::string describe_local(int fd)
{
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
    char text[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        return std::string(text) + ":" + std::to_string(ntohs(a->sin_port));
    }
    if (ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        return "[" + std::string(text) + "]:" + std::to_string(ntohs(a->sin6_port));
    }
    if (ss.ss_family == AF_UNIX)
        return "unix:" + std::string(reinterpret_cast<sockaddr_un*>(&ss)->sun_path);
    return "?";
}

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
