// The listening socket shared by the servers, for a parent that forks workers: it opens
// the socket once, each worker builds its HttpServer, FastcgiServer or StreamServer on it
// (`listen_fd`, borrowed: the Listener stays its one owner).
#pragma once

#include "export.hpp"
#include "unique_fd.hpp"

#include <string>

namespace wsgibridge {

/// Owns a listening socket: closes it on destruction and removes its unix socket file,
/// in the process that opened it only (a forked worker that unwinds leaves the file to
/// the parent and the other workers). Move-only.
class WSGIBRIDGE_API Listener
{
public:
    Listener() noexcept = default;
    /// Binds and listens on "unix:/path", "host:port" (a name is resolved; the first
    /// address wins), "[v6]:port" or ":port" (every IPv4 address). TCP sockets get
    /// SO_REUSEADDR; a unix socket file left by a dead server is replaced (a live one is
    /// "address in use"), and `socket_mode` (if not 0) is applied to it. The fd is
    /// CLOEXEC. Throws std::invalid_argument for a malformed or unresolvable `bind`,
    /// std::system_error when the socket cannot be made.
    Listener(const std::string& bind, unsigned socket_mode);
    ~Listener();
    Listener(Listener&& other) noexcept;
    Listener& operator=(Listener&& other) noexcept;
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    /// The listening socket, still owned by this object: for `listen_fd` of the servers'
    /// options, which borrow it.
    int fd() const noexcept { return fd_.get(); }
    explicit operator bool() const noexcept { return static_cast<bool>(fd_); }
    /// The unix socket file removed on destruction ("" for TCP).
    const std::string& unix_path() const noexcept { return unix_path_; }
    /// "127.0.0.1:8000", "[::1]:8000" or "unix:/path": the socket's own address.
    std::string describe() const;

private:
    void close() noexcept;

    UniqueFd fd_;
    std::string unix_path_;
    int owner_pid_ = 0;
};

/// Listener(bind, socket_mode).
WSGIBRIDGE_API Listener open_listener(const std::string& bind, unsigned socket_mode);

/// "127.0.0.1:8000", "[::1]:8000" or "unix:/path": a listening socket's own address.
WSGIBRIDGE_API std::string describe_listener(int fd);

} // namespace wsgibridge
