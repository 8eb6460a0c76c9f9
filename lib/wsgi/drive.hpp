// Driving a response from what the application returned (PEP 3333 "Buffering and
// Streaming", "Optional Platform-Specific File Handling").
#pragma once

#include "request_context.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace wsgibridge::py {

/// Sends `result` (the app's return value) through ctx.sink, calls its close() exactly
/// once, and ends the response: finish, an error answer (500 or the status of a failed
/// body read) when nothing was sent, or abort. GIL held; released around sink calls.
void drive_result(RequestContext& ctx, PyObject* result, PyObject* file_wrapper_type);

/// Hands the failure to the sink (ResponseSink::app_failed), without the GIL.
void report_app_failure(RequestContext& ctx, std::string_view error, std::string_view traceback);

/// Logs the pending exception (with its traceback) as the reason the request failed,
/// at a level that fits what already happened; returns the one-line summary.
std::string log_app_exception(RequestContext& ctx, std::string_view what);

/// Ends a failed request: 500 (or http_status_for the body error) if nothing was
/// sent, else abort.
void fail(RequestContext& ctx, const std::string& reason);

} // namespace wsgibridge::py
