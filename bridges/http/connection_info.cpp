// Formatting a connection's addresses once, when it is accepted.
#include "http/request_from_beast.hpp"

#include <arpa/inet.h>
#include <array>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace wsgibridge::http {
namespace {

void describe(const sockaddr_storage& ss, std::string& addr, std::string& port, bool& is_unix)
{
    std::array<char, INET6_ADDRSTRLEN> text{};
    if (ss.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
        addr = ::inet_ntop(AF_INET, &a.sin_addr, text.data(), text.size());
        port = std::to_string(ntohs(a.sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
        addr = ::inet_ntop(AF_INET6, &a.sin6_addr, text.data(), text.size());
        port = std::to_string(ntohs(a.sin6_port));
    } else if (ss.ss_family == AF_UNIX) {
        addr = reinterpret_cast<const sockaddr_un&>(ss).sun_path;
        port.clear();
        is_unix = true;
    }
}

} // namespace

ConnectionInfo connection_info(int fd)
{
    ConnectionInfo info;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
        describe(ss, info.local_addr, info.local_port, info.unix_socket);
    len = sizeof ss;
    ss = {};
    bool ignored = false;
    if (!info.unix_socket && ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
        describe(ss, info.remote_addr, info.remote_port, ignored);
    return info;
}

} // namespace wsgibridge::http
