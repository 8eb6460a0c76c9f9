// The worker half of a connection: running a request and writing its records.
#include "connection.hpp"
#include "net/write_all.hpp"
#include "record_writer.hpp"
#include "response_sink.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

namespace wsgibridge::fastcgi {

std::error_code Connection::wait_writable()
{
    pollfd p{fd_, POLLOUT, 0};
    auto timeout = static_cast<int>(context_.options.limits.io_timeout.count());
    for (;;) {
        int r = ::poll(&p, 1, timeout);
        if (r > 0) return {};
        if (r == 0) return errc::timeout;
        if (errno != EINTR) return {errno, std::generic_category()};
    }
}

std::error_code Connection::write_locked(std::span<iovec> iov)
{
    if (broken_) return errc::peer_gone;
    auto ec =
        net::write_all(fd_, iov, {.socket = true, .timeout = context_.options.limits.io_timeout});
    if (!ec) return {};
    broken_ = true; // a half-written record leaves the stream unusable
    if (ec == std::errc::broken_pipe || ec == std::errc::connection_reset) return errc::peer_gone;
    return ec;
}

std::error_code Connection::write(RequestState& st, std::span<iovec> iov, bool ends_request)
{
    std::lock_guard lock(write_mutex_);
    if (st.ended || st.aborted) return errc::peer_gone;
    if (ends_request) st.ended = true;
    return write_locked(iov);
}

Result<std::uint64_t> Connection::send_file(RequestState& st, int file, std::uint64_t offset,
                                            std::uint64_t count)
{
    std::uint64_t sent = 0;
    while (count > 0) {
        auto len = static_cast<std::uint16_t>(std::min<std::uint64_t>(count, max_written_content));
        // One record per lock: other requests of the connection interleave between them.
        std::lock_guard lock(write_mutex_);
        if (st.ended || st.aborted) return errc::peer_gone;
        RecordHeader header = make_header(RecordType::stdout_stream, st.id, len);
        iovec h{&header, header_size};
        if (auto ec = write_locked({&h, 1})) return ec;
        auto off = static_cast<off_t>(offset);
        std::size_t left = len;
        while (left > 0) {
            ssize_t n = ::sendfile(fd_, file, &off, left);
            if (n > 0) {
                left -= static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) {
                if (auto ec = wait_writable()) return break_connection(), ec;
                continue;
            }
            // The file is shorter than announced (or unreadable) and the record header
            // is already out: the stream cannot be repaired.
            log().warning(concat("FastCGI request ", st.id, ": sendfile failed after ", sent,
                                 " bytes; closing the connection"));
            break_connection();
            return n == 0 ? std::error_code(errc::app_error)
                          : std::error_code(errno, std::generic_category());
        }
        static constexpr char zeros[8] = {};
        iovec pad{const_cast<char*>(zeros), header.padding_length};
        if (header.padding_length)
            if (auto ec = write_locked({&pad, 1})) return ec;
        offset += len;
        count -= len;
        sent += len;
    }
    return sent;
}

void Connection::run_request(const std::shared_ptr<RequestState>& st) noexcept
{
    const auto& limits = context_.options.limits;
    FcgiResponseSink sink(*this, *st, limits, context_.options.errors_to_web_server);
    if (st->rejected)
        sink.respond_error(http_status_for(st->rejected));
    else
        context_.handler.handle(st->request, *st->body, sink);
    if (!sink.done()) sink.abort("the handler returned without ending the response");
    if (sink.status() == 0 && !st->aborted)
        log().info(concat("FastCGI request ", st->id, ": no response head was sent"));
    if (context_.access_log.enabled())
        context_.access_log.log(st->request, sink.status(), sink.body_bytes());
}

void Connection::on_request_done(const std::shared_ptr<RequestState>& st)
{
    --context_.requests_in_flight;
    if (auto it = requests_.find(st->id); it != requests_.end() && it->second == st)
        requests_.erase(it);
    if (context_.on_request_done) context_.on_request_done();
    if (closed_) return;
    // Idle and stopping (or the web server left): nothing more can come that we want.
    if ((peer_closed_ || stopping_) && requests_.empty()) return close_now();
    if (!st->keep_conn) close_after_drain(st->stdin_ended && parser_.at_boundary());
}

} // namespace wsgibridge::fastcgi
