// In-memory ends of the one request model, to test a RequestHandler without sockets
// (h2o's loopback connection idea): a ResponseSink that records every call, a
// BodySource over a string (with short reads and injected failures), a RequestBuilder,
// and a Logger whose lines can be read back.
#pragma once

#include "wsgibridge/body_source.hpp"
#include "wsgibridge/log.hpp"
#include "wsgibridge/request.hpp"
#include "wsgibridge/response_sink.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace wsgibridge::test {

class MemorySink final : public ResponseSink
{
public:
    std::error_code start(const ResponseHead& head) override;
    std::error_code write(std::span<const char> data) override;
    std::error_code send_file(int fd, std::uint64_t offset, std::uint64_t count) override;
    std::error_code finish() override;
    void abort(std::string_view reason) override;
    bool write_error(std::string_view text) override;
    bool client_gone() const noexcept override { return gone_; }

    // What happened.
    int start_calls = 0, write_calls = 0, finish_calls = 0, abort_calls = 0;
    int status_code = 0;
    std::string status;
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::uint64_t> content_length;
    bool content_length_computed = false;
    bool body_allowed = true;
    std::string body; ///< everything written, send_file data included
    std::vector<std::string> chunks;
    struct FileSend
    {
        std::uint64_t offset, count;
    };
    std::vector<FileSend> files;
    std::string abort_reason;
    std::string errors;                  ///< wsgi.errors text, when capture_errors
    std::vector<std::string> violations; ///< calls out of the sink's state machine order

    // How it behaves.
    bool capture_errors = false; ///< write_error returns true and records the text
    int fail_after_writes = -1;  ///< write() fails (EPIPE) once this many succeeded
    int gone_after_writes = -1;  ///< client_gone() turns true after this many writes (an ABORT)
    bool fail_start = false;

    bool done() const noexcept { return finish_calls + abort_calls > 0; }
    std::optional<std::string> header(std::string_view name) const;

private:
    bool gone_ = false;
};

/// A body held in memory. Reads return at most `max_read` bytes (short reads like a
/// socket); `fail_at` makes the read that reaches that offset fail with `error`.
class MemoryBody final : public BodySource
{
public:
    explicit MemoryBody(std::string data = {}, bool length_known = true)
        : data_(std::move(data)), known_(length_known)
    {
    }

    Result<std::size_t> read(std::span<char> buf) override;
    std::optional<std::uint64_t> remaining() const noexcept override;

    std::size_t max_read = 1 << 20;
    std::optional<std::size_t> fail_at;
    std::error_code error = make_error_code(errc::body_too_large);
    int read_calls = 0;
    std::size_t consumed() const noexcept { return pos_; }

private:
    std::string data_;
    bool known_;
    std::size_t pos_ = 0;
};

/// Builds a Request; the strings it points into live in the builder.
class RequestBuilder
{
public:
    RequestBuilder(std::string_view method = "GET", std::string_view target = "/");

    RequestBuilder& method(std::string_view m);
    /// Sets the target (REQUEST_URI), PATH_INFO (percent-decoded path) and QUERY_STRING.
    RequestBuilder& target(std::string_view t);
    RequestBuilder& mount(std::string_view script_name); ///< splits PATH_INFO at the mount
    RequestBuilder& scheme(std::string_view s);
    RequestBuilder& header(std::string_view name, std::string_view value);
    RequestBuilder& variable(std::string_view name, std::string_view value);
    /// A body with Content-Length (and the header); `chunked` leaves the length unknown.
    RequestBuilder& body(std::string_view data, bool chunked = false);

    const Request& request() const noexcept { return req_; }
    MemoryBody make_body() const { return MemoryBody(body_, !chunked_); }

private:
    std::string_view keep(std::string_view s);
    std::deque<std::string> storage_;
    Request req_;
    std::string body_;
    bool chunked_ = false;
    std::string decoded_path_;
};

/// A Logger writing into an anonymous file that the test reads back.
class LogCapture
{
public:
    LogCapture();
    ~LogCapture();
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    const Logger& logger() const noexcept { return log_; }
    std::string text() const;
    bool contains(std::string_view s) const { return text().find(s) != std::string::npos; }
    void clear();

private:
    int fd_;
    Logger log_;
};

} // namespace wsgibridge::test
