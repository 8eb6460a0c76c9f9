// Where a response goes. Each front end implements it once; the invoker drives it.
//
// State machine:
//   idle --start()--> started --write()*, send_file()*--> --finish()--> done
//   idle --respond()--> done (start, write, finish in one call)
//   idle or started --abort()--> aborted
// start() may only buffer the head: bytes are guaranteed handed to the transport when
// write() or finish() returns (PEP 3333: write() must not return before that), which
// lets a front end send head and first chunk in one writev. All calls come without the
// GIL held, from one thread at a time.
#pragma once

#include "export.hpp"
#include "headers.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

namespace wsgibridge {

struct ResponseHead
{
    int status_code = 200;
    std::string_view status;         ///< "200 OK", validated
    std::span<const Header> headers; ///< validated, hop-by-hop fields removed
    std::optional<std::uint64_t>
        content_length; ///< from the app or computed; also in headers if the app set it
    bool content_length_computed = false; ///< true when the gateway computed it (add the header)
    bool body_allowed = true; ///< false for HEAD, 1xx, 204, 304: write() is never called
};

class WSGIBRIDGE_API ResponseSink
{
public:
    virtual ~ResponseSink() = default;

    virtual std::error_code start(const ResponseHead& head) = 0;
    virtual std::error_code write(std::span<const char> data) = 0;

    /// Sends `count` bytes of `fd` from `offset` (wsgi.file_wrapper). The default reads
    /// and calls write(); front ends override it with sendfile where they can.
    virtual std::error_code send_file(int fd, std::uint64_t offset, std::uint64_t count);

    /// The response is complete.
    virtual std::error_code finish() = 0;

    /// The whole response in one call, from idle: start(head), write(body) when the head
    /// allows a body and `body` is not empty, finish(). The invoker uses it when the
    /// application's whole answer is known at once (a one-item list, PEP 3333's usual
    /// `return [body]`), so a front end can override it to send head and body in one
    /// write. The default makes the three calls and returns the first error.
    virtual std::error_code respond(const ResponseHead& head, std::span<const char> body);

    /// The response cannot be completed (app failed after the head was sent, or the
    /// body fell short of Content-Length): end it so the client sees an incomplete
    /// response (close the connection, end the FastCGI request).
    virtual void abort(std::string_view reason) = 0;

    /// Text the application wrote to wsgi.errors. Front ends with a per-request error
    /// channel (FastCGI's FCGI_STDERR) send it there and return true; the default
    /// returns false and the invoker writes to the error log instead.
    virtual bool write_error(std::string_view /*text*/) { return false; }

    /// The application failed (raised, or broke a PEP 3333 rule): `error` is one line
    /// ("ValueError: bad id"), `traceback` the Python traceback or empty. Called before
    /// the response is ended (by the 500 answer or abort()). The default does nothing
    /// (the error log has it too); the in-process call API (call.hpp) hands it to its caller.
    virtual void app_failed(std::string_view /*error*/, std::string_view /*traceback*/) {}

    /// True once the client (or the front server) is known to have gone.
    virtual bool client_gone() const noexcept { return false; }
};

} // namespace wsgibridge
