#include "response_sink.hpp"

#include "net/write_all.hpp"
#include "termination.hpp"
#include "wsgibridge/error.hpp"
#include "wsgibridge/log.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <sys/uio.h>
#include <unistd.h>

namespace wsgibridge::cgi {
namespace {

// RFC 9110 §5.6.7 IMF-fixdate, without strftime's locale dependence.
void append_http_date(std::string& out)
{
    static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed",
                                                     "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    // Formatted once a second per thread: gmtime_r and snprintf cost more than the rest
    // of a small response head (a uwsgi server answers thousands a second).
    thread_local std::time_t formatted_at = -1;
    thread_local std::array<char, 40> buf{};
    thread_local std::size_t size = 0;
    std::time_t now = std::time(nullptr);
    if (now != formatted_at) {
        std::tm tm{};
        ::gmtime_r(&now, &tm);
        int n = std::snprintf(buf.data(), buf.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                              days[static_cast<std::size_t>(tm.tm_wday)], tm.tm_mday,
                              months[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900,
                              tm.tm_hour, tm.tm_min, tm.tm_sec);
        size = n > 0 ? static_cast<std::size_t>(n) : 0;
        formatted_at = now;
    }
    out.append(buf.data(), size);
}

} // namespace

StdoutSink::StdoutSink(int fd, std::string_view nph_protocol)
    : fd_(fd), mode_{.socket = false, .stop_on_interrupt = termination_requested},
      nph_protocol_(nph_protocol), date_and_connection_(!nph_protocol.empty())
{
    head_.reserve(512);
}

StdoutSink::StdoutSink(int fd, std::string_view status_protocol,
                       std::chrono::milliseconds write_timeout)
    : fd_(fd), mode_{.socket = true, .timeout = write_timeout}, nph_protocol_(status_protocol)
{
    head_.reserve(512);
}

void StdoutSink::format_head(const ResponseHead& head)
{
    head_.clear();
    if (nph_protocol_.empty()) {
        // Always an explicit Status: without one, "Location: /x" would be a local
        // redirect the server re-dispatches (RFC 3875 §6.2.2), and a 201 would be lost.
        head_ += "Status: ";
    } else {
        // Non-parsed headers (and uwsgi's): the gateway owns the status line.
        (head_ += nph_protocol_) += ' ';
    }
    (head_ += head.status) += "\r\n";
    if (date_and_connection_) {
        // NPH CGI goes to the client as it is: Date and Connection too (the connection
        // ends with the process).
        bool app_date = false;
        for (const auto& h : head.headers)
            app_date |= iequals(h.name, "Date");
        if (!app_date) (head_ += "Date: "), append_http_date(head_), head_ += "\r\n";
        head_ += "Connection: close\r\n";
    }
    for (const auto& h : head.headers)
        (((head_ += h.name) += ": ") += h.value) += "\r\n";
    if (head.content_length_computed && head.content_length)
        ((head_ += "Content-Length: ") += std::to_string(*head.content_length)) += "\r\n";
    head_ += "\r\n";
}

std::error_code StdoutSink::start(const ResponseHead& head)
{
    if (state_ != State::idle) return errc::app_error;
    format_head(head);
    status_ = head.status_code;
    body_allowed_ = head.body_allowed;
    state_ = State::started;
    return {};
}

// Head (once) and `body` in one writev, looping over partial writes.
std::error_code StdoutSink::send(std::span<const char> body)
{
    std::array<iovec, 2> iov{};
    std::size_t count = 0;
    if (!head_sent_) iov[count++] = {head_.data(), head_.size()};
    if (!body.empty()) iov[count++] = {const_cast<char*>(body.data()), body.size()};
    head_sent_ = true;
    auto ec = net::write_all(fd_, std::span<iovec>(iov.data(), count), mode_);
    if (ec) {
        gone_ = true;
        if (ec == errc::timeout) {
            timed_out_ = true;
            return ec;
        }
        return errc::peer_gone;
    }
    body_bytes_ += body.size();
    return {};
}

std::error_code StdoutSink::write(std::span<const char> data)
{
    if (state_ != State::started) return errc::app_error;
    if (termination_requested()) gone_ = true; // the server ended the request (SIGTERM)
    if (gone_) return errc::peer_gone;
    if (!body_allowed_ || data.empty()) return {};
    return send(data);
}

std::error_code StdoutSink::finish()
{
    if (state_ != State::started) return errc::app_error;
    std::error_code ec = head_sent_ || gone_ ? std::error_code{} : send({});
    state_ = ec ? State::aborted : State::done;
    return ec;
}

void StdoutSink::abort(std::string_view /*reason: logged by the caller*/)
{
    if (state_ == State::done || state_ == State::aborted) return;
    if (!head_sent_ && !gone_) {
        // Nothing has left yet: the client can still get a clean 500.
        state_ = State::idle;
        send_simple(500, !body_allowed_);
        state_ = State::aborted;
        return;
    }
    // Part of the response is out: ending the output (the process exits) is all CGI
    // offers; a server seeing fewer bytes than Content-Length flags the response.
    state_ = State::aborted;
}

std::error_code StdoutSink::send_simple(int status, bool head_only)
{
    std::string status_line(gateway_status_line(status));
    std::string body = status_line + "\n";
    std::string length = std::to_string(body.size());
    std::array<Header, 2> headers{
        {{"Content-Type", "text/plain; charset=utf-8"}, {"Content-Length", length}}};
    ResponseHead head;
    head.status_code = status;
    head.status = status_line;
    head.headers = headers;
    head.content_length = body.size();
    head.body_allowed = !head_only;
    if (auto ec = start(head)) return ec;
    if (auto ec = write(body)) return ec;
    return finish();
}

} // namespace wsgibridge::cgi
