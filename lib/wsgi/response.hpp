// Driving the ResponseSink from what start_response captured: the head goes out with
// the first non-empty chunk (never at start_response, PEP 3333), the body is clipped at
// the app's Content-Length, and a failure ends in a 500 (head not sent) or an abort.
// All functions are called with the GIL held and release it around every sink call.
#pragma once

#include "request_context.hpp"

#include <string_view>

namespace wsgibridge::py {

enum class Sent {
    more,   ///< keep going
    done,   ///< nothing more can be sent: Content-Length reached, or no body allowed
    failed, ///< the sink failed (client gone): ctx.sink_error is set
};

/// Sends `data` (the head first if not sent yet). Precondition: resp.head_ready.
/// `data` must stay alive during the call (the caller holds the bytes object).
/// `and_finish`: `data` is the whole rest of the body (a one-item list), so the
/// response is finished in the same GIL release (one GIL round trip less per request).
Sent write_body(RequestContext& ctx, std::string_view data, bool and_finish = false);

/// Sends `data`, the whole rest of the body, and finishes the response. When nothing
/// was sent yet and the response is small, it is copied to ctx.deferred instead (the
/// state says finished) and send_deferred sends it after the GIL is given up.
Sent write_last(RequestContext& ctx, std::string_view data);

/// Sends what write_last parked, if anything. Called WITHOUT the GIL.
void send_deferred(RequestContext& ctx) noexcept;

/// Sends the head if nothing was sent (with Content-Length 0: the body is empty), then
/// finishes, or aborts when the body fell short of the app's Content-Length.
void finish_response(RequestContext& ctx);

/// The app failed: answers `code` (500, or the status of a body read error) with a
/// short text body when the head was not sent, else aborts the response.
void fail_response(RequestContext& ctx, int code, std::string_view reason);

/// Ends a response whose sink failed (client gone) by aborting it.
void abandon_response(RequestContext& ctx);

} // namespace wsgibridge::py
