// The stream servers' accept path: waits on the io thread until the listening socket
// is readable, then accept4()s one connection per io handler as a plain blocking fd
// (close-on-exec, never registered with the io_context's epoll set), so each connection
// costs accept4 and nothing more before its first read. net::AcceptLoop hands over a
// Boost.Asio socket instead, whose registration and release cost two epoll_ctl calls
// and the switch back to blocking two fcntl calls per connection; one request per
// connection pays them on every request. Internal.
#pragma once

#include "util/unique_fd.hpp"
#include "wsgibridge/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <string>

namespace wsgibridge::stream {

class Acceptor
{
public:
    /// Accepts on a duplicate of `listen_fd` (which stays the caller's), made
    /// non-blocking (as net::AcceptLoop's acceptor already makes it: they share the
    /// open file description). Throws std::system_error.
    Acceptor(int listen_fd, std::string name, boost::asio::io_context& io, const Logger& log);

    /// Calls `admit` on the io thread with each accepted fd (the callee owns it), until
    /// close().
    void start(std::function<void(util::UniqueFd)> admit);
    /// Stops accepting. Idempotent; io thread only.
    void close();

private:
    void wait();
    void accept_one();

    std::string name_;
    const Logger& log_;
    boost::asio::io_context& io_;
    boost::asio::posix::stream_descriptor listener_;
    boost::asio::steady_timer retry_timer_;
    std::function<void(util::UniqueFd)> admit_;
    bool closed_ = false;
};

} // namespace wsgibridge::stream
