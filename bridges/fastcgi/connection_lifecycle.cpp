// The life of a connection (io thread): where ready requests run (worker pool or,
// with one thread, inline on the io thread), and how the connection ends (peer gone,
// graceful stop, drain before close, forced close).
#include "connection.hpp"

#include <boost/asio/post.hpp>
#include <cerrno>
#include <sys/socket.h>

namespace wsgibridge::fastcgi {

bool Connection::can_run_inline(const RequestState& st) const
{
    // With one worker thread requests are serialized anyway; running one whose body
    // is all here on the io thread saves two thread hand-offs per request. Never while
    // the worker runs another (wsgi.multithread is false), never with a body still to
    // come (the io thread is the one that would read it).
    return context_.options.threads == 1 && context_.pool_busy == 0 && st.body->complete();
}

void Connection::start_pending()
{
    // Started once the whole read was parsed, so a GET's empty STDIN, usually in the
    // same read as its PARAMS, is known before choosing where it runs.
    while (!pending_.empty()) {
        auto st = std::move(pending_.front());
        pending_.erase(pending_.begin());
        if (st->aborted) continue; // ABORT_REQUEST came in the same read: END_REQUEST is out
        ++context_.requests_in_flight;
        if (!closed_ && can_run_inline(*st)) {
            inline_running_ = true;
            run_request(st);
            inline_running_ = false;
            on_request_done(st);
            recycle(std::move(st));
            continue;
        }
        ++context_.pool_busy;
        boost::asio::post(context_.workers, [self = shared_from_this(), st]() mutable {
            self->run_request(st);
            --self->context_.pool_busy;
            // The state moves on with the "done": the worker keeps no reference to it.
            boost::asio::post(self->context_.io, [self, st = std::move(st)]() mutable {
                self->on_request_done(st);
                self->recycle(std::move(st));
            });
        });
    }
}

void Connection::poll_while_inline()
{
    // A request running inline holds the io thread: between its writes, take in what
    // the web server sent meanwhile (ABORT_REQUEST, a hang-up, other requests' records).
    if (!inline_running_ || closed_ || draining_ || paused_) return;
    for (;;) {
        ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) return on_peer_closed();
        std::span<const char> in(buffer_.data(), static_cast<std::size_t>(n));
        while (!closed_ && !draining_) {
            auto rec = parser_.next(in);
            if (!rec && rec.error() == errc::need_more) break;
            if (!rec || !handle_record(*rec)) return break_connection();
        }
        if (static_cast<std::size_t>(n) < buffer_.size() || closed_ || draining_ || paused_) return;
    }
}

void Connection::on_peer_closed()
{
    peer_closed_ = true;
    // Requests whose body was still coming cannot complete it; the others may still
    // answer (their writes fail if the web server is really gone).
    for (auto& [id, st] : requests_) {
        if (st->body && !st->body->complete()) st->body->fail(errc::peer_gone);
        if (!st->params_done) st->aborted = true;
    }
    for (auto it = requests_.begin(); it != requests_.end();)
        it = it->second->dispatched ? std::next(it) : requests_.erase(it);
    if (requests_.empty()) close_now();
}

void Connection::stop_gracefully()
{
    stopping_ = true;
    if (requests_.empty()) close_now();
}

void Connection::force_close()
{
    for (auto& [id, st] : requests_) {
        st->aborted = true;
        if (st->body) st->body->fail(errc::peer_gone);
    }
    break_connection();
    close_now();
}

void Connection::close_after_drain(bool read_whole)
{
    if (closed_ || draining_) return;
    // The usual case without FCGI_KEEP_CONN: the web server sent the whole request before
    // our answer and nothing more waits to be read, so closing now sends no reset and
    // saves the drain (a timer and two more reads) on every connection. Over a unix
    // socket whose request ended with its empty STDIN record, nothing more is due and
    // even bytes sent anyway could not hurt the answer (Linux hands the peer every byte
    // we wrote before it reports the reset of a close with unread data, where TCP's
    // reset may discard them): no look at the socket first.
    char probe;
    bool nothing_waits = family_ == AF_UNIX && read_whole;
    if (requests_.empty() && !paused_ &&
        (nothing_waits || (::recv(fd_, &probe, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
                           (errno == EAGAIN || errno == EWOULDBLOCK)))) {
        // The FIN goes out now even while a worker still holds the connection (and so
        // the fd) for a moment; with no other owner the close right after sends it.
        if (weak_from_this().use_count() > 1) ::shutdown(fd_, SHUT_WR);
        return close_now();
    }
    draining_ = true;
    ::shutdown(fd_, SHUT_WR);
    if (!drain_timer_) drain_timer_.emplace(context_.io);
    drain_timer_->expires_after(
        std::min(context_.options.limits.io_timeout, std::chrono::milliseconds(5000)));
    drain_timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->close_now();
    });
    if (peer_closed_) return close_now();
    paused_ = false;
    read_more();
}

void Connection::close_now()
{
    if (closed_) return;
    closed_ = true;
    pending_.clear();
    if (drain_timer_) drain_timer_->cancel();
    boost::system::error_code ignored;
    // cancel, not close: workers may still hold this connection and write to the fd;
    // the fd is closed with the last reference (a shutdown makes their writes fail).
    if (socket_) socket_->cancel(ignored);
    if (!requests_.empty()) {
        for (auto& [id, st] : requests_) {
            st->aborted = true;
            if (st->body) st->body->fail(errc::peer_gone);
        }
        break_connection();
    }
    requests_.clear();
}

void Connection::break_connection() noexcept
{
    broken_ = true;
    ::shutdown(fd_, SHUT_RDWR);
}

} // namespace wsgibridge::fastcgi
