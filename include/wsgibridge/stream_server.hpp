// The SCGI and uwsgi front ends, usable from any C++ program: one request per
// connection (a head of CGI variables, the body, the response, close), each connection
// served start to end on one thread (the accepting one, or one of a pool). The web server (nginx
// scgi_pass/uwsgi_pass, Apache mod_proxy_scgi/mod_proxy_uwsgi, lighttpd mod_scgi)
// buffers slow clients, so a blocking read per connection costs one thread, no more.
//
// Lifetimes: the server borrows the handler, the Logger and the AccessLog given to its
// constructor (the options are copied): they must outlive the server object.
#pragma once

#include "export.hpp"
#include "handler.hpp"
#include "log.hpp"
#include "server_options.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace wsgibridge {

enum class StreamProtocol {
    /// SCGI 1.0: netstring head, CGI-style "Status:" response.
    scgi,
    /// uwsgi (modifier1 0): packed vars, a raw "HTTP/1.1 200 OK" response as uWSGI sends.
    uwsgi,
};

/// ServerOptions (bind, listen_fd, socket_mode, threads, mount, limits, handle_signals)
/// and SCGI/uwsgi's own. `threads`: connections served at once, each on its own thread
/// (with 1, the thread that accepts serves each connection itself: no hand-off).
/// `mount` is for servers that send no PATH_INFO (nginx's stock scgi_params and
/// uwsgi_params): "" = derive PATH_INFO from REQUEST_URI minus SCRIPT_NAME; uwsgi's
/// UWSGI_SCRIPT_NAME overrides it per request. limits.max_header_bytes bounds the SCGI
/// netstring or the uwsgi vars block (431 above).
struct StreamServerOptions : ServerOptions
{
    StreamProtocol protocol = StreamProtocol::scgi;
    bool promote_redirect_authorization = false;
    /// Connections accepted and waiting or served at once; more are closed at accept.
    unsigned max_connections = 1024;
    /// Stop (gracefully) after this many requests; 0 = never.
    std::uint64_t max_requests = 0;
};

class WSGIBRIDGE_API StreamServer
{
public:
    /// Binds (or adopts) the listening socket. Throws std::system_error or
    /// std::invalid_argument (bad `bind`).
    StreamServer(const StreamServerOptions& options, RequestHandler& handler, const Logger& log,
                 const AccessLog& access_log);
    ~StreamServer();
    StreamServer(const StreamServer&) = delete;
    StreamServer& operator=(const StreamServer&) = delete;

    /// "127.0.0.1:41234" or "unix:/path".
    std::string local_endpoint() const;
    /// Serves until stop(), a handled signal or max_requests; returns once the
    /// connections in flight are done.
    void run();
    /// Thread-safe: stop accepting, finish the connections in flight, return from run().
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The protocol's name for logs: "SCGI" or "uwsgi".
WSGIBRIDGE_API std::string_view protocol_name(StreamProtocol protocol) noexcept;

} // namespace wsgibridge
