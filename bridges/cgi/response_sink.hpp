// The CGI response on stdout (RFC 3875 §6): "Status:" line, header fields, blank line,
// body, written with writev straight to the fd (no stdio buffering), so each chunk
// the application yields leaves at once. Internal to the CGI front end.
#pragma once

#include "net/write_all.hpp"
#include "wsgibridge/response_sink.hpp"

#include <chrono>
#include <string>

namespace wsgibridge::cgi {

class StdoutSink final : public ResponseSink
{
public:
    /// `nph_protocol`: empty for a parsed-header response ("Status: 200 OK"); else the
    /// protocol of the status line of a non-parsed-header response ("HTTP/1.1").
    /// Writes go out with writev and no time limit: CGI stdout is a pipe the web server
    /// reads, and the server bounds the script's run itself (Apache's Timeout, SIGTERM).
    explicit StdoutSink(int fd, std::string_view nph_protocol = {});
    /// `fd` is a connected socket (an SCGI or uwsgi connection): a write that makes no
    /// progress for `write_timeout` fails with errc::timeout, and the caller drops the
    /// connection, so a web server or client that stops reading cannot hold the thread.
    /// `status_protocol`: empty for SCGI's CGI-style head ("Status: 200 OK"); else the
    /// protocol of uwsgi's status line, which the application's headers follow alone, as
    /// uWSGI sends them: the web server in front (nginx uwsgi_pass) writes the Date and
    /// owns the connection to the client, so neither Date nor Connection is added.
    StdoutSink(int fd, std::string_view status_protocol, std::chrono::milliseconds write_timeout);

    std::error_code start(const ResponseHead& head) override;
    std::error_code write(std::span<const char> data) override;
    std::error_code finish() override;
    void abort(std::string_view reason) override;
    bool client_gone() const noexcept override { return gone_; }
    /// A write failed on the time limit (the socket constructor's `write_timeout`).
    bool timed_out() const noexcept { return timed_out_; }

    /// A complete plain-text response of the gateway's own (400, 413, 500...).
    /// `head_only` leaves the body out (HEAD).
    std::error_code send_simple(int status, bool head_only);

    bool started() const noexcept { return state_ != State::idle; }
    bool completed() const noexcept { return state_ == State::done; }
    int status() const noexcept { return status_; }
    std::uint64_t body_bytes() const noexcept { return body_bytes_; }

private:
    enum class State { idle, started, done, aborted };
    std::error_code send(std::span<const char> body);
    void format_head(const ResponseHead& head);

    int fd_;
    net::WriteMode mode_;
    std::string nph_protocol_;
    /// NPH CGI: the response goes to the client unparsed, so the gateway adds Date and
    /// Connection: close (RFC 3875 §5). Not on a uwsgi socket (see the constructor).
    bool date_and_connection_ = false;
    std::string head_; // reused; formatted by start(), sent with the first body bytes
    bool head_sent_ = false;
    bool body_allowed_ = true;
    bool gone_ = false;
    bool timed_out_ = false;
    State state_ = State::idle;
    int status_ = 0;
    std::uint64_t body_bytes_ = 0;
};

} // namespace wsgibridge::cgi
