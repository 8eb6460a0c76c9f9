// Writing a whole iovec list to a descriptor, for every front end: writev(2) and
// sendmsg(2) may stop anywhere (a full socket buffer, a signal), so the list is advanced
// past what went out and the rest written again. Internal.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string_view>
#include <sys/uio.h>
#include <system_error>

namespace wsgibridge::net {

/// Drops the first `written` bytes from the front of `iov`: the entries written whole
/// (and empty ones), then the written part of the next one.
void skip_written(std::span<iovec>& iov, std::size_t written) noexcept;

struct WriteMode
{
    /// true: sendmsg(MSG_NOSIGNAL), so a peer that hung up costs EPIPE, not SIGPIPE.
    /// false: writev (pipes, CGI stdout).
    bool socket = true;
    /// A descriptor answering EAGAIN is polled for POLLOUT this long per stall, then the
    /// write fails with errc::timeout. Sockets are sent to with MSG_DONTWAIT then, so
    /// the limit holds for a blocking socket too; a pipe (socket = false) must be
    /// non-blocking itself. Negative: wait as long as it takes.
    std::chrono::milliseconds timeout{-1};
    /// Asked when a call is interrupted (EINTR): true ends the write with EINTR (a CGI
    /// script's SIGTERM), false or null retries.
    bool (*stop_on_interrupt)() noexcept = nullptr;
};

/// Writes every byte of `iov` (consumed: advanced in place on partial writes), one
/// system call for the whole list in the common case. Returns {}, errc::timeout, or the
/// errno of the call that failed (std::generic_category: EPIPE, ECONNRESET, EINTR...).
std::error_code write_all(int fd, std::span<iovec> iov, const WriteMode& mode = {});
std::error_code write_all(int fd, std::string_view data, const WriteMode& mode = {});

/// Waits until `fd` is ready for poll(2) `events` (POLLIN, POLLOUT), retrying on EINTR;
/// false on timeout or error. The blocking reads and writes of the front ends share it.
bool wait_ready(int fd, short events, std::chrono::milliseconds timeout) noexcept;

} // namespace wsgibridge::net
