#include "net/write_all.hpp"

#include "wsgibridge/error.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <poll.h>
#include <sys/socket.h>

namespace wsgibridge::net {

void skip_written(std::span<iovec>& iov, std::size_t written) noexcept
{
    while (!iov.empty() && written >= iov.front().iov_len) {
        written -= iov.front().iov_len;
        iov = iov.subspan(1);
    }
    if (written > 0) {
        iov.front().iov_base = static_cast<char*>(iov.front().iov_base) + written;
        iov.front().iov_len -= written;
    }
}

std::error_code write_all(int fd, std::span<iovec> iov, const WriteMode& mode)
{
    skip_written(iov, 0); // nothing to do for empty entries: no system call for them
    while (!iov.empty()) {
        auto count = std::min<std::size_t>(iov.size(), IOV_MAX);
        ssize_t n;
        if (mode.socket) {
            msghdr msg{};
            msg.msg_iov = iov.data();
            msg.msg_iovlen = count;
            // With a time limit, never block in the call itself: a blocking socket (the
            // SCGI/uwsgi connections) would otherwise wait in sendmsg with no limit.
            int flags = MSG_NOSIGNAL | (mode.timeout.count() >= 0 ? MSG_DONTWAIT : 0);
            n = ::sendmsg(fd, &msg, flags);
        } else {
            n = ::writev(fd, iov.data(), static_cast<int>(count));
        }
        if (n >= 0) {
            skip_written(iov, static_cast<std::size_t>(n));
            continue;
        }
        int err = errno;
        if (err == EINTR) {
            if (mode.stop_on_interrupt && mode.stop_on_interrupt())
                return {EINTR, std::generic_category()};
            continue;
        }
        if (err != EAGAIN && err != EWOULDBLOCK) return {err, std::generic_category()};
        pollfd p{fd, POLLOUT, 0};
        for (;;) {
            int r = ::poll(&p, 1, static_cast<int>(mode.timeout.count()));
            if (r > 0) break;
            if (r == 0) return errc::timeout;
            if (errno != EINTR) return {errno, std::generic_category()};
            if (mode.stop_on_interrupt && mode.stop_on_interrupt())
                return {EINTR, std::generic_category()};
        }
    }
    return {};
}

std::error_code write_all(int fd, std::string_view data, const WriteMode& mode)
{
    iovec v{const_cast<char*>(data.data()), data.size()};
    return write_all(fd, std::span<iovec>(&v, 1), mode);
}

bool wait_ready(int fd, short events, std::chrono::milliseconds timeout) noexcept
{
    pollfd p{fd, events, 0};
    for (;;) {
        int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (r < 0 && errno == EINTR) continue;
        return r > 0;
    }
}

} // namespace wsgibridge::net
