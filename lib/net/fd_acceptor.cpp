#include "net/fd_acceptor.hpp"

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <system_error>

namespace wsgibridge::net {

FdAcceptor::FdAcceptor(int listen_fd, std::string name, boost::asio::io_context& io,
                       const Logger& log, bool non_blocking)
    : name_(std::move(name)), log_(log), io_(io), listener_(io), retry_timer_(io),
      accept_flags_(SOCK_CLOEXEC | (non_blocking ? SOCK_NONBLOCK : 0))
{
    util::UniqueFd fd(::fcntl(listen_fd, F_DUPFD_CLOEXEC, 3));
    if (!fd) throw std::system_error(errno, std::generic_category(), "dup listening socket");
    if (::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK) != 0)
        throw std::system_error(errno, std::generic_category(), "non-blocking listening socket");
    listener_.assign(fd.release());
}

void FdAcceptor::start(std::function<void(util::UniqueFd)> admit)
{
    admit_ = std::move(admit);
    accept_one();
}

void FdAcceptor::wait()
{
    listener_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                         [this](const boost::system::error_code& ec) {
                             if (!ec && !closed_) accept_one(true);
                         });
}

// Up to a few connections per handler, then back to the io_context: a signal (graceful
// stop) is seen between two batches even while the backlog never empties, and a busy
// server does not pay the reactor's poll for every connection. Until accept4 says
// EAGAIN the socket is not waited on: the reactor reports a readiness edge once, and
// connections already queued would wait for the next one. An idle server may wait
// inline (wait_inline_when) once after each connection: a web server that sends one
// request per connection, one at a time (mod_fcgid), is then served without the
// io_context between two of them, and the batch still ends every few connections.
// When the server expects the backlog empty (wait_first: its web server connects only
// once it is done with the previous connection), the wait comes before accept4, whose
// EAGAIN is then known in advance.
void FdAcceptor::accept_one(bool listener_ready)
{
    constexpr int batch = 8;
    bool waited_inline = listener_ready;
    for (int i = 0; i < batch && !closed_; ++i) {
        if (!waited_inline && wait_first_ && wait_first_() && may_wait_inline()) {
            waited_inline = true;
            if (!poll_listener()) return wait();
        }
        // The stream servers ask no SOCK_NONBLOCK: they serve with blocking reads and
        // writes, each wait bounded by poll (bridges/stream/connection.cpp). Linux does
        // not carry the listening socket's O_NONBLOCK over to the accepted one (accept(2)).
        int fd = ::accept4(listener_.native_handle(), nullptr, nullptr, accept_flags_);
        if (fd >= 0) {
            admit_(util::UniqueFd(fd));
            waited_inline = false;
            continue;
        }
        switch (errno) {
        case EAGAIN:
            if (!waited_inline && may_wait_inline()) {
                waited_inline = true;
                if (poll_listener()) continue;
            }
            return wait();
        case EINTR:
        case ECONNABORTED: // the peer left while queued
        case EPROTO:
            continue;
        default:
            // EMFILE and friends: try again shortly instead of spinning.
            log_.warning(concat(name_, ": accept failed: ", std::strerror(errno)));
            retry_timer_.expires_after(std::chrono::milliseconds(100));
            retry_timer_.async_wait([this](const boost::system::error_code& ec) {
                if (!ec && !closed_) accept_one();
            });
            return;
        }
    }
    if (!closed_) boost::asio::post(io_, [this] { accept_one(); });
}

void FdAcceptor::wait_inline_when(std::function<bool()> idle, std::chrono::milliseconds bound,
                                  std::function<bool()> wait_first)
{
    idle_ = std::move(idle);
    idle_bound_ = bound;
    wait_first_ = std::move(wait_first);
}

bool FdAcceptor::may_wait_inline() const
{
    return idle_ && idle_();
}

bool FdAcceptor::poll_listener()
{
    pollfd p{listener_.native_handle(), POLLIN, 0};
    // EINTR (a signal: its handler runs in the io_context) and the bound both end it.
    return ::poll(&p, 1, static_cast<int>(idle_bound_.count())) > 0;
}

void FdAcceptor::close()
{
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    listener_.close(ignored);
    retry_timer_.cancel();
}

} // namespace wsgibridge::net
