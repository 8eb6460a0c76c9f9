// TLS for wsgi-http (--certfile/--keyfile), OpenSSL directly on the connection's
// non-blocking socket: one SSL object per connection whose socket BIO reads the fd
// itself. Both halves of a session use it: the asynchronous ones (handshake, waiting
// for a request head) wait for readiness with the socket's async_wait and retry, the
// blocking ones inside the handler (body reads, response writes) poll() like the plain
// path in fd_io.hpp, with the same timeouts. Asio's ssl::stream is not used because its
// engine sits on memory BIOs that only its own (asynchronous or blocking-socket) reads
// and writes feed, which the poll()-bounded path on the io thread cannot share.
// Internal.
#pragma once

#include "wsgibridge/error.hpp"
#include "wsgibridge/log.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/socket_base.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <span>
#include <string>
#include <string_view>
#include <sys/uio.h>

namespace wsgibridge {
struct TlsPem; // http_server.hpp
} // namespace wsgibridge

namespace wsgibridge::http {

/// The server's certificate and key: TLS 1.2 and 1.3 only, ALPN "http/1.1", no
/// renegotiation. Loaded once per HttpServer (each worker process loads its own, so a
/// graceful reload of the workers picks up a replaced certificate).
class TlsContext
{
public:
    /// `certfile`: PEM, the server's certificate first, then the intermediates (the
    /// chain file nginx's ssl_certificate and Apache's SSLCertificateFile take).
    /// `keyfile`: its private key; empty = the key is in `certfile`. Throws
    /// std::invalid_argument with OpenSSL's reason when either cannot be used.
    TlsContext(const std::string& certfile, const std::string& keyfile);
    /// The same from the files' contents read earlier (`pem`; null: read the files):
    /// wsgi-http reads a root-only key before --user drops privileges. The names are
    /// for the messages.
    TlsContext(const std::string& certfile, const std::string& keyfile,
               const wsgibridge::TlsPem* pem);

    SSL_CTX* get() const noexcept { return ctx_.get(); }
    /// The certificate's subject, for the start-up log line.
    const std::string& subject() const noexcept { return subject_; }

private:
    struct Free
    {
        void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
    };
    std::unique_ptr<SSL_CTX, Free> ctx_;
    std::string subject_;
};

/// Blocking TLS reads and writes with poll(), the counterparts of fd_io.hpp's:
/// at least one byte or 0 at the peer's close_notify (or end of stream); errc::timeout
/// when the socket stays unready for `timeout`; errc::peer_gone otherwise.
Result<std::size_t> tls_read_some(SSL* ssl, int fd, std::span<char> buf,
                                  std::chrono::milliseconds timeout);
/// Every byte of `iov`, small pieces gathered into full TLS records (a head, a chunk
/// size line and the data share one record instead of one each).
std::error_code tls_write_all(SSL* ssl, int fd, std::span<const iovec> iov,
                              std::chrono::milliseconds timeout);
/// `count` bytes of `in_fd` from `offset`, read and written through TLS (sendfile cannot
/// encrypt). errc::body_truncated when the file ends early.
std::error_code tls_send_file_all(SSL* ssl, int fd, int in_fd, std::uint64_t offset,
                                  std::uint64_t count, std::chrono::milliseconds timeout);

/// One connection's TLS state. Lives in the session; the handlers its asynchronous
/// operations queue keep the session, hence this, alive.
class TlsConnection
{
public:
    TlsConnection(const TlsContext& context, int fd);

    /// Null when the connection could not be set up (failure() says why).
    SSL* get() const noexcept { return ssl_.get(); }

    /// Why the handshake or a read failed ("wrong version number"), for the log.
    const std::string& failure() const noexcept { return failure_; }
    /// The handshake failed on a plain-HTTP request ("GET / HTTP/1.1" as the first
    /// bytes): worth a plain-text 400 rather than a silent close.
    bool plain_http() const noexcept { return plain_http_; }
    /// The client closed or reset the connection (a TCP health check, a client giving
    /// up): not a TLS error worth a warning.
    bool peer_closed() const noexcept { return peer_closed_; }

    using Socket = boost::asio::generic::stream_protocol::socket;
    /// Type-erased handlers: the TLS path's templates stay out of the session's
    /// translation unit, whose plain path keeps the compiler's inlining budget.
    using HandshakeHandler = std::function<void(boost::system::error_code)>;
    using ReadHandler = std::function<void(boost::system::error_code, std::size_t)>;

    /// Completes the server side of the handshake. `handler(ec)`: empty on success,
    /// the wait's error (operation_aborted when the session cancels the socket), or
    /// connection_aborted for a TLS failure (failure() says why).
    void async_handshake(Socket& socket, HandshakeHandler handler);

    /// Like socket.async_read_some(buf, handler): decrypted bytes, eof at the peer's
    /// close_notify or end of stream, connection_reset on a TLS failure. Bytes OpenSSL
    /// already holds complete without waiting (through a post: never inside this call).
    void async_read_some(Socket& socket, boost::asio::mutable_buffer buf, ReadHandler handler)
    {
        read_step(socket, buf, std::move(handler), true);
    }

    /// Sends close_notify once, without waiting (a full socket buffer drops it: the
    /// close that follows says the same). Nothing after a fatal TLS error.
    void goodbye() noexcept;

private:
    void read_step(Socket& socket, boost::asio::mutable_buffer buf, ReadHandler handler,
                   bool initiating);
    void fail(int ssl_error);

    struct Free
    {
        void operator()(SSL* s) const noexcept { SSL_free(s); }
    };
    std::unique_ptr<SSL, Free> ssl_;
    std::string failure_;
    bool plain_http_ = false;
    bool peer_closed_ = false;
};

} // namespace wsgibridge::http
