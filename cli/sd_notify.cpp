#include "sd_notify.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>

namespace wsgibridge::cli {

std::string take_notify_socket()
{
    const char* env = std::getenv("NOTIFY_SOCKET");
    std::string path = env ? env : "";
    ::unsetenv("NOTIFY_SOCKET");
    return path;
}

void notify_ready(const std::string& path, const Logger& log) noexcept
{
    if (path.empty()) return;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    // "@name" is an abstract socket: a leading NUL, and the length counts no terminator.
    if ((path[0] != '/' && path[0] != '@') || path.size() >= sizeof addr.sun_path) {
        log.warning(concat("NOTIFY_SOCKET='", path, "' is not a unix socket path; not notifying"));
        return;
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    if (path[0] == '@') addr.sun_path[0] = '\0';
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                      (path[0] == '@' ? 0 : 1));
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log.warning(concat("sd_notify: socket: ", std::strerror(errno)));
        return;
    }
    std::string message = "READY=1\nMAINPID=" + std::to_string(::getpid()) + "\n";
    if (::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), len) < 0)
        log.warning(concat("sd_notify to ", path, ": ", std::strerror(errno)));
    else
        log.debug(concat("sd_notify: READY=1 sent to ", path));
    ::close(fd);
}

} // namespace wsgibridge::cli
