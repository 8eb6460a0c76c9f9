// The HTTP/1.1 front end (Boost.Beast), usable from any C++ program: give it a
// RequestHandler (a WsgiApp, or your own) and run it.
//
// Lifetimes: the server borrows the handler, the Logger and the AccessLog given to its
// constructor (the options are copied): they must outlive the server object.
#pragma once

#include "export.hpp"
#include "handler.hpp"
#include "log.hpp"
#include "server_options.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wsgibridge {

/// The contents of HttpServerOptions' certfile and keyfile ("" key: it is in the
/// certificate's text), read by the program beforehand.
struct TlsPem
{
    std::string certificate;
    std::string key;
};

/// ServerOptions (bind, listen_fd, socket_mode, threads, mount, limits, handle_signals)
/// with HTTP's defaults: bind 127.0.0.1:8000, and a unix socket 0666 so a web server
/// running as another user can connect. `threads`: requests run at once. One thread
/// does everything while requests do not block; when every running one has been in a
/// request for a 2 ms tick without any ending, another takes over, up to this many.
/// Slow clients hold no thread while their head trickles in. Requests outside `mount` get 404.
struct HttpServerOptions : ServerOptions
{
    HttpServerOptions()
    {
        bind = "127.0.0.1:8000";
        socket_mode = 0666;
    }
    /// Peers whose Forwarded / X-Forwarded-* headers are believed (--forwarded-allow-ips):
    /// addresses and CIDR ranges, comma-separated, "*" for any; unix-socket peers are
    /// always trusted. Others' proxy headers are ordinary headers.
    std::string forwarded_allow_ips = "127.0.0.1,::1";
    /// "PREFIX=DIR" (--static-map, repeatable): files under DIR answered without the
    /// handler, with sendfile, conditional requests and ranges.
    std::vector<std::string> static_map;
    /// HTTPS (--certfile, --keyfile): a PEM file with the certificate first, then its
    /// intermediates, and one with the private key ("" = it is in `certfile`). TLS 1.2
    /// and 1.3, ALPN http/1.1; the environ gets wsgi.url_scheme "https" and HTTPS=on.
    /// Read when the server is constructed: a new HttpServer (a new worker) reads them
    /// again.
    std::string certfile;
    std::string keyfile;
    /// Set: the files' contents, used instead of reading certfile and keyfile (which
    /// then only name them in messages). wsgi-http reads them as root before --user
    /// drops privileges, so a key only root may read still serves.
    std::optional<TlsPem> tls_pem;
    std::string server_software = "wsgi-bridge";
    /// TCP listeners (--defer-accept): the kernel hands a connection over only once its
    /// first bytes arrive, or after about this long (TCP_DEFER_ACCEPT, tcp(7)), as uWSGI
    /// does by default and nginx's `listen ... deferred`. The request is then read at once,
    /// and a client that connects and sends nothing (a health check, a browser's
    /// preconnect) costs no descriptor and no wake-up meanwhile; its --header-timeout starts
    /// when it is handed over. 0 turns it off.
    std::chrono::seconds defer_accept{1};
};

class WSGIBRIDGE_API HttpServer
{
public:
    /// Binds the listening socket, or adopts `listen_fd` (throws std::invalid_argument for
    /// a malformed `bind` or an unusable certificate or key, std::system_error when it
    /// cannot listen). Sets
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
