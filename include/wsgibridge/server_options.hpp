// What every server front end (HttpServer, FastcgiServer, StreamServer) is told: where
// to listen, how many threads serve, where the application is mounted, the limits, and
// whether it owns the process's signals. Each server's options extend this.
#pragma once

#include "limits.hpp"

#include <string>

namespace wsgibridge {

struct ServerOptions
{
    /// "unix:/path/to.sock", "127.0.0.1:9000", "[::1]:9000" or ":9000" (every IPv4
    /// address); a host name is resolved, its first address taken.
    std::string bind;
    /// An inherited listening socket, served instead of binding `bind` when >= 0: fd 0
    /// under mod_fcgid and spawn-fcgi, or Listener::fd() in a parent that forks workers
    /// (listener.hpp). Borrowed: the server never closes it nor removes its socket file.
    int listen_fd = -1;
    /// Permissions of a unix socket file created for `bind` (--socket-mode, at most
    /// 0777); 0 leaves the umask's.
    unsigned socket_mode = 0;
    /// Threads serving requests (each server says what one thread does).
    unsigned threads = 4;
    /// SCRIPT_NAME: the prefix the application is mounted at ("" = root); each server
    /// says how it splits the path with it.
    std::string mount;
    Limits limits;
    /// Stop gracefully on SIGTERM and SIGINT (FastCGI, SCGI and uwsgi: SIGUSR1 too),
    /// finishing the requests in flight. Off by default: a program embedding a server
    /// owns its signal handling; the wsgi-* programs turn it on.
    bool handle_signals = false;
};

} // namespace wsgibridge
