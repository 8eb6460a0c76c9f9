#include "response.hpp"

#include "gil.hpp"
#include "validate.hpp"

#include <algorithm>
#include <cstring>

namespace wsgibridge::py {
namespace {

ResponseHead make_head(const RequestContext& ctx)
{
    const auto& r = ctx.resp;
    ResponseHead head;
    head.status_code = r.code;
    head.status = r.status;
    head.headers = r.headers;
    head.content_length = r.content_length;
    head.content_length_computed = r.length_computed;
    head.body_allowed = r.body_allowed;
    return head;
}

void note_sink_error(RequestContext& ctx, std::error_code ec, const char* what)
{
    ctx.sink_error = ec;
    // A client going away is normal traffic, not a server error.
    ctx.log.info(concat(ctx.label(), ": ", what, " failed (", ec.message(),
                        "); the client is gone, response abandoned"));
}

} // namespace

void ResponseState::reset() noexcept
{
    drop_head();
    length_computed = false;
    phase = Phase::no_head;
    write_used = overrun_logged = false;
    body_allowed = true;
    bytes_sent = 0;
}

void ResponseState::drop_head() noexcept
{
    status_ref.reset();
    status = {};
    code = 0;
    refs.clear();
    headers.clear();
    content_length.reset();
}

std::string RequestContext::label() const
{
    return concat(req.method, " ", req.target);
}

namespace {

/// Fixes body_allowed with the first data, and clips `data` at the app's Content-Length.
std::string_view clip(RequestContext& ctx, std::string_view data, bool first)
{
    auto& r = ctx.resp;
    if (first) r.body_allowed = wsgi::status_allows_body(r.code) && !ctx.head_method;
    if (r.content_length && r.body_allowed) {
        std::uint64_t left = *r.content_length - r.bytes_sent;
        if (data.size() > left) {
            if (!r.overrun_logged)
                ctx.log.warning(concat(ctx.label(),
                                       ": the application sent more than its Content-Length (",
                                       *r.content_length, " bytes); the excess was not sent"));
            r.overrun_logged = true;
            data = data.substr(0, static_cast<std::size_t>(left));
        }
    }
    return data;
}

/// Above this, the copy would cost more than the GIL round trip it saves.
constexpr std::size_t max_deferred_bytes = 16 * 1024;

/// Copies the held head and `body` into `d`; false (nothing armed) if too big.
bool park(const ResponseState& r, std::string_view body, DeferredSend& d)
{
    std::size_t total = r.status.size() + body.size();
    for (const Header& h : r.headers)
        total += h.name.size() + h.value.size();
    if (total > max_deferred_bytes) return false;
    // Grown once per thread (to the largest response parked so far), then only copied
    // into: std::string::append per field cost more than the copies themselves.
    if (d.bytes.size() < total) d.bytes.resize(std::max<std::size_t>(total, 1024));
    d.headers.clear();
    char* out = d.bytes.data();
    auto copy = [&out](std::string_view s) {
        if (!s.empty()) std::memcpy(out, s.data(), s.size());
        std::string_view copied(out, s.size());
        out += s.size();
        return copied;
    };
    d.head = {};
    d.head.status_code = r.code;
    d.head.status = copy(r.status);
    for (const Header& h : r.headers) {
        std::string_view name = copy(h.name);
        d.headers.push_back({name, copy(h.value)});
    }
    d.head.headers = d.headers;
    d.head.content_length = r.content_length;
    d.head.content_length_computed = r.length_computed;
    d.head.body_allowed = r.body_allowed;
    d.body = copy(body);
    d.armed = true;
    return true;
}

} // namespace

Sent write_last(RequestContext& ctx, std::string_view data)
{
    auto& r = ctx.resp;
    if (ctx.deferred == nullptr || r.head_sent() || ctx.sink_error)
        return write_body(ctx, data, true);
    bool allowed_before = r.body_allowed;
    std::string_view body = clip(ctx, data, true);
    if (!park(r, r.body_allowed ? body : std::string_view{}, *ctx.deferred)) {
        r.body_allowed = allowed_before; // write_body decides it again
        return write_body(ctx, body, true);
    }
    // What write_body(..., true) leaves behind on success; a failure of the parked send
    // is noted by send_deferred.
    r.phase = Phase::finished;
    if (r.body_allowed) r.bytes_sent += body.size();
    return Sent::done;
}

void send_deferred(RequestContext& ctx) noexcept
{
    if (ctx.deferred == nullptr || !ctx.deferred->armed) return;
    DeferredSend& d = *ctx.deferred;
    d.armed = false;
    std::error_code ec = ctx.sink.respond(d.head, {d.body.data(), d.body.size()});
    if (!ec) return;
    // As write_body and abandon_response do, without the GIL (neither needs it).
    try {
        note_sink_error(ctx, ec, "sending the response head");
        ctx.sink.abort(concat("client gone: ", ec.message()));
    } catch (...) {
        ctx.sink.abort("client gone");
    }
}

Sent write_body(RequestContext& ctx, std::string_view data, bool and_finish)
{
    auto& r = ctx.resp;
    if (ctx.sink_error) return Sent::failed;
    bool first = !r.head_sent();
    data = clip(ctx, data, first);
    ResponseHead head;
    if (first) {
        head = make_head(ctx);
        r.phase = Phase::head_sent;
    }
    std::error_code ec;
    {
        GilRelease unlocked;
        if (first) ec = ctx.sink.start(head);
        if (!ec && r.body_allowed && !data.empty()) ec = ctx.sink.write({data.data(), data.size()});
        if (!ec && and_finish) ec = ctx.sink.finish();
        // Asked here, where the GIL is already released (the sink's calls never run with
        // it): the invoker stops iterating before pulling the next item.
        if (!ec && !and_finish) ctx.client_gone = ctx.sink.client_gone();
    }
    if (ec) {
        note_sink_error(ctx, ec, first ? "sending the response head" : "sending the body");
        return Sent::failed;
    }
    if (r.body_allowed) r.bytes_sent += data.size();
    if (and_finish) {
        r.phase = Phase::finished;
        return Sent::done;
    }
    if (!r.body_allowed) return Sent::done;
    if (r.content_length && r.bytes_sent >= *r.content_length) return Sent::done;
    return Sent::more;
}

void finish_response(RequestContext& ctx)
{
    auto& r = ctx.resp;
    if (ctx.sink_error) return abandon_response(ctx);
    if (!r.head_sent()) {
        // Nothing was sent, so the body is empty and its length is known; not for HEAD,
        // where an app may leave the body out and a GET would have had one.
        if (!r.content_length && !ctx.head_method && wsgi::status_allows_content_length(r.code)) {
            r.content_length = 0;
            r.length_computed = true;
        }
        if (write_body(ctx, {}) == Sent::failed) return abandon_response(ctx);
    }
    if (r.body_allowed && r.content_length && r.bytes_sent < *r.content_length) {
        std::string reason = concat("the application sent ", r.bytes_sent, " of the ",
                                    *r.content_length, " bytes of its Content-Length");
        ctx.log.error(concat(ctx.label(), ": ", reason, "; response aborted"));
        GilRelease unlocked;
        ctx.sink.abort(reason);
        return;
    }
    std::error_code ec;
    {
        GilRelease unlocked;
        ec = ctx.sink.finish();
    }
    if (ec) note_sink_error(ctx, ec, "finishing the response");
}

void fail_response(RequestContext& ctx, int code, std::string_view reason)
{
    auto& r = ctx.resp;
    // A parked response that was not sent yet: the sink is still idle, and abort() (or
    // an error answer) replaces it.
    if (ctx.deferred) ctx.deferred->armed = false;
    if (ctx.sink_error) return abandon_response(ctx);
    if (r.head_sent()) {
        GilRelease unlocked;
        ctx.sink.abort(reason);
        return;
    }
    static constexpr Header text_plain[] = {{"Content-Type", "text/plain; charset=utf-8"}};
    std::string_view status = gateway_status_line(code);
    std::string_view body = status.substr(4); // "Internal Server Error"
    static thread_local std::string body_line;
    body_line.assign(body);
    body_line += '\n';

    ResponseHead head;
    head.status_code = code;
    head.status = status;
    head.headers = text_plain;
    head.content_length = body_line.size();
    head.content_length_computed = true;
    head.body_allowed = !ctx.head_method;
    r.phase = Phase::error_sent;
    std::error_code ec;
    {
        GilRelease unlocked;
        ec = ctx.sink.start(head);
        if (!ec && head.body_allowed) ec = ctx.sink.write({body_line.data(), body_line.size()});
        if (!ec) ec = ctx.sink.finish();
    }
    if (ec) note_sink_error(ctx, ec, "sending the error response");
    if (ec) abandon_response(ctx);
}

void abandon_response(RequestContext& ctx)
{
    if (ctx.deferred) ctx.deferred->armed = false;
    std::string reason = concat("client gone: ", ctx.sink_error.message());
    GilRelease unlocked;
    ctx.sink.abort(reason);
}

} // namespace wsgibridge::py
