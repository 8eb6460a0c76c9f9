#include "connection.hpp"

#include "request_from_head.hpp"
#include "response_sink.hpp" // bridges/cgi: the CGI-style and NPH responses
#include "scgi/codec.hpp"
#include "stdin_body.hpp" // bridges/cgi: a length-bounded body read with timeouts
#include "uwsgi/codec.hpp"

#include "model/refusal.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgibridge::stream {
namespace {

using Clock = std::chrono::steady_clock;

// Reads exactly `size` bytes before `deadline`. end_of_stream: closed before the first
// byte; peer_gone: closed or reset in the middle; timeout.
std::error_code read_exact(int fd, char* data, std::size_t size, Clock::time_point deadline)
{
    std::size_t got = 0;
    while (got < size) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return errc::timeout;
        pollfd p{fd, POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) return errc::timeout;
        ssize_t n = ::read(fd, data + got, size - got);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n == 0 && got == 0) return errc::end_of_stream;
        if (n <= 0) return errc::peer_gone;
        got += static_cast<std::size_t>(n);
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

// The head as read: the variables' bytes (views into them become the Request) and,
// when the head could not be read, why.
struct Head
{
    std::string bytes;
    std::error_code ec;
    std::string detail; ///< model/refusal.hpp: for a limit, what was too big
    std::uint64_t unread = 0; // head bytes left on the socket when refused
};

void read_scgi_head(int fd, const StreamServerOptions& o, Clock::time_point deadline, Head& h)
{
    std::array<char, scgi::max_prefix_size> prefix;
    // Any valid netstring is longer than the prefix: "CONTENT_LENGTH\0" alone is 15.
    if ((h.ec = read_exact(fd, prefix.data(), prefix.size(), deadline))) return;
    auto parsed = scgi::parse_length_prefix({prefix.data(), prefix.size()});
    if (!parsed || !*parsed) {
        h.ec = errc::protocol_error;
        h.detail = "the request does not start with a netstring length (\"NNN:\")";
        return;
    }
    auto [length, prefix_size] = **parsed;
    std::size_t already = prefix.size() - prefix_size;
    if (length > o.limits.max_header_bytes) {
        h.ec = errc::header_too_large;
        h.detail = concat("SCGI headers of ", length, " bytes");
        h.unread = length + 1 - std::min(already, length + 1);
        return;
    }
    if (length + 1 < already) {
        h.ec = errc::protocol_error;
        h.detail = "the SCGI netstring is too short to hold CONTENT_LENGTH and SCGI";
        return;
    }
    h.bytes.resize(length + 1);
    std::copy_n(prefix.data() + prefix_size, already, h.bytes.data());
    if ((h.ec = read_exact(fd, h.bytes.data() + already, h.bytes.size() - already, deadline))) {
        if (h.ec == errc::end_of_stream) h.ec = errc::peer_gone;
    }
}

void read_uwsgi_head(int fd, const StreamServerOptions& o, Clock::time_point deadline, Head& h)
{
    std::array<char, uwsgi::packet_header_size> raw;
    if ((h.ec = read_exact(fd, raw.data(), raw.size(), deadline))) return;
    auto header = uwsgi::parse_packet_header(raw);
    if (header.modifier1 != 0) {
        h.ec = errc::protocol_error;
        h.detail = concat("uwsgi modifier1 ", unsigned(header.modifier1),
                          " is not served (only 0, WSGI requests)");
        return;
    }
    if (header.datasize > o.limits.max_header_bytes) {
        h.ec = errc::header_too_large;
        h.detail = concat("uwsgi vars block of ", header.datasize, " bytes");
        h.unread = header.datasize;
        return;
    }
    h.bytes.resize(header.datasize);
    if ((h.ec = read_exact(fd, h.bytes.data(), h.bytes.size(), deadline))) {
        if (h.ec == errc::end_of_stream) h.ec = errc::peer_gone;
    }
}

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
            stream::request_from_head(o.protocol, head.bytes, model, scratch, req, head.detail);
    }
    // uWSGI answers with a raw HTTP status line: the protocol the client spoke.
    std::string_view nph;
    if (uwsgi) nph = req.protocol == "HTTP/1.0" ? "HTTP/1.0" : "HTTP/1.1";
    cgi::StdoutSink sink(fd, nph);

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

    cgi::StdinBody body(fd, req.content_length.value_or(0), limits.max_body_bytes,
                        limits.io_timeout);
    c.handler.handle(req, body, sink);
    if (!sink.started()) {
        c.log.error(concat(name, ": the handler returned without a response: answering 500"));
        sink.send_simple(500, req.method == "HEAD");
    }
    c.access_log.log(req, sink.status(), sink.body_bytes());
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
