// Formatting a connection's addresses once, when it is accepted.
#include "http/request_from_beast.hpp"

#include <arpa/inet.h>
#include <array>
#include <charconv>
#include <cstdint>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace wsgibridge::http {
namespace {

/// Dotted decimal, as inet_ntop writes it: glibc's inet_ntop formats IPv4 with sprintf,
/// a tenth of what a new connection costs us in user space.
void ipv4_text(const in_addr& a, std::string& out)
{
    const auto* b = reinterpret_cast<const unsigned char*>(&a.s_addr);
    char text[16];
    char* p = text;
    for (int i = 0; i < 4; ++i) {
        if (i) *p++ = '.';
        p = std::to_chars(p, text + sizeof text, b[i]).ptr;
    }
    out.assign(text, p);
}

void port_text(std::uint16_t port, std::string& out)
{
    char text[8];
    out.assign(text, std::to_chars(text, text + sizeof text, port).ptr);
}

void describe(const sockaddr_storage& ss, std::string& addr, std::string& port, bool& is_unix)
{
    std::array<char, INET6_ADDRSTRLEN> text{};
    if (ss.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
        ipv4_text(a.sin_addr, addr);
        port_text(ntohs(a.sin_port), port);
    } else if (ss.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
        addr = ::inet_ntop(AF_INET6, &a.sin6_addr, text.data(), text.size());
        port_text(ntohs(a.sin6_port), port);
    } else if (ss.ss_family == AF_UNIX) {
        addr = reinterpret_cast<const sockaddr_un&>(ss).sun_path;
        port.clear();
        is_unix = true;
    }
}

} // namespace

ConnectionInfo connection_info(int fd, const ConnectionInfo* shared_local,
                               const sockaddr_storage* peer)
{
    ConnectionInfo info;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (shared_local) {
        info.local_addr = shared_local->local_addr;
        info.local_port = shared_local->local_port;
        info.unix_socket = shared_local->unix_socket;
    } else if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
        describe(ss, info.local_addr, info.local_port, info.unix_socket);
    }
    len = sizeof ss;
    ss = {};
    bool ignored = false;
    if (info.unix_socket) return info;
    if (peer && (peer->ss_family == AF_INET || peer->ss_family == AF_INET6))
        describe(*peer, info.remote_addr, info.remote_port, ignored);
    else if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
        describe(ss, info.remote_addr, info.remote_port, ignored);
    return info;
}

} // namespace wsgibridge::http
