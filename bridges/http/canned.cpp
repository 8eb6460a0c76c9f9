#include "http/canned.hpp"

#include <array>

namespace wsgibridge::http {

void send_canned(HttpResponseSink& sink, int code)
{
    std::string_view line = gateway_status_line(code);
    // The body is the status line itself: enough for a human, nothing leaked.
    std::array<char, 64> body{};
    std::size_t n = line.copy(body.data(), body.size() - 1);
    body[n++] = '\n';
    const std::array<Header, 1> headers{{{"Content-Type", "text/plain; charset=utf-8"}}};
    ResponseHead head;
    head.status_code = code;
    head.status = line;
    head.headers = headers;
    head.content_length = n;
    head.content_length_computed = true;
    if (sink.start(head)) return;
    if (sink.write({body.data(), n})) return;
    (void)sink.finish();
}

std::string refusal_message(std::error_code reason, std::string_view peer, const Limits& limits,
                            std::string_view detail)
{
    std::string prefix = concat(http_status_for(reason), " to ", peer, ": ");
    switch (static_cast<errc>(reason.value())) {
    case errc::header_too_large:
        return concat(prefix, "request head larger than --max-header-bytes (",
                      limits.max_header_bytes, " bytes)");
    case errc::too_many_headers:
        return concat(prefix, "more header fields than --max-header-count (",
                      limits.max_header_count, ")");
    case errc::body_too_large:
        return concat(prefix, "request body larger than --max-body (", limits.max_body_bytes,
                      " bytes)");
    case errc::target_too_long:
        return concat(prefix, "request-target longer than --max-target-bytes (",
                      limits.max_target_bytes, " bytes)");
    case errc::method_not_implemented:
        return concat(prefix, detail);
    case errc::timeout:
        return concat(prefix, "request head not complete within --header-timeout (",
                      limits.header_timeout.count(), " ms)");
    case errc::bad_content_length:
        return concat(prefix, "ambiguous body length: ", detail, " (RFC 9112 section 6.3)");
    case errc::unsupported_transfer_encoding:
        return concat(prefix, "unsupported Transfer-Encoding (only chunked is accepted)");
    case errc::unsupported_version:
        return concat(prefix, "unsupported HTTP version");
    case errc::bad_chunk:
        return concat(prefix, "malformed chunked body: ", detail);
    default:
        return concat(prefix, "malformed request: ", detail);
    }
}

} // namespace wsgibridge::http
