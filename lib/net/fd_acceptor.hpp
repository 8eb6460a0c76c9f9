// The accept path of the servers that see one request per connection (SCGI, uwsgi, and
// FastCGI behind nginx's default): waits on the io thread until the listening socket is
// readable, then accept4()s connections as plain fds (close-on-exec, never registered
// with the io_context's epoll set), so each connection costs accept4 and nothing more
// before its first read. net::AcceptLoop hands over a Boost.Asio socket instead, whose
// registration and release cost two epoll_ctl calls (and the stream servers' switch
// back to blocking two fcntl calls) per connection; one request per connection pays
// them on every request. Internal.
#pragma once

#include "util/unique_fd.hpp"
#include "wsgibridge/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <string>

namespace wsgibridge::net {

class FdAcceptor
{
public:
    /// Accepts on a duplicate of `listen_fd` (which stays the caller's), made
    /// non-blocking (as net::AcceptLoop's acceptor already makes it: they share the
    /// open file description). `non_blocking`: the accepted fds are O_NONBLOCK (their
    /// waits are poll()s of the server's own), else blocking. Throws std::system_error.
    FdAcceptor(int listen_fd, std::string name, boost::asio::io_context& io, const Logger& log,
               bool non_blocking = false);

    /// Calls `admit` on the io thread with each accepted fd (the callee owns it), until
    /// close().
    void start(std::function<void(util::UniqueFd)> admit);
    /// Stops accepting. Idempotent; io thread only.
    void close();
    /// When the backlog is empty and `idle()` says nothing else is waiting for the io
    /// thread, wait up to `bound` for the next connection in poll() on the io thread
    /// instead of going back to the io_context: its wait re-arms the listening socket in
    /// the epoll set (an epoll_ctl) every time. A signal or the bound ends the wait.
    /// While `wait_first()` (optional) holds, an idle server waits before accept4 rather
    /// than after its EAGAIN.
    void wait_inline_when(std::function<bool()> idle, std::chrono::milliseconds bound,
                          std::function<bool()> wait_first = {});

private:
    void wait();
    /// `listener_ready`: the reactor just reported the listening socket readable.
    void accept_one(bool listener_ready = false);
    bool may_wait_inline() const;
    bool poll_listener();

    std::string name_;
    const Logger& log_;
    boost::asio::io_context& io_;
    boost::asio::posix::stream_descriptor listener_;
    boost::asio::steady_timer retry_timer_;
    std::function<void(util::UniqueFd)> admit_;
    std::function<bool()> idle_;
    std::chrono::milliseconds idle_bound_{0};
    std::function<bool()> wait_first_;
    int accept_flags_;
    bool closed_ = false;
};

} // namespace wsgibridge::net
