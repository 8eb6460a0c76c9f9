#include "process_manager.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgibridge::cli {

/// fd 0 as mod_fcgid and spawn-fcgi leave it: a listening socket (getsockname works,
/// getpeername says ENOTCONN). A connected socket or a pipe is not one.
bool fd0_is_listening_socket() noexcept
{
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(0, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
    len = sizeof ss;
    return ::getpeername(0, reinterpret_cast<sockaddr*>(&ss), &len) != 0 && errno == ENOTCONN;
}

/// systemd socket activation: the first passed socket (fd 3), for this process only.
int systemd_listen_fd() noexcept
{
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    if (!pid || !fds || std::atol(pid) != static_cast<long>(::getpid()) || std::atoi(fds) < 1)
        return -1;
    // Children (subprocesses of the app) must not believe the sockets are theirs.
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    return 3;
}

bool systemd_listen_fd_present() noexcept
{
    const char* pid = std::getenv("LISTEN_PID");
    return pid && std::atol(pid) == static_cast<long>(::getpid()) && std::getenv("LISTEN_FDS");
}

/// spawn-fcgi -C N exports PHP_FCGI_CHILDREN=N for a server that forks N children on
/// the socket it was given (PHP does); 0 means "serve in this process". Unset afterwards
/// so the application's own child processes never read it. Bad values: one process.
unsigned php_fcgi_children(const Logger& log)
{
    const char* text = std::getenv("PHP_FCGI_CHILDREN");
    if (!text) return 1;
    std::string v(text); // a copy: unsetenv() may release the original
    unsigned n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    ::unsetenv("PHP_FCGI_CHILDREN");
    if (ec != std::errc{} || end != v.data() + v.size() || n > 256) {
        log.warning(concat("PHP_FCGI_CHILDREN='", v, "' is not a count from 0 to 256; serving ",
                           "with one process"));
        return 1;
    }
    return n == 0 ? 1 : n;
}

} // namespace wsgibridge::cli
