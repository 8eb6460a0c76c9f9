#include "connection.hpp"

#include "model/refusal.hpp"
#include "request_from_head.hpp"
#include "response_sink.hpp" // bridges/cgi: the CGI-style and NPH responses
#include "scgi/codec.hpp"
#include "stdin_body.hpp" // bridges/cgi: a length-bounded body read with timeouts
#include "uwsgi/codec.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <optional>
#include <poll.h>
#include <span>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgibridge::stream {
namespace {

using Clock = std::chrono::steady_clock;

// Reads into buf[got..] until `got` reaches `min` (at most buf.size() bytes, so what
// follows the head may come along: the start of the body). The first recv does not
// wait: the web server sends the head with the connection, so it is usually there and
// a poll would be one more system call per request. end_of_stream: closed before the
// first byte; peer_gone: closed or reset in the middle; timeout: nothing before
// `deadline`.
std::error_code read_at_least(int fd, std::span<char> buf, std::size_t& got, std::size_t min,
                              Clock::time_point deadline)
{
    while (got < min) {
        ssize_t n = ::recv(fd, buf.data() + got, buf.size() - got, MSG_DONTWAIT);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
            continue;
        }
        if (n == 0) return got == 0 ? errc::end_of_stream : errc::peer_gone;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return errc::peer_gone;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return errc::timeout;
        pollfd p{fd, POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno != EINTR) return errc::peer_gone;
        if (ready == 0) return errc::timeout;
    }
    return {};
}

// Discards up to `limit` bytes the peer still sends, waiting at most `timeout` for
// each read, so a response sent before the request was read is not lost to a reset.
void discard(int fd, std::uint64_t limit, std::chrono::milliseconds timeout) noexcept
{
    std::array<char, 16 * 1024> scratch;
    std::uint64_t total = 0;
    while (total < limit) {
        pollfd p{fd, POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return;
        ssize_t n = ::read(fd, scratch.data(), scratch.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        total += static_cast<std::uint64_t>(n);
    }
}

// The head as read: the variables' bytes (views into them become the Request), the
// body bytes read along with it, and, when the head could not be read, why.
struct Head
{
    std::span<char> block;             ///< the SCGI netstring's content and ',', or the uwsgi vars
    std::span<const char> body_prefix; ///< read past the head: the body's first bytes
    std::error_code ec;
    std::string detail;       ///< model/refusal.hpp: for a limit, what was too big
    std::uint64_t unread = 0; // head bytes left on the socket when refused
};

/// What one read takes at first: a whole head from nginx's stock params (a few hundred
/// bytes) and the start of a small body; larger heads grow the buffer to their size.
constexpr std::size_t first_read_size = 4096;

/// The bytes of the head being served on this thread: one connection at a time per
/// thread, so one buffer per thread, kept (never more than --max-header-bytes and the
/// prefix) instead of an allocation per connection.
std::string& head_buffer()
{
    thread_local std::string buffer;
    if (buffer.size() < first_read_size) buffer.resize(first_read_size);
    return buffer;
}

/// Makes room for `total` bytes, keeping the `got` already read.
std::span<char> grow(std::string& buffer, std::size_t total)
{
    if (buffer.size() < total) buffer.resize(total);
    return {buffer.data(), buffer.size()};
}

void read_scgi_head(int fd, const StreamServerOptions& o, Clock::time_point deadline, Head& h)
{
    std::string& buffer = head_buffer();
    std::span<char> buf(buffer.data(), buffer.size());
    std::size_t got = 0;
    std::optional<scgi::LengthPrefix> prefix;
    while (!prefix) {
        if ((h.ec = read_at_least(fd, buf, got, got + 1, deadline))) {
            if (h.ec == errc::end_of_stream && got > 0) h.ec = errc::peer_gone;
            return;
        }
        auto parsed = scgi::parse_length_prefix({buf.data(), std::min(got, scgi::max_prefix_size)});
        if (!parsed || (!*parsed && got >= scgi::max_prefix_size)) {
            h.ec = errc::protocol_error;
            h.detail = "the request does not start with a netstring length (\"NNN:\")";
            return;
        }
        prefix = *parsed;
    }
    auto [length, prefix_size] = *prefix;
    std::uint64_t total = std::uint64_t{prefix_size} + length + 1; // with the ','
    if (length > o.limits.max_header_bytes) {
        h.ec = errc::header_too_large;
        h.detail = concat("SCGI headers of ", length, " bytes");
        h.unread = total - std::min<std::uint64_t>(got, total);
        return;
    }
    buf = grow(buffer, total);
    if ((h.ec = read_at_least(fd, buf, got, total, deadline))) {
        if (h.ec == errc::end_of_stream) h.ec = errc::peer_gone;
        return;
    }
    h.block = buf.subspan(prefix_size, length + 1);
    h.body_prefix = buf.subspan(total, got - total);
}

void read_uwsgi_head(int fd, const StreamServerOptions& o, Clock::time_point deadline, Head& h)
{
    std::string& buffer = head_buffer();
    std::span<char> buf(buffer.data(), buffer.size());
    std::size_t got = 0;
    if ((h.ec = read_at_least(fd, buf, got, uwsgi::packet_header_size, deadline))) {
        if (h.ec == errc::end_of_stream && got > 0) h.ec = errc::peer_gone;
        return;
    }
    auto header = uwsgi::parse_packet_header(buf.first<uwsgi::packet_header_size>());
    if (header.modifier1 != 0) {
        h.ec = errc::protocol_error;
        h.detail = concat("uwsgi modifier1 ", unsigned(header.modifier1),
                          " is not served (only 0, WSGI requests)");
        return;
    }
    std::size_t total = uwsgi::packet_header_size + header.datasize;
    if (header.datasize > o.limits.max_header_bytes) {
        h.ec = errc::header_too_large;
        h.detail = concat("uwsgi vars block of ", header.datasize, " bytes");
        h.unread = total - std::min(got, total);
        return;
    }
    buf = grow(buffer, total);
    if ((h.ec = read_at_least(fd, buf, got, total, deadline))) {
        if (h.ec == errc::end_of_stream) h.ec = errc::peer_gone;
        return;
    }
    h.block = buf.subspan(uwsgi::packet_header_size, header.datasize);
    h.body_prefix = buf.subspan(total, got - total);
}

/// The body: what came with the head, then the socket.
class PrefixedBody final : public BodySource
{
public:
    PrefixedBody(std::span<const char> prefix, cgi::StdinBody& rest) : prefix_(prefix), rest_(rest)
    {
    }
    Result<std::size_t> read(std::span<char> buf) override
    {
        if (prefix_.empty()) return rest_.read(buf);
        std::size_t n = std::min(buf.size(), prefix_.size());
        std::copy_n(prefix_.data(), n, buf.data());
        prefix_ = prefix_.subspan(n);
        return n;
    }
    std::optional<std::uint64_t> remaining() const noexcept override
    {
        auto rest = rest_.remaining();
        if (!rest) return std::nullopt;
        return *rest + prefix_.size();
    }

private:
    std::span<const char> prefix_;
    cgi::StdinBody& rest_;
};

} // namespace

bool serve_connection(int fd, const ConnectionContext& c) noexcept
try {
    const StreamServerOptions& o = c.options;
    const Limits& limits = o.limits;
    const auto name = protocol_name(o.protocol);
    const bool uwsgi = o.protocol == StreamProtocol::uwsgi;

    Head head;
    auto deadline = Clock::now() + limits.header_timeout;
    if (uwsgi)
        read_uwsgi_head(fd, o, deadline, head);
    else
        read_scgi_head(fd, o, deadline, head);

    Request req;
    std::string scratch;
    CgiRequestOptions model{.mount = o.mount,
                            .max_header_count = limits.max_header_count,
                            .promote_redirect_authorization = o.promote_redirect_authorization,
                            .log = &c.log};
    if (!head.ec) {
        head.ec =
            stream::request_from_head(o.protocol, head.block, model, scratch, req, head.detail);
    }
    // uWSGI answers with a raw HTTP status line: the protocol the client spoke.
    std::string_view nph;
    if (uwsgi) nph = req.protocol == "HTTP/1.0" ? "HTTP/1.0" : "HTTP/1.1";
    // Each write making no progress for --io-timeout fails: a web server or client that
    // stops reading (nginx with buffering off passes the stall on) must not hold the thread.
    cgi::StdoutSink sink(fd, nph, limits.io_timeout);

    if (head.ec == errc::end_of_stream) return false; // connected and left: a health check
    if (head.ec == errc::peer_gone || head.ec == errc::timeout) {
        c.log.warning(concat(name, ": request head ",
                             head.ec == errc::timeout ? "not received within --header-timeout"
                                                      : "cut off by the peer",
                             "; closing"));
        return false;
    }
    if (head.ec == errc::protocol_error && head.detail.empty())
        head.detail = concat("malformed ", name, " request head");
    if (!head.ec && req.content_length && *req.content_length > limits.max_body_bytes) {
        head.ec = errc::body_too_large;
        head.detail = concat("CONTENT_LENGTH ", *req.content_length);
    }
    if (head.ec) {
        int status = http_status_for(head.ec);
        c.log.error(refusal_message(concat(name, " request"), head.ec, limits, head.detail));
        if (head.unread)
            discard(fd, std::min(head.unread, limits.max_drain_bytes), limits.io_timeout);
        sink.send_simple(status, req.method == "HEAD");
        ::shutdown(fd, SHUT_WR);
        discard(fd, limits.max_drain_bytes, std::chrono::milliseconds(200));
        return true;
    }

    // Bytes past CONTENT_LENGTH are not the body: one request per connection.
    std::uint64_t length = req.content_length.value_or(0);
    auto prefix = head.body_prefix.first(std::min<std::uint64_t>(head.body_prefix.size(), length));
    cgi::StdinBody body(fd, length - prefix.size(), limits.max_body_bytes, limits.io_timeout);
    PrefixedBody input(prefix, body);
    c.handler.handle(req, input, sink);
    if (!sink.started()) {
        c.log.error(concat(name, ": the handler returned without a response: answering 500"));
        sink.send_simple(500, req.method == "HEAD");
    }
    c.access_log.log(req, sink.status(), sink.body_bytes());
    if (sink.timed_out()) {
        // The application has stopped and its iterable is closed (PEP 3333); the bytes
        // still queued go nowhere: reset the connection rather than linger with them.
        c.log.warning(concat(name, ": response write stalled longer than --io-timeout (",
                             limits.io_timeout.count(),
                             " ms): the peer stopped reading; dropping the connection"));
        linger reset{.l_onoff = 1, .l_linger = 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        return true;
    }
    bool complete = false;
    body.drain(limits.max_drain_bytes, complete);
    if (!complete && !sink.client_gone())
        c.log.warning(concat(name, ": request body left unread beyond --max-drain (",
                             limits.max_drain_bytes, " bytes) or stalled; closing"));
    ::shutdown(fd, SHUT_WR);
    return true;
} catch (const std::exception& e) {
    c.log.error(concat(protocol_name(c.options.protocol), ": connection failed: ", e.what()));
    return false;
}

} // namespace wsgibridge::stream
