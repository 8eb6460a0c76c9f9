#include "http/canned.hpp"

#include "model/refusal.hpp"

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
    // For a limit, Beast's words ("header limit exceeded") add nothing to the option name.
    bool limit = reason == errc::header_too_large || reason == errc::too_many_headers ||
                 reason == errc::body_too_large || reason == errc::target_too_long ||
                 reason == errc::timeout;
    return wsgibridge::refusal_message(concat("HTTP request from ", peer), reason, limits,
                                       limit ? std::string_view{} : detail);
}

} // namespace wsgibridge::http
