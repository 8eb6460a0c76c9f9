// BodySource for HTTP/1.x: pulls Content-Length or chunked bodies through Beast's
// request parser (buffer_body: straight into the application's buffer), sends
// "100 Continue" on the first read when asked, and drains what the application left.
// Internal.
#pragma once

#include "http/exchange.hpp"
#include "wsgibridge/body_source.hpp"

namespace wsgibridge::http {

class HttpBodySource final : public BodySource
{
public:
    explicit HttpBodySource(Exchange& exchange) noexcept : x_(exchange) {}

    Result<std::size_t> read(std::span<char> buf) override;
    std::optional<std::uint64_t> remaining() const noexcept override;

    /// After the response: reads and discards the rest of the body (at most
    /// Limits::max_drain_bytes) so the next request on the connection can be parsed and
    /// the client does not get a reset instead of the response. False: close instead.
    bool drain();

private:
    std::error_code fail(std::error_code ec, std::string_view detail = {});

    Exchange& x_;
    std::uint64_t consumed_ = 0;
};

/// Sans-I/O check of the chunk header(s) already buffered after the head, so a
/// malformed first chunk size gets its 400 before the application runs. Consumes
/// nothing the application could miss: only framing bytes, never body data.
/// `detail` receives the parser's words for a refusal; `wants_more` whether the parser
/// answered need_more to the buffered bytes (Exchange::wants_more).
std::error_code precheck_chunked(RequestParser& parser, boost::beast::flat_buffer& buffer,
                                 std::string& detail, bool& wants_more);

} // namespace wsgibridge::http
