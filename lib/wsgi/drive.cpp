// Turning the application's result into a response: iterate (or sendfile a
// wsgi.file_wrapper), feed the sink, call close() exactly once on every path, then
// finish, answer an error, or abort.
#include "drive.hpp"

#include "file_wrapper.hpp"
#include "gil.hpp"
#include "py_error.hpp"
#include "response.hpp"
#include "validate.hpp"

#include <sys/stat.h>
#include <utility>

namespace wsgibridge::py {

void report_app_failure(RequestContext& ctx, std::string_view error, std::string_view traceback)
{
    GilRelease unlocked; // sink calls come without the GIL
    ctx.sink.app_failed(error, traceback);
}

/// Logs the pending exception (with its traceback) as the reason the request failed,
/// at a level that fits what already happened; returns the one-line summary.
std::string log_app_exception(RequestContext& ctx, std::string_view what)
{
    PythonError err = fetch_error();
    report_app_failure(ctx, err.summary, err.traceback);
    const auto& r = ctx.resp;
    if (ctx.sink_error) {
        ctx.log.info(concat(ctx.label(), ": ", what, " after the client went away: ", err.summary));
    } else if (ctx.body_error && !r.head_sent()) {
        ctx.log.warning(concat(ctx.label(), ": ", what, " after reading the request body failed (",
                               ctx.body_error.message(), "); answering ",
                               http_status_for(ctx.body_error), ": ", err.summary));
    } else {
        ctx.log.error(concat(ctx.label(), ": ", what,
                             r.head_sent() ? "; response aborted:\n" : "; answering 500:\n",
                             err.traceback));
    }
    return err.summary;
}

void fail(RequestContext& ctx, const std::string& reason)
{
    int code = ctx.body_error ? http_status_for(ctx.body_error) : 500;
    fail_response(ctx, code, reason);
}

namespace {

/// Failure found by the gateway, not raised by the app (bad item, no start_response).
std::string app_misbehaved(RequestContext& ctx, std::string reason)
{
    ctx.log.error(concat(ctx.label(), ": ", reason,
                         ctx.resp.head_sent() ? "; response aborted" : "; answering 500"));
    report_app_failure(ctx, reason, {});
    return reason;
}

// sendfile for wsgi.file_wrapper (PEP 3333 'Optional Platform-Specific File Handling'): only for a
// real file with a descriptor, from filelike.tell() (a buffered file may have read ahead: its fd
// offset is wrong), up to the end of the file or the app's Content-Length. Anything else iterates.
bool try_send_file(RequestContext& ctx, PyObject* filelike)
{
    auto& r = ctx.resp;
    if (!r.head_ready()) return false; // the iteration path reports it
    PyRef fd_obj = PyRef::steal(PyObject_CallMethodNoArgs(filelike, ctx.keys.fileno.get()));
    PyRef pos_obj =
        fd_obj ? PyRef::steal(PyObject_CallMethodNoArgs(filelike, ctx.keys.tell.get())) : PyRef();
    long fd = pos_obj ? PyLong_AsLong(fd_obj.get()) : -1;
    long long offset = pos_obj ? PyLong_AsLongLong(pos_obj.get()) : -1;
    struct stat st
    {
    };
    if (PyErr_Occurred() || fd < 0 || offset < 0 || ::fstat(static_cast<int>(fd), &st) != 0 ||
        !S_ISREG(st.st_mode)) {
        PyErr_Clear(); // not a real file (BytesIO...): iterate it instead
        return false;
    }
    auto size = static_cast<std::uint64_t>(st.st_size);
    auto from = static_cast<std::uint64_t>(offset);
    std::uint64_t length = size > from ? size - from : 0;
    if (r.content_length && *r.content_length < length) length = *r.content_length;
    if (!r.content_length && wsgi::status_allows_content_length(r.code)) {
        r.content_length = length;
        r.length_computed = true;
    }
    if (write_body(ctx, {}) != Sent::more || length == 0) return true;
    std::error_code ec;
    {
        GilRelease unlocked;
        ec = ctx.sink.send_file(static_cast<int>(fd), from, length);
    }
    if (ec) {
        ctx.sink_error = ec;
        ctx.log.info(concat(ctx.label(), ": sending the file failed (", ec.message(),
                            "); the client is gone"));
    } else {
        r.bytes_sent += length;
    }
    return true;
}

std::optional<std::string> close_result(RequestContext& ctx, PyObject* result)
{
    if (PyList_CheckExact(result) || PyTuple_CheckExact(result)) return std::nullopt; // no close()
    PyRef close = PyRef::steal(PyObject_GetAttr(result, ctx.keys.close.get()));
    if (!close) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return log_app_exception(ctx, "looking up the iterable's close() raised");
        PyErr_Clear();
        return std::nullopt;
    }
    PyRef done = PyRef::steal(PyObject_CallNoArgs(close.get()));
    if (!done) return log_app_exception(ctx, "the iterable's close() raised");
    return std::nullopt;
}

/// Pulls items and sends them until the end, a failure, or nothing more can be sent.
/// Returns the failure's summary (already logged) if the application misbehaved.
std::optional<std::string> iterate(RequestContext& ctx, PyObject* result)
{
    auto& r = ctx.resp;
    bool single = (PyList_CheckExact(result) && PyList_GET_SIZE(result) == 1) ||
                  (PyTuple_CheckExact(result) && PyTuple_GET_SIZE(result) == 1);
    // A one-item list or tuple (the usual `return [body]`) is read directly: no
    // iterator object, no second next() to find the end.
    PyRef it;
    if (!single) {
        it = PyRef::steal(PyObject_GetIter(result));
        if (!it) return log_app_exception(ctx, "the application's result is not iterable");
    }
    bool taken = false;
    auto next = [&] {
        if (!single) return PyRef::steal(PyIter_Next(it.get()));
        if (std::exchange(taken, true)) return PyRef();
        return PyRef::borrow(PySequence_Fast_GET_ITEM(result, 0));
    };
    while (true) {
        if (ctx.client_gone) {
            ctx.sink_error = make_error_code(errc::peer_gone);
            ctx.log.info(
                concat(ctx.label(), ": the client is gone; stopped iterating the response"));
            return std::nullopt;
        }
        PyRef item = next();
        if (!item) {
            if (!PyErr_Occurred()) return std::nullopt;
            return log_app_exception(ctx, "the application raised while iterating");
        }
        if (!PyBytes_Check(item.get()))
            return app_misbehaved(ctx, concat("TypeError: the application yielded ",
                                              Py_TYPE(item.get())->tp_name, ", not bytes"));
        std::string_view data(PyBytes_AS_STRING(item.get()),
                              static_cast<std::size_t>(PyBytes_GET_SIZE(item.get())));
        if (data.empty()) continue; // b"" never triggers the head (PEP 3333)
        if (!r.head_ready())
            return app_misbehaved(
                ctx, "the application produced body data before calling start_response()");
        // [body] with no Content-Length: the length is known, so say it (one writev).
        if (single && !r.write_used && !r.content_length && !r.head_sent() &&
            wsgi::status_allows_content_length(r.code)) {
            r.content_length = data.size();
            r.length_computed = true;
        }
        // The only item of a list or tuple (no close() to call first): finish with it,
        // unless it falls short of the app's Content-Length (finish_response aborts).
        bool last = single && (!r.content_length || *r.content_length <= data.size());
        if (last) {
            write_last(ctx, data);
            return std::nullopt;
        }
        if (write_body(ctx, data) != Sent::more) return std::nullopt;
    }
}

} // namespace

void drive_result(RequestContext& ctx, PyObject* result, PyObject* file_wrapper_type)
{
    auto& r = ctx.resp;
    // Strict, like wsgiref: a bare bytes result would be iterated as integers by most
    // servers (or silently sent whole by bjoern/uWSGI, hiding the bug until it runs
    // elsewhere). Saying so is more helpful than either.
    if (PyBytes_Check(result) || PyUnicode_Check(result) || PyByteArray_Check(result)) {
        return fail(
            ctx, app_misbehaved(ctx, concat("the application returned ", Py_TYPE(result)->tp_name,
                                            " instead of an iterable of bytes (return [body])")));
    }
    PyObject* filelike = wrapped_file(file_wrapper_type, result);
    bool sent_file = filelike != nullptr && try_send_file(ctx, filelike);
    std::optional<std::string> failure = sent_file ? std::nullopt : iterate(ctx, result);
    // close() exactly once, whatever happened above (PEP 3333: close() must be called).
    auto close_failure = close_result(ctx, result);
    if (!failure) failure = std::move(close_failure);
    if (failure) return fail(ctx, *failure);
    if (ctx.sink_error) return abandon_response(ctx);
    if (r.phase == Phase::finished) return;
    if (!r.head_ready()) {
        return fail(
            ctx, app_misbehaved(ctx, "the application returned without calling start_response()"));
    }
    finish_response(ctx);
}

} // namespace wsgibridge::py
