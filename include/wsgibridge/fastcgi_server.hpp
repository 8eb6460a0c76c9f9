// The FastCGI front end, usable from any C++ program: give it a RequestHandler (a
// WsgiApp, or your own) and run it on an inherited listening socket (mod_fcgid,
// spawn-fcgi), a unix socket or a TCP port. Requests of one connection may be
// multiplexed; they run on a pool of worker threads.
//
// Lifetimes: the server borrows the handler, the Logger and the AccessLog given to its
// constructor (the options are copied): they must outlive the server object.
#pragma once

#include "export.hpp"
#include "handler.hpp"
#include "log.hpp"
#include "server_options.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace wsgibridge {

/// ServerOptions (bind, listen_fd, socket_mode, threads, mount, limits, handle_signals)
/// and FastCGI's own. `threads` run requests: with 1, a request whose body has already
/// arrived runs on the io thread itself (no hand-off), one request at a time. `mount`
/// is for web servers that send the whole path as SCRIPT_NAME (nginx's stock
/// fastcgi_params, mod_proxy_fcgi): "" = trust SCRIPT_NAME and PATH_INFO as sent.
struct FastcgiServerOptions : ServerOptions
{
    /// Turn REDIRECT_HTTP_AUTHORIZATION (Apache's rewrite workaround for the stripped
    /// Authorization header) into the Authorization header. Off by default.
    bool promote_redirect_authorization = false;
    /// Connections served at once (FCGI_MAX_CONNS); more are closed at accept.
    unsigned max_connections = 1024;
    /// Requests in flight at once, all connections together (FCGI_MAX_REQS); more get
    /// END_REQUEST{FCGI_OVERLOADED}.
    unsigned max_requests_in_flight = 1024;
    /// Stop (gracefully) after this many requests; 0 = never.
    std::uint64_t max_requests = 0;
    /// FCGI_WEB_SERVER_ADDRS: comma-separated IPv4/IPv6 addresses allowed to connect
    /// over TCP ("" = any). Unix-socket peers are not checked: the file's permissions
    /// guard them.
    std::string web_server_addrs;
    /// wsgi.errors as FCGI_STDERR records, which the web server logs (nginx: "FastCGI
    /// sent in stderr"); false: into our own error log (--log-file) instead.
    bool errors_to_web_server = true;
    /// How long a stop waits for requests in flight before failing them.
    std::chrono::milliseconds shutdown_grace{2000};
};

class WSGIBRIDGE_API FastcgiServer
{
public:
    /// Binds (or adopts) the listening socket. Throws std::system_error or
    /// std::invalid_argument (bad `bind`, bad `web_server_addrs`).
    FastcgiServer(const FastcgiServerOptions& options, RequestHandler& handler, const Logger& log,
                  const AccessLog& access_log);
    ~FastcgiServer();
    FastcgiServer(const FastcgiServer&) = delete;
    FastcgiServer& operator=(const FastcgiServer&) = delete;

    /// "127.0.0.1:41234", "[::1]:9000" or "unix:/path" (useful after binding port 0).
    std::string local_endpoint() const;
    /// Serves until stop(), a handled signal or --max-requests; returns once the
    /// requests in flight ended (or the grace period ran out).
    void run();
    /// Thread-safe: stop accepting, finish in-flight requests, return from run().
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace wsgibridge
