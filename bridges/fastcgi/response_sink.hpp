// The ResponseSink of one FastCGI request: a CGI-style head ("Status: 200 OK", the
// headers, a blank line) and the body as STDOUT records, wsgi.errors as STDERR
// records, and the end of the request (empty STDOUT + END_REQUEST) in the same writev
// as the last bytes whenever the request body has been read to its end.
#pragma once

#include "record_writer.hpp"
#include "request_state.hpp"
#include "wsgibridge/limits.hpp"
#include "wsgibridge/response_sink.hpp"

#include <array>
#include <memory>
#include <optional>
#include <string>

namespace wsgibridge::fastcgi {

class Connection;

class FcgiResponseSink final : public ResponseSink
{
public:
    /// `errors_to_web_server`: wsgi.errors as FCGI_STDERR; false: the caller logs it.
    FcgiResponseSink(Connection& conn, RequestState& state, const Limits& limits,
                     bool errors_to_web_server = true);

    std::error_code start(const ResponseHead& head) override;
    std::error_code write(std::span<const char> data) override;
    std::error_code send_file(int fd, std::uint64_t offset, std::uint64_t count) override;
    std::error_code finish() override;
    void abort(std::string_view reason) override;
    bool write_error(std::string_view text) override;
    bool client_gone() const noexcept override;

    /// Answers without the application: `status` with a one-line plain-text body.
    void respond_error(int status);

    bool done() const noexcept { return phase_ == Phase::done || phase_ == Phase::aborted; }
    int status() const noexcept { return status_; }
    std::uint64_t body_bytes() const noexcept { return body_bytes_; }

private:
    enum class Phase { idle, started, done, aborted };
    std::error_code flush(std::span<const char> data);

    Connection& conn_;
    RequestState& state_;
    const Limits& limits_;
    bool errors_to_web_server_;
    RecordWriter writer_;
    /// The CGI head ("Status: ...", fields, blank line): in inline_head_ when it fits
    /// (a hello head is ~70 bytes), else in head_.
    std::array<char, 512> inline_head_;
    std::string head_;
    std::span<const char> head_bytes_;
    bool head_pending_ = false;
    bool sent_anything_ = false;
    bool ended_early_ = false; ///< END_REQUEST went with the chunk completing Content-Length
    std::optional<std::uint64_t> content_length_;
    Phase phase_ = Phase::idle;
    int status_ = 0;
    std::uint64_t body_bytes_ = 0;
};

} // namespace wsgibridge::fastcgi
