// Blocking I/O with a timeout on a NON-blocking socket, for the part of a request that
// runs inside RequestHandler::handle (body reads, response writes). The session reads
// request heads asynchronously; once the application runs, its thread owns the socket
// and waits with poll(): no io_context round trip per chunk, and the GIL is released
// by the invoker around these calls. Internal.
#pragma once

#include "wsgibridge/error.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <cstdint>
#include <span>
#include <sys/uio.h>
#include <system_error>

namespace wsgibridge::http {

/// Reads at least one byte (0 = orderly EOF). errc::timeout when nothing arrives within
/// `timeout`, errc::peer_gone on a reset.
Result<std::size_t> read_some(int fd, std::span<char> buf, std::chrono::milliseconds timeout);

/// Writes every byte of `iov` (the array is consumed: advanced in place on partial
/// writes). One sendmsg() for the whole vector in the common case.
std::error_code write_all(int fd, std::span<iovec> iov, std::chrono::milliseconds timeout);
std::error_code write_all(int fd, std::string_view data, std::chrono::milliseconds timeout);

/// sendfile(2) of `count` bytes of `in_fd` from `offset`. errc::body_truncated when the
/// file ends early.
std::error_code send_file_all(int out_fd, int in_fd, std::uint64_t offset, std::uint64_t count,
                              std::chrono::milliseconds timeout);

} // namespace wsgibridge::http
