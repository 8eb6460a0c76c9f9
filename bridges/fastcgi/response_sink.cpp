#include "response_sink.hpp"

#include "connection.hpp"
#include "wsgibridge/log.hpp"

#include <charconv>
#include <cstring>

namespace wsgibridge::fastcgi {

FcgiResponseSink::FcgiResponseSink(Connection& conn, RequestState& state, const Limits& limits,
                                   bool errors_to_web_server)
    : conn_(conn), state_(state), limits_(limits), errors_to_web_server_(errors_to_web_server),
      writer_(state.id)
{
}

std::error_code FcgiResponseSink::start(const ResponseHead& head)
{
    if (phase_ != Phase::idle) return errc::app_error;
    status_ = head.status_code;
    content_length_ = head.body_allowed ? head.content_length : std::optional<std::uint64_t>{};
    // Sized first, then copied in once: into the sink itself for the usual head (no
    // allocation), else into head_. Appending piece by piece cost a call per piece.
    constexpr std::string_view status_prefix = "Status: ", crlf = "\r\n", colon = ": ",
                               length_prefix = "Content-Length: ";
    bool add_length = head.content_length_computed && head.content_length;
    std::size_t size = status_prefix.size() + head.status.size() + 2 * crlf.size();
    for (const auto& h : head.headers)
        size += h.name.size() + colon.size() + h.value.size() + crlf.size();
    if (add_length) size += length_prefix.size() + 20 + crlf.size(); // 2^64 has 20 digits
    char* out = inline_head_.data();
    if (size > inline_head_.size()) {
        head_.resize(size);
        out = head_.data();
    }
    char* p = out;
    auto put = [&p](std::string_view s) {
        std::memcpy(p, s.data(), s.size());
        p += s.size();
    };
    put(status_prefix);
    put(head.status);
    put(crlf);
    for (const auto& h : head.headers) {
        put(h.name);
        put(colon);
        put(h.value);
        put(crlf);
    }
    if (add_length) {
        put(length_prefix);
        p = std::to_chars(p, out + size, *head.content_length).ptr;
        put(crlf);
    }
    put(crlf);
    head_bytes_ = {out, static_cast<std::size_t>(p - out)};
    head_pending_ = true;
    phase_ = Phase::started;
    return {};
}

std::error_code FcgiResponseSink::flush(std::span<const char> data)
{
    writer_.reset(state_.id);
    if (head_pending_) writer_.append(RecordType::stdout_stream, head_bytes_);
    writer_.append(RecordType::stdout_stream, data);
    if (writer_.empty()) return {};
    auto ec = conn_.write(state_, writer_.iov(), false);
    if (!ec) {
        head_pending_ = false;
        sent_anything_ = true;
        body_bytes_ += data.size();
    }
    return ec;
}

std::error_code FcgiResponseSink::write(std::span<const char> data)
{
    if (phase_ != Phase::started) return errc::app_error;
    // An empty chunk (yield b"") sends nothing: an empty STDOUT record would end the stream.
    if (data.empty()) return {};
    bool last = content_length_ && body_bytes_ + data.size() >= *content_length_;
    if (!last || !state_.body->complete()) {
        conn_.poll_while_inline();
        return flush(data);
    }
    // The chunk completing Content-Length: nginx considers the response done when it
    // has that many bytes and closes a kept connection on which END_REQUEST has not
    // arrived yet, so the end of the request travels in the same writev. No look for
    // ABORT_REQUEST first (a read per request for hello-sized answers): the answer to
    // one would be this END_REQUEST too, and a web server gone makes the write fail.
    writer_.reset(state_.id);
    if (head_pending_) writer_.append(RecordType::stdout_stream, head_bytes_);
    writer_.append(RecordType::stdout_stream, data);
    writer_.end_stream(RecordType::stdout_stream);
    writer_.end_request(0, ProtocolStatus::request_complete);
    auto ec = conn_.write(state_, writer_.iov(), true);
    if (ec) return ec;
    head_pending_ = false;
    sent_anything_ = true;
    body_bytes_ += data.size();
    ended_early_ = true;
    return {};
}

std::error_code FcgiResponseSink::send_file(int fd, std::uint64_t offset, std::uint64_t count)
{
    if (phase_ != Phase::started) return errc::app_error;
    conn_.poll_while_inline();
    if (head_pending_)
        if (auto ec = flush({})) return ec;
    auto sent = conn_.send_file(state_, fd, offset, count);
    if (!sent) return sent.error();
    body_bytes_ += *sent;
    sent_anything_ = sent_anything_ || *sent > 0;
    return {};
}

std::error_code FcgiResponseSink::finish()
{
    if (phase_ != Phase::started) return errc::app_error;
    phase_ = Phase::done;
    if (ended_early_) return {};
    writer_.reset(state_.id);
    if (head_pending_) writer_.append(RecordType::stdout_stream, head_bytes_);
    writer_.end_stream(RecordType::stdout_stream);
    auto& body = *state_.body;
    bool body_read = body.complete();
    // The usual case: one writev with the last bytes, the end of STDOUT and END_REQUEST.
    if (body_read) writer_.end_request(0, ProtocolStatus::request_complete);
    auto ec = conn_.write(state_, writer_.iov(), body_read);
    if (ec || body_read) return ec;
    // The app left part of the body unread: take it in (bounded by --max-drain) before
    // END_REQUEST, else a web server still sending sees a reset instead of the reply.
    if (!body.drain(limits_.max_drain_bytes))
        conn_.log().info(concat("FastCGI request ", state_.id, ": unread body over --max-drain (",
                                limits_.max_drain_bytes, " bytes) or stalled; ending the request"));
    writer_.reset(state_.id);
    writer_.end_request(0, ProtocolStatus::request_complete);
    return conn_.write(state_, writer_.iov(), true);
}

void FcgiResponseSink::abort(std::string_view reason)
{
    if (done()) return;
    if (ended_early_) {
        // Everything the head announced went out with END_REQUEST: nothing to break.
        phase_ = Phase::aborted;
        return;
    }
    phase_ = Phase::aborted;
    if (state_.aborted) return; // ABORT_REQUEST: END_REQUEST already went out
    conn_.log().info(concat("FastCGI request ", state_.id, " aborted: ", reason));
    if (sent_anything_) {
        // Part of a response went out: only a broken connection tells the web server
        // (and so the client) that the response is incomplete.
        conn_.break_connection();
        return;
    }
    writer_.reset(state_.id);
    writer_.end_stream(RecordType::stdout_stream);
    writer_.end_request(1, ProtocolStatus::request_complete);
    (void)conn_.write(state_, writer_.iov(), true);
}

bool FcgiResponseSink::write_error(std::string_view text)
{
    if (!errors_to_web_server_) return false; // the invoker logs it
    if (text.empty()) return true;
    RecordWriter w(state_.id);
    w.append(RecordType::stderr_stream, text);
    (void)conn_.write(state_, w.iov(), false);
    return true;
}

bool FcgiResponseSink::client_gone() const noexcept
{
    return state_.aborted || conn_.broken();
}

void FcgiResponseSink::respond_error(int status)
{
    std::string_view line = gateway_status_line(status);
    std::string body = concat(line, "\n");
    ResponseHead head;
    head.status_code = status;
    head.status = line;
    Header fields[] = {{"Content-Type", "text/plain; charset=utf-8"}};
    head.headers = fields;
    head.content_length = body.size();
    head.content_length_computed = true;
    if (start(head)) return;
    if (write(body)) return;
    (void)finish();
}

} // namespace wsgibridge::fastcgi
