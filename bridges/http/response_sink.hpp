// ResponseSink for HTTP/1.x: Content-Length or chunked framing, head and first body
// chunk in one sendmsg, sendfile for wsgi.file_wrapper. Internal.
#pragma once

#include "http/exchange.hpp"
#include "wsgibridge/response_sink.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/uio.h>

namespace wsgibridge::http {

struct HeadContext
{
    bool http10 = false;
    bool keep_alive = true; ///< the connection may stay open after this response
    std::string_view date;
    std::string_view server;
};

struct HeadPlan
{
    bool body = true;     ///< a body follows the head
    bool chunked = false; ///< ... in chunked transfer coding
    bool close = false;   ///< the connection closes after this response
};

/// Encodes the status line and header block into `out` (replacing its contents, keeping
/// its capacity) and says how the body is framed. Pure: unit-tested on golden text.
HeadPlan encode_head(const ResponseHead& head, const HeadContext& ctx, std::string& out);

class HttpResponseSink final : public ResponseSink
{
public:
    /// `head_buffer` is the connection's reused buffer for the encoded head.
    HttpResponseSink(Exchange& exchange, std::string& head_buffer, std::string_view server) noexcept
        : x_(exchange), head_(head_buffer), server_(server)
    {
    }

    std::error_code start(const ResponseHead& head) override;
    std::error_code write(std::span<const char> data) override;
    std::error_code send_file(int fd, std::uint64_t offset, std::uint64_t count) override;
    std::error_code finish() override;
    void abort(std::string_view reason) override;
    bool client_gone() const noexcept override { return gone_; }

    bool started() const noexcept { return state_ != State::idle; }
    bool completed() const noexcept { return state_ == State::done; }
    int status() const noexcept { return status_; }
    std::uint64_t body_bytes() const noexcept { return body_bytes_; }

private:
    enum class State { idle, head_pending, streaming, done, aborted };

    std::error_code send(std::span<iovec> iov);
    std::size_t clamp(std::size_t n) const noexcept;

    Exchange& x_;
    std::string& head_;
    std::string_view server_;
    State state_ = State::idle;
    HeadPlan plan_;
    std::optional<std::uint64_t> remaining_; ///< Content-Length budget left
    int status_ = 0;
    std::uint64_t body_bytes_ = 0;
    bool gone_ = false;
};

} // namespace wsgibridge::http
