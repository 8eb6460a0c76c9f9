#include "http/body_source.hpp"

#include <array>
#include <boost/asio/error.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/read.hpp>

namespace wsgibridge::http {
namespace {

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

std::error_code to_errc(const boost::beast::error_code& ec) noexcept
{
    if (ec == bhttp::error::body_limit) return make_error_code(errc::body_too_large);
    if (ec == bhttp::error::partial_message || ec == boost::asio::error::eof)
        return make_error_code(errc::body_truncated);
    if (ec == boost::beast::error::timeout) return make_error_code(errc::timeout);
    // Every other parser error is the client's framing: a bad chunk size or extension
    // (a bare CR), a malformed trailer line, Content-Length or Transfer-Encoding in the
    // trailer section (RFC 9112 section 7.1.2), a chunk line past the buffer limit.
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_chunk).category())
        return make_error_code(errc::bad_chunk);
    return make_error_code(errc::peer_gone);
}

/// The shortest complete end of a chunked body, "0\r\n\r\n" (RFC 9112 section 7.1).
constexpr std::size_t min_last_chunk = 5;

/// True when the buffered bytes are a last-chunk line that does not yet hold the
/// shortest ending: Beast 1.81 has then entered its final-chunk state (it saw
/// `1*"0" [ext] CRLF` as the first line after the head) and assumes at least five bytes
/// on the next put(). Its debug assertion `n >= 5` fires on three or four; the check
/// was too strict and was relaxed upstream (boostorg/beast#2861, Boost 1.86).
bool short_last_chunk(const boost::beast::flat_buffer& buffer) noexcept
{
    std::string_view b(static_cast<const char*>(buffer.data().data()), buffer.size());
    return b.size() < min_last_chunk && b.starts_with('0') &&
           b.find("\r\n") != std::string_view::npos;
}

/// Beast's http::read_some (1.81, impl/read.hpp) for the body, with one difference:
/// after put() answered need_more, the parser gets the buffer again only once it grew
/// (and, for a last-chunk line, holds at least min_last_chunk bytes). Beast's own loop
/// always reads before putting again, but the head reader's precheck_chunked() may
/// have left the parser waiting on the very bytes still in the buffer; feeding them
/// again broke Beast's assumption above (a fuzz finding: "0\n\r\n" after the head).
/// Both waits are for bytes a well-formed body sends anyway, so none can stall one.
template <class SyncReadStream>
boost::beast::error_code parse_some(SyncReadStream& stream, boost::beast::flat_buffer& buffer,
                                    RequestParser& parser, bool& wants_more)
{
    boost::beast::error_code ec;
    for (;;) {
        if (!wants_more && buffer.size() > 0) {
            buffer.consume(parser.put(buffer.data(), ec));
            if (ec != bhttp::error::need_more) return ec;
            wants_more = true;
        }
        const auto room = boost::beast::read_size(buffer, 65536);
        if (room == 0) return bhttp::error::buffer_overflow;
        const auto n = stream.read_some(buffer.prepare(room), ec);
        buffer.commit(n);
        if (ec == boost::asio::error::eof) {
            ec = {};
            parser.put_eof(ec); // partial_message unless the body was complete
            return ec;
        }
        if (ec) return ec;
        if (n > 0 && !(parser.chunked() && short_last_chunk(buffer))) wants_more = false;
    }
}

} // namespace

std::error_code HttpBodySource::fail(std::error_code ec, std::string_view detail)
{
    // The parser cannot resume after an error: whatever follows on the wire is not a
    // request we can find the start of.
    x_.must_close = true;
    if (!x_.body_error) {
        x_.body_error = ec;
        if (ec == errc::body_too_large)
            x_.log->warning(concat("413 to ", x_.peer, ": request body larger than --max-body (",
                                   x_.limits->max_body_bytes, " bytes)"));
        else if (ec == errc::bad_chunk)
            x_.log->warning(
                concat("400 to ", x_.peer, ": malformed chunked request body: ",
                       x_.chunks && !x_.chunks->problem().empty() ? x_.chunks->problem() : detail));
        else if (ec == errc::timeout)
            x_.log->warning(concat("request body from ", x_.peer,
                                   " stalled longer than --io-timeout (",
                                   x_.limits->io_timeout.count(), " ms)"));
        else
            x_.log->info(concat("request body from ", x_.peer, " ended early: ", ec.message()));
    }
    return ec;
}

Result<std::size_t> HttpBodySource::read(std::span<char> buf)
{
    if (x_.body_error) return x_.body_error;
    auto& parser = *x_.parser;
    if (parser.is_done() || buf.empty()) return std::size_t{0};

    // RFC 9110 §10.1.1, Expect: 100-continue: the client waits for "100 Continue" only until we
    // answer; once the response head is out it must not see a stray 100 in front of the next
    // response.
    if (x_.expect_continue && !x_.continue_sent && !x_.head_sent) {
        x_.continue_sent = true;
        if (auto ec = x_.transport().write_all(continue_line, x_.limits->io_timeout))
            return fail(ec);
    }

    TransportReadStream stream(x_.transport(), x_.limits->io_timeout);
    for (;;) {
        auto& body = parser.get().body();
        body.data = buf.data();
        body.size = buf.size();
        body.more = true;
        boost::beast::error_code ec = parse_some(stream, *x_.buffer, parser, x_.wants_more);
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) return fail(to_errc(ec), ec.message());
        std::size_t n = buf.size() - parser.get().body().size;
        if (n > 0 || parser.is_done()) {
            consumed_ += n;
            return n;
        }
    }
}

std::optional<std::uint64_t> HttpBodySource::remaining() const noexcept
{
    auto length = x_.parser->content_length();
    if (!length) return x_.parser->is_done() ? std::optional<std::uint64_t>(0) : std::nullopt;
    return *length > consumed_ ? *length - consumed_ : 0;
}

bool HttpBodySource::drain()
{
    if (x_.body_error || x_.must_close) return false;
    if (x_.parser->is_done()) return true;
    // The client holds the body back until it sees 100 Continue, which it will not get
    // now: closing is the only way to keep the connection in sync.
    if (x_.expect_continue && !x_.continue_sent) return false;
    if (auto left = remaining(); left && *left > x_.limits->max_drain_bytes) return false;

    std::array<char, 16 * 1024> scratch;
    std::uint64_t drained = 0;
    while (!x_.parser->is_done()) {
        auto n = read(scratch);
        if (!n) return false;
        drained += *n;
        if (drained > x_.limits->max_drain_bytes) return false;
    }
    return true;
}

std::error_code precheck_chunked(RequestParser& parser, boost::beast::flat_buffer& buffer,
                                 std::string& detail, bool& wants_more)
{
    wants_more = false;
    if (!parser.chunked() || parser.is_done() || buffer.size() == 0) return {};
    // No body buffer: the parser stops with need_buffer at the first data byte, having
    // validated (and consumed) only the chunk header before it.
    auto& body = parser.get().body();
    body.data = nullptr;
    body.size = 0;
    body.more = true;
    boost::beast::error_code ec;
    std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    wants_more = ec == bhttp::error::need_more;
    if (ec == bhttp::error::need_buffer || ec == bhttp::error::need_more) return {};
    if (ec) {
        detail = ec.message();
        return to_errc(ec);
    }
    return {};
}

} // namespace wsgibridge::http
