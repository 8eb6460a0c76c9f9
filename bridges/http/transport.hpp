// The byte stream under an exchange's body reader and response writer: the plain
// socket (fd_io.hpp) or TLS over it (tls.hpp). One branch per call picks the path, so
// the plain path costs what it did before: no virtual call, no copy. Internal.
#pragma once

#include "http/fd_io.hpp"
#include "http/tls.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>

namespace wsgibridge::http {

struct Transport
{
    int fd = -1;
    SSL* ssl = nullptr; ///< null: plain TCP or unix socket

    Result<std::size_t> read_some(std::span<char> buf, std::chrono::milliseconds timeout) const
    {
        return ssl ? tls_read_some(ssl, fd, buf, timeout) : http::read_some(fd, buf, timeout);
    }
    /// `iov` is consumed like fd_io's write_all() does (the TLS path leaves it as is).
    std::error_code write_all(std::span<iovec> iov, std::chrono::milliseconds timeout) const
    {
        return ssl ? tls_write_all(ssl, fd, iov, timeout) : http::write_all(fd, iov, timeout);
    }
    std::error_code write_all(std::string_view data, std::chrono::milliseconds timeout) const
    {
        iovec v{const_cast<char*>(data.data()), data.size()};
        return write_all(std::span<iovec>(&v, 1), timeout);
    }
    std::error_code send_file_all(int in_fd, std::uint64_t offset, std::uint64_t count,
                                  std::chrono::milliseconds timeout) const
    {
        return ssl ? tls_send_file_all(ssl, fd, in_fd, offset, count, timeout)
                   : http::send_file_all(fd, in_fd, offset, count, timeout);
    }
};

/// A Beast SyncReadStream over Transport::read_some(): the request parser pulls body
/// bytes through the same flat_buffer the async head reader filled.
class TransportReadStream
{
public:
    TransportReadStream(Transport transport, std::chrono::milliseconds timeout) noexcept
        : t_(transport), timeout_(timeout)
    {
    }

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
    std::size_t read_into(std::span<char> buf, boost::beast::error_code& ec)
    {
        auto r = t_.read_some(buf, timeout_);
        if (!r) {
            ec = r.error() == errc::timeout
                     ? boost::beast::error::timeout
                     : boost::beast::error_code(boost::asio::error::connection_reset);
            return 0;
        }
        if (*r == 0) {
            ec = boost::asio::error::eof;
            return 0;
        }
        ec = {};
        return *r;
    }

    Transport t_;
    std::chrono::milliseconds timeout_;
};

} // namespace wsgibridge::http
