// The listening half every socket server shares (FastCGI, SCGI, uwsgi): the socket
// bound for --bind or inherited, the stop signals, and the unix socket file removed at
// the end. Accepting is net::FdAcceptor's (accept4 and a first read before any event
// loop registration). Internal.
#pragma once

#include "wsgibridge/listener.hpp"
#include "wsgibridge/log.hpp"

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <optional>
#include <string>

namespace wsgibridge::net {

class AcceptLoop
{
public:
    /// Adopts `listen_fd` when >= 0 (a duplicate is taken; the inherited fd stays open),
    /// or binds `bind` (with `socket_mode` for a unix socket). `name` ("FastCGI")
    /// prefixes the error when there is no socket at all. Throws std::invalid_argument
    /// (bad `bind`, no socket at all) or std::system_error.
    AcceptLoop(std::string name, const std::string& bind, int listen_fd, unsigned socket_mode,
               boost::asio::io_context& io);
    ~AcceptLoop(); ///< removes the unix socket file it created (Listener)
    AcceptLoop(const AcceptLoop&) = delete;
    AcceptLoop& operator=(const AcceptLoop&) = delete;

    /// Calls `on_signal` (once) on SIGTERM, SIGINT or SIGUSR1.
    void handle_signals(std::function<void(int)> on_signal);
    /// Closes its duplicate of the listener and stops listening for signals. Idempotent;
    /// io thread only.
    void close();
    bool closed() const noexcept { return closed_; }

    int listen_fd() const noexcept { return listen_fd_; }
    /// A TCP listener (not a unix socket).
    bool tcp() const noexcept { return tcp_; }
    /// TCP_NODELAY is set on the listener, and Linux copies it to every accepted socket:
    /// connections need no setsockopt of their own.
    bool nodelay_inherited() const noexcept { return nodelay_inherited_; }
    /// "127.0.0.1:9000", "[::1]:9000" or "unix:/path".
    std::string local_endpoint() const;

private:
    Listener owned_; ///< the socket bound for `bind`, its file removed at the end
    int listen_fd_ = -1;
    std::optional<boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol>>
        acceptor_;
    boost::asio::signal_set signals_;
    bool closed_ = false;
    bool tcp_ = false;
    bool nodelay_inherited_ = false;
};

} // namespace wsgibridge::net
