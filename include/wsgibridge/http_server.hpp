// The HTTP/1.1 front end (Boost.Beast), usable from any C++ program: give it a
// RequestHandler (a WsgiApp, or your own) and run it.
#pragma once

#include "export.hpp"

#include <memory>
#include <string>
#include <vector>

#include "handler.hpp"
#include "limits.hpp"
#include "log.hpp"

namespace wsgibridge {

struct HttpServerOptions {
    /// "127.0.0.1:8000", "[::1]:8000", ":8000" (all IPv4 addresses) or "unix:/path/to.sock".
    std::string bind = "127.0.0.1:8000";
    /// An inherited listening socket (e.g. from open_listener() in a parent that forks
    /// workers, see listener.hpp): served instead of binding `bind`. Not closed by the
    /// server, and its unix socket file is not removed.
    int listen_fd = -1;
    /// Permissions of a unix socket file (--socket-mode); 0666 lets a web server running
    /// as another user connect; 0 leaves the umask's.
    unsigned socket_mode = 0666;
    /// Requests run at once: threads that read requests and call the handler. One thread
    /// does everything while requests do not block; when every running one has been in a
    /// request for a 2 ms tick without any ending, another takes over, up to this many.
    unsigned threads = 4;
    /// SCRIPT_NAME: the prefix the application is mounted at ("" = root). Requests
    /// outside it get 404.
    std::string mount;
    /// Peers whose Forwarded / X-Forwarded-* headers are believed (--forwarded-allow-ips):
    /// addresses and CIDR ranges, comma-separated, "*" for any; unix-socket peers are
    /// always trusted. Others' proxy headers are ordinary headers.
    std::string forwarded_allow_ips = "127.0.0.1,::1";
    /// "PREFIX=DIR" (--static-map, repeatable): files under DIR answered without the
    /// handler, with sendfile, conditional requests and ranges.
    std::vector<std::string> static_map;
    Limits limits;
    /// Stop gracefully on SIGTERM and SIGINT (finish in-flight requests).
    /// Off by default: a program embedding the server owns its signal handling; the
    /// wsgi-* programs turn it on.
    bool handle_signals = false;
    std::string server_software = "wsgi-bridge";
};

class WSGIBRIDGE_API HttpServer
{
public:
    /// Binds the listening socket, or adopts `listen_fd` (throws std::invalid_argument for
    /// a malformed `bind`, std::system_error when it cannot listen). Sets
    /// SIGPIPE to ignored for the process: sendfile(2) has no MSG_NOSIGNAL, and a client
    /// hanging up must cost an EPIPE, not the process.
    HttpServer(const HttpServerOptions& options, RequestHandler& handler, const Logger& log,
               const AccessLog& access_log);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// The bound address, e.g. "127.0.0.1:41234" (useful after binding port 0).
    std::string local_endpoint() const;
    /// Serves until stop() or a handled signal; returns once in-flight requests ended.
    void run();
    /// Thread-safe: stop accepting, finish in-flight requests, return from run().
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace wsgibridge
