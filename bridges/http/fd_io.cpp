#include "http/fd_io.hpp"

#include "net/write_all.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <cerrno>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgibridge::http {
namespace {

std::error_code gone(int err) noexcept
{
    // EPIPE, ECONNRESET and friends all mean the client is no longer there; the
    // original errno stays visible in debug logs through the message of the caller.
    (void)err;
    return make_error_code(errc::peer_gone);
}

} // namespace

Result<std::size_t> read_some(int fd, std::span<char> buf, std::chrono::milliseconds timeout)
{
    for (;;) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return gone(errno);
        if (!net::wait_ready(fd, POLLIN, timeout)) return make_error_code(errc::timeout);
    }
}

std::error_code write_all(int fd, std::span<iovec> iov, std::chrono::milliseconds timeout)
{
    auto ec = net::write_all(fd, iov, {.socket = true, .timeout = timeout});
    if (!ec || ec == errc::timeout) return ec;
    return gone(ec.value());
}

std::error_code write_all(int fd, std::string_view data, std::chrono::milliseconds timeout)
{
    iovec v{const_cast<char*>(data.data()), data.size()};
    return write_all(fd, std::span<iovec>(&v, 1), timeout);
}

std::error_code send_file_all(int out_fd, int in_fd, std::uint64_t offset, std::uint64_t count,
                              std::chrono::milliseconds timeout)
{
    auto off = static_cast<off_t>(offset);
    while (count > 0) {
        // sendfile moves at most 0x7ffff000 bytes per call on Linux.
        std::size_t want = count < 0x40000000u ? static_cast<std::size_t>(count) : 0x40000000u;
        ssize_t n = ::sendfile(out_fd, in_fd, &off, want);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return gone(errno);
            if (!net::wait_ready(out_fd, POLLOUT, timeout)) return make_error_code(errc::timeout);
            continue;
        }
        if (n == 0) return make_error_code(errc::body_truncated);
        count -= static_cast<std::uint64_t>(n);
    }
    return {};
}

} // namespace wsgibridge::http
