#include "http/response_sink.hpp"

#include "http/date_cache.hpp"

#include <array>
#include <charconv>

namespace wsgibridge::http {
namespace {

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view last_chunk = "0\r\n\r\n";

void add_header(std::string& out, std::string_view name, std::string_view value)
{
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append(crlf);
}

/// "1a2b\r\n" into `buf`.
std::string_view chunk_header(std::array<char, 24>& buf, std::size_t size) noexcept
{
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + 16, size, 16);
    (void)ec; // 16 hex digits always fit a size_t
    end[0] = '\r';
    end[1] = '\n';
    return {buf.data(), static_cast<std::size_t>(end + 2 - buf.data())};
}

iovec iov(std::string_view s) noexcept
{
    return {const_cast<char*>(s.data()), s.size()};
}

} // namespace

HeadPlan encode_head(const ResponseHead& head, const HeadContext& ctx, std::string& out)
{
    HeadPlan plan;
    const int code = head.status_code;
    // RFC 9110 §6.4.1: 1xx and 204 never carry Content-Length; 304 may repeat it.
    const bool no_length = (code >= 100 && code < 200) || code == 204;
    plan.body = head.body_allowed && !no_length && code != 304;

    out.clear();
    out.append("HTTP/1.1 ");
    out.append(head.status);
    out.append(crlf);
    bool has_date = false, has_server = false;
    for (const auto& h : head.headers) {
        if (no_length && iequals(h.name, "Content-Length")) continue;
        has_date = has_date || iequals(h.name, "Date");
        has_server = has_server || iequals(h.name, "Server");
        add_header(out, h.name, h.value);
    }
    if (!has_date) add_header(out, "Date", ctx.date);
    if (!has_server && !ctx.server.empty()) add_header(out, "Server", ctx.server);

    if (head.content_length && head.content_length_computed && !no_length) {
        std::array<char, 24> digits;
        auto [end, ec] =
            std::to_chars(digits.data(), digits.data() + digits.size(), *head.content_length);
        (void)ec;
        add_header(out, "Content-Length",
                   {digits.data(), static_cast<std::size_t>(end - digits.data())});
    }
    plan.close = !ctx.keep_alive;
    if (plan.body && !head.content_length) {
        // Unknown length: chunked for HTTP/1.1, the end of the connection for 1.0.
        if (ctx.http10)
            plan.close = true;
        else
            plan.chunked = true;
    }
    if (plan.chunked) add_header(out, "Transfer-Encoding", "chunked");
    if (plan.close)
        add_header(out, "Connection", "close");
    else if (ctx.http10)
        add_header(out, "Connection", "keep-alive");
    out.append(crlf);
    return plan;
}

std::error_code HttpResponseSink::start(const ResponseHead& head)
{
    if (state_ != State::idle) return make_error_code(errc::app_error);
    // A server told to stop while the application ran closes after this response.
    const bool stopping = x_.stopping && x_.stopping->load(std::memory_order_relaxed);
    HeadContext ctx{x_.http10, x_.keep_alive && !x_.must_close && !stopping, http_date(), server_};
    plan_ = encode_head(head, ctx, head_);
    if (plan_.close) x_.must_close = true;
    remaining_ = plan_.body ? head.content_length : std::optional<std::uint64_t>{};
    status_ = head.status_code;
    state_ = State::head_pending; // sent with the first body bytes, or by finish()
    return {};
}

std::size_t HttpResponseSink::clamp(std::size_t n) const noexcept
{
    // Never more than the announced Content-Length: the excess would be parsed by the
    // client as the next response. The invoker stops the application there.
    if (remaining_ && *remaining_ < n) return static_cast<std::size_t>(*remaining_);
    return n;
}

std::error_code HttpResponseSink::send(std::span<iovec> vec)
{
    if (gone_) return make_error_code(errc::peer_gone);
    if (auto ec = x_.transport().write_all(vec, x_.limits->io_timeout)) {
        gone_ = true;
        x_.must_close = true;
        return ec;
    }
    x_.head_sent = true;
    return {};
}

std::error_code HttpResponseSink::write(std::span<const char> data)
{
    if (state_ != State::head_pending && state_ != State::streaming)
        return make_error_code(errc::app_error);
    std::size_t n = plan_.body ? clamp(data.size()) : 0;
    if (n == 0) return {}; // an empty chunk would end a chunked body
    std::array<iovec, 4> vec;
    std::size_t count = 0;
    if (state_ == State::head_pending) vec[count++] = iov(head_);
    std::array<char, 24> size_line;
    if (plan_.chunked) vec[count++] = iov(chunk_header(size_line, n));
    vec[count++] = iov({data.data(), n});
    if (plan_.chunked) vec[count++] = iov(crlf);
    state_ = State::streaming;
    if (remaining_) *remaining_ -= n;
    body_bytes_ += n;
    return send({vec.data(), count});
}

std::error_code HttpResponseSink::send_file(int fd, std::uint64_t offset, std::uint64_t count)
{
    if (state_ != State::head_pending && state_ != State::streaming)
        return make_error_code(errc::app_error);
    if (!plan_.body) return {};
    if (remaining_ && *remaining_ < count) count = *remaining_;
    if (count == 0) return {};
    std::array<iovec, 2> vec;
    std::size_t n = 0;
    if (state_ == State::head_pending) vec[n++] = iov(head_);
    std::array<char, 24> size_line;
    if (plan_.chunked) vec[n++] = iov(chunk_header(size_line, static_cast<std::size_t>(count)));
    state_ = State::streaming;
    if (auto ec = send({vec.data(), n})) return ec;
    if (auto ec = x_.transport().send_file_all(fd, offset, count, x_.limits->io_timeout)) {
        // Part of the body may be out: the framing is lost either way.
        gone_ = ec != errc::body_truncated;
        x_.must_close = true;
        return ec;
    }
    if (remaining_) *remaining_ -= count;
    body_bytes_ += count;
    if (plan_.chunked) {
        iovec end = iov(crlf);
        return send({&end, 1});
    }
    return {};
}

std::error_code HttpResponseSink::finish()
{
    if (state_ != State::head_pending && state_ != State::streaming)
        return make_error_code(errc::app_error);
    std::array<iovec, 2> vec;
    std::size_t n = 0;
    if (state_ == State::head_pending) vec[n++] = iov(head_);
    if (plan_.chunked) vec[n++] = iov(last_chunk);
    state_ = State::done;
    // A body shorter than its Content-Length cannot be completed: the client must see
    // the connection close rather than wait for the rest (PEP 3333 'Handling the Content-Length
    // Header').
    if (remaining_ && *remaining_ > 0) x_.must_close = true;
    return n ? send({vec.data(), n}) : std::error_code{};
}

void HttpResponseSink::abort(std::string_view reason)
{
    if (state_ == State::head_pending || state_ == State::streaming)
        x_.log->debug(concat("closing the connection of ", x_.peer, " mid-response: ", reason));
    state_ = State::aborted;
    x_.must_close = true;
}

} // namespace wsgibridge::http
