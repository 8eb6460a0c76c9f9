#include "http/tls.hpp"

#include "net/write_all.hpp"
#include "wsgibridge/http_server.hpp"

#include <array>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdexcept>
#include <unistd.h>

namespace wsgibridge::http {
namespace {

/// SSL_get_error() reads this thread's error queue, which must be empty before each TLS
/// call (SSL_get_error(3)); clearing an empty queue still costs OpenSSL 3 hundreds of
/// instructions per call.
void clear_errors() noexcept
{
    if (ERR_peek_error() != 0) ERR_clear_error();
}

/// OpenSSL's reasons for the failure on this thread, first to last ("no start line; PEM
/// lib", "No such file or directory; system lib"), and clears the queue.
std::string openssl_reason()
{
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        std::string part;
        if (ERR_GET_LIB(code) == ERR_LIB_SYS) // an errno
            part = std::error_code(ERR_GET_REASON(code), std::generic_category()).message();
        else if (const char* reason = ERR_reason_error_string(code))
            part = reason;
        else
            part = "error " + std::to_string(ERR_GET_REASON(code));
        if (text.find(part) != std::string::npos) continue;
        if (!text.empty()) text += "; ";
        text += part;
    }
    return text;
}

/// RFC 7301 section 3.2: the server picks from the client's list, "http/1.1" first; an
/// HTTP/1.0 client (curl --http1.0 offers only "http/1.0") is served too. A client offering
/// neither (only "h2") gets the no_application_protocol alert, as nginx answers.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*)
{
    static constexpr unsigned char ours[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1',
                                             8, 'h', 't', 't', 'p', '/', '1', '.', '0'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, ours, sizeof ours, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

/// After SSL_ERROR_SYSCALL or SSL_ERROR_SSL no close_notify may be sent (SSL_shutdown(3)):
/// a quiet shutdown makes goodbye() a no-op.
void mark_failed(SSL* ssl) noexcept
{
    SSL_set_quiet_shutdown(ssl, 1);
    clear_errors();
}

/// Waits as SSL_get_error() asks; an error code when it cannot go on.
std::error_code wait_for(SSL* ssl, int fd, int r, std::chrono::milliseconds timeout) noexcept
{
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!net::wait_ready(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout))
            return make_error_code(errc::timeout);
        return {};
    }
    mark_failed(ssl);
    return make_error_code(errc::peer_gone);
}

std::error_code write_record(SSL* ssl, int fd, const char* data, std::size_t size,
                             std::chrono::milliseconds timeout) noexcept
{
    while (size > 0) {
        clear_errors();
        std::size_t n = 0;
        int r = SSL_write_ex(ssl, data, size, &n);
        if (r == 1) {
            data += n;
            size -= n;
            continue;
        }
        if (auto ec = wait_for(ssl, fd, r, timeout)) return ec;
    }
    return {};
}

/// The most plaintext one TLS record carries (RFC 8446 section 5.1).
constexpr std::size_t record_size = 16 * 1024;

} // namespace

namespace {

struct FreeBio
{
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, FreeBio>;

BioPtr memory_bio(std::string_view text)
{
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) throw std::invalid_argument("TLS: cannot read PEM from memory: " + openssl_reason());
    return bio;
}

/// SSL_CTX_use_certificate_chain_file() on PEM text: the first certificate is the
/// server's, each further one goes into the chain; the text ends at the last one.
bool use_certificate_chain(SSL_CTX* c, std::string_view pem)
{
    BioPtr bio = memory_bio(pem);
    X509* leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr);
    if (!leaf) return false;
    int ok = SSL_CTX_use_certificate(c, leaf);
    X509_free(leaf);
    if (ok != 1 || SSL_CTX_clear_chain_certs(c) != 1) return false;
    while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        if (SSL_CTX_add0_chain_cert(c, ca) != 1) {
            X509_free(ca);
            return false;
        }
    }
    // The loop ends at the end of the text ("no start line"): not an error.
    unsigned long last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)
        ERR_clear_error();
    return ERR_peek_error() == 0;
}

bool use_private_key(SSL_CTX* c, std::string_view pem)
{
    BioPtr bio = memory_bio(pem);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (!key) return false;
    int ok = SSL_CTX_use_PrivateKey(c, key);
    EVP_PKEY_free(key);
    return ok == 1;
}

} // namespace

TlsContext::TlsContext(const std::string& certfile, const std::string& keyfile)
    : TlsContext(certfile, keyfile, nullptr)
{
}

TlsContext::TlsContext(const std::string& certfile, const std::string& keyfile, const TlsPem* pem)
{
    clear_errors();
    ctx_.reset(SSL_CTX_new(TLS_server_method()));
    if (!ctx_) throw std::invalid_argument("TLS: cannot create a context: " + openssl_reason());
    SSL_CTX* c = ctx_.get();
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
    // No renegotiation (a client could make the server redo handshakes at will); the
    // server's cipher order; an end of stream without close_notify reads as one (the
    // HTTP framing says whether a body was complete).
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_IGNORE_UNEXPECTED_EOF);
    // Idle kept-alive connections give their 34 KiB of record buffers back (nginx does
    // the same); a retried SSL_write may come from another address of the same bytes.
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_alpn_select_cb(c, select_alpn, nullptr);

    bool chain_ok = pem ? use_certificate_chain(c, pem->certificate)
                        : SSL_CTX_use_certificate_chain_file(c, certfile.c_str()) == 1;
    if (!chain_ok)
        throw std::invalid_argument(concat(
            "--certfile ", certfile, ": cannot load the certificate chain: ", openssl_reason()));
    const std::string& key = keyfile.empty() ? certfile : keyfile;
    const char* option = keyfile.empty() ? "--certfile " : "--keyfile ";
    bool key_ok = pem ? use_private_key(c, keyfile.empty() ? pem->certificate : pem->key)
                      : SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) == 1;
    if (!key_ok)
        throw std::invalid_argument(
            concat(option, key, ": cannot load the private key: ", openssl_reason()));
    if (SSL_CTX_check_private_key(c) != 1)
        throw std::invalid_argument(concat(option, key, ": the key does not match --certfile ",
                                           certfile, ": ", openssl_reason()));
    if (X509* cert = SSL_CTX_get0_certificate(c)) {
        std::array<char, 256> name{};
        X509_NAME_oneline(X509_get_subject_name(cert), name.data(), name.size());
        subject_ = name.data();
    }
}

TlsConnection::TlsConnection(const TlsContext& context, int fd) : ssl_(SSL_new(context.get()))
{
    if (ssl_ && SSL_set_fd(ssl_.get(), fd) == 1) {
        SSL_set_accept_state(ssl_.get());
        return;
    }
    // Out of memory: the session closes the connection (handshake()); the server goes on.
    failure_ = "cannot set up TLS for the connection: " + openssl_reason();
    ssl_.reset();
}

void TlsConnection::fail(int ssl_error)
{
    const int saved_errno = errno;
    unsigned long code = ERR_peek_last_error();
    plain_http_ =
        ERR_GET_LIB(code) == ERR_LIB_SSL && (ERR_GET_REASON(code) == SSL_R_HTTP_REQUEST ||
                                             ERR_GET_REASON(code) == SSL_R_HTTPS_PROXY_REQUEST);
    failure_ = openssl_reason();
    // The peer went away (end of stream, reset) rather than spoke TLS wrongly.
    peer_closed_ =
        ssl_error == SSL_ERROR_ZERO_RETURN || (ssl_error == SSL_ERROR_SYSCALL && failure_.empty());
    if (failure_.empty())
        failure_ = ssl_error == SSL_ERROR_SYSCALL && saved_errno
                       ? std::error_code(saved_errno, std::generic_category()).message()
                   : peer_closed_ ? "the client closed the connection"
                                  : "TLS error " + std::to_string(ssl_error);
    mark_failed(ssl_.get());
}

void TlsConnection::async_handshake(Socket& socket, HandshakeHandler handler)
{
    clear_errors();
    int r = SSL_do_handshake(ssl_.get());
    if (r == 1) return handler(boost::system::error_code{});
    int e = SSL_get_error(ssl_.get(), r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        socket.async_wait(
            e == SSL_ERROR_WANT_READ ? Socket::wait_read : Socket::wait_write,
            [this, &socket, h = std::move(handler)](boost::system::error_code ec) mutable {
                if (ec) return h(ec);
                async_handshake(socket, std::move(h));
            });
        return;
    }
    fail(e);
    handler(boost::system::error_code(boost::asio::error::connection_aborted));
}

void TlsConnection::read_step(Socket& socket, boost::asio::mutable_buffer buf, ReadHandler handler,
                              bool initiating)
{
    clear_errors();
    std::size_t n = 0;
    int r = SSL_read_ex(ssl_.get(), buf.data(), buf.size(), &n);
    boost::system::error_code ec;
    if (r != 1) {
        int e = SSL_get_error(ssl_.get(), r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            socket.async_wait(e == SSL_ERROR_WANT_READ ? Socket::wait_read : Socket::wait_write,
                              [this, &socket, buf,
                               h = std::move(handler)](boost::system::error_code wait_ec) mutable {
                                  if (wait_ec) return h(wait_ec, std::size_t{0});
                                  read_step(socket, buf, std::move(h), false);
                              });
            return;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            ec = boost::asio::error::eof;
        } else {
            fail(e);
            ec = boost::asio::error::connection_reset;
        }
    }
    if (!initiating) return handler(ec, n);
    boost::asio::post(socket.get_executor(),
                      [h = std::move(handler), ec, n]() mutable { h(ec, n); });
}

void TlsConnection::goodbye() noexcept
{
    SSL* s = ssl_.get();
    if (!s || SSL_get_quiet_shutdown(s) || (SSL_get_shutdown(s) & SSL_SENT_SHUTDOWN) ||
        !SSL_is_init_finished(s))
        return;
    clear_errors();
    (void)SSL_shutdown(s);
    clear_errors();
}

Result<std::size_t> tls_read_some(SSL* ssl, int fd, std::span<char> buf,
                                  std::chrono::milliseconds timeout)
{
    for (;;) {
        clear_errors();
        std::size_t n = 0;
        int r = SSL_read_ex(ssl, buf.data(), buf.size(), &n);
        if (r == 1) return n;
        if (SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN) return std::size_t{0};
        if (auto ec = wait_for(ssl, fd, r, timeout)) return ec;
    }
}

std::error_code tls_write_all(SSL* ssl, int fd, std::span<const iovec> iov,
                              std::chrono::milliseconds timeout)
{
    std::array<char, record_size> gather;
    std::size_t used = 0;
    for (const auto& v : iov) {
        const char* p = static_cast<const char*>(v.iov_base);
        std::size_t left = v.iov_len;
        while (left > 0) {
            if (used == 0 && left >= gather.size()) {
                // Whole records straight from the caller's bytes, no copy.
                if (auto ec = write_record(ssl, fd, p, left, timeout)) return ec;
                break;
            }
            std::size_t n = std::min(left, gather.size() - used);
            std::memcpy(gather.data() + used, p, n);
            used += n;
            p += n;
            left -= n;
            if (used == gather.size()) {
                if (auto ec = write_record(ssl, fd, gather.data(), used, timeout)) return ec;
                used = 0;
            }
        }
    }
    return used ? write_record(ssl, fd, gather.data(), used, timeout) : std::error_code{};
}

std::error_code tls_send_file_all(SSL* ssl, int fd, int in_fd, std::uint64_t offset,
                                  std::uint64_t count, std::chrono::milliseconds timeout)
{
    std::array<char, 4 * record_size> buf;
    while (count > 0) {
        std::size_t want = count < buf.size() ? static_cast<std::size_t>(count) : buf.size();
        ssize_t n = ::pread(in_fd, buf.data(), want, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error_code(errc::body_truncated); // the file, not the client
        if (n == 0) return make_error_code(errc::body_truncated);
        if (auto ec = write_record(ssl, fd, buf.data(), static_cast<std::size_t>(n), timeout))
            return ec;
        offset += static_cast<std::uint64_t>(n);
        count -= static_cast<std::uint64_t>(n);
    }
    return {};
}

} // namespace wsgibridge::http
