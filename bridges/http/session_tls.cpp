// The TLS handshake of a session (--certfile), kept apart from session.cpp so the
// plain path's translation unit stays as it was.
#include "http/fd_io.hpp"
#include "http/session.hpp"

namespace wsgibridge::http {
namespace {

/// The answer to a plain-HTTP request on the TLS port (nginx answers 400 too): the
/// client learns the port's scheme instead of seeing a reset.
constexpr std::string_view plain_http_answer =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 43\r\n"
    "Connection: close\r\n\r\nThis port speaks HTTPS: use https:// URLs.\n";

} // namespace

void Session::handshake()
{
    if (!tls_->get()) {
        ctx_.log.error(concat("connection from ", peer_, ": ", tls_->failure()));
        return close();
    }
    // Like the rest of a head: a client that connects and never completes the handshake
    // holds a socket for --header-timeout, and no thread.
    waiting_ = true;
    arm(ctx_.limits.header_timeout);
    tls_->async_handshake(*socket_, [self = shared_from_this()](boost::system::error_code ec) {
        self->on_handshake(ec);
    });
}

void Session::on_handshake(boost::system::error_code ec)
{
    waiting_ = false;
    disarm();
    if (timed_out_) {
        ctx_.log.warning(concat("TLS handshake from ", peer_,
                                " not completed within --header-timeout (",
                                ctx_.limits.header_timeout.count(), " ms); closed"));
        return close();
    }
    if (ec == boost::asio::error::operation_aborted) return close();
    if (ec && tls_->plain_http()) {
        ctx_.log.warning(concat("400 to ", peer_, ": plain HTTP on the TLS port (--certfile)"));
        (void)write_all(fd_, plain_http_answer, ctx_.limits.io_timeout);
        return linger_close();
    }
    if (ec) {
        // A client that connects and closes (a TCP health check, a port scan) is not worth
        // a warning each time; one that speaks TLS wrongly (TLS 1.1, no common cipher) is.
        auto line = concat("TLS handshake with ", peer_, " failed: ", tls_->failure());
        if (tls_->peer_closed())
            ctx_.log.debug(line);
        else
            ctx_.log.warning(line);
        return close();
    }
    read_next();
}

} // namespace wsgibridge::http
