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

/// A Beast SyncReadStream over read_some(): lets the request parser pull body bytes
/// through the same flat_buffer the async head reader filled.
class FdReadStream
{
public:
    FdReadStream(int fd, std::chrono::milliseconds timeout) noexcept : fd_(fd), timeout_(timeout) {}

    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers, boost::beast::error_code& ec)
    {
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers); ++it) {
            boost::asio::mutable_buffer b = *it;
            if (b.size() == 0) continue;
            return read_into({static_cast<char*>(b.data()), b.size()}, ec);
        }
        ec = {};
        return 0;
    }

    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers)
    {
        boost::beast::error_code ec;
        auto n = read_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }

private:
    std::size_t read_into(std::span<char> buf, boost::beast::error_code& ec);

    int fd_;
    std::chrono::milliseconds timeout_;
};

} // namespace wsgibridge::http
