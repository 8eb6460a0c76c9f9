// WsgiApp: environ -> app(environ, start_response) -> iterate -> sink -> close().
// Failures before the head was sent become a 500 (or the status of a failed body read,
// e.g. 413) and a log line with the traceback; after it, a log line and sink.abort().
#include <Python.h>
#include <sys/stat.h>

#include <optional>

#include "app_loader.hpp"
#include "environ.hpp"
#include "error_stream.hpp"
#include "file_wrapper.hpp"
#include "gil.hpp"
#include "input_stream.hpp"
#include "py_error.hpp"
#include "response.hpp"
#include "start_response.hpp"
#include "validate.hpp"
#include "wsgibridge/invoker.hpp"

namespace wsgibridge {

using py::PyRef;
using py::RequestContext;
using py::Sent;

struct WsgiApp::Impl {
    Impl(const Logger& l, const WsgiOptions& o) : log(l), options(o) {}

    const Logger& log;
    WsgiOptions options;
    std::optional<py::Keys> keys;
    PyRef input_type, start_response_type, errors_type, file_wrapper_type, errors, app;
    std::optional<py::EnvironBuilder> environ;

    void init(const AppSpec& spec);
    void serve(RequestContext& ctx);
    void drive(RequestContext& ctx, PyObject* result);
    bool try_send_file(RequestContext& ctx, PyObject* filelike);
    std::optional<std::string> close_result(RequestContext& ctx, PyObject* result);

    /// GIL held: drops every Python reference (before the interpreter can go).
    void clear() noexcept
    {
        app.reset();
        if (environ) environ->clear();
        environ.reset();
        errors.reset();
        input_type.reset();
        start_response_type.reset();
        errors_type.reset();
        file_wrapper_type.reset();
        keys.reset();
    }
};

namespace {

PyRef checked(PyRef obj, const char* what)
{
    if (!obj) {
        auto err = py::fetch_error();
        throw std::runtime_error(concat("cannot create ", what, ": ", err.summary));
    }
    return obj;
}

/// Logs the pending exception (with its traceback) as the reason the request failed,
/// at a level that fits what already happened; returns the one-line summary.
std::string log_app_exception(RequestContext& ctx, std::string_view what)
{
    py::PythonError err = py::fetch_error();
    const auto& r = ctx.resp;
    if (ctx.sink_error) {
        ctx.log.info(concat(ctx.label(), ": ", what, " after the client went away: ", err.summary));
    } else if (ctx.body_error && !r.head_sent) {
        ctx.log.warning(concat(ctx.label(), ": ", what, " after reading the request body failed (",
                               ctx.body_error.message(), "); answering ",
                               http_status_for(ctx.body_error), ": ", err.summary));
    } else {
        ctx.log.error(concat(ctx.label(), ": ", what,
                             r.head_sent ? "; response aborted:\n" : "; answering 500:\n", err.traceback));
    }
    return err.summary;
}

void fail(RequestContext& ctx, const std::string& reason)
{
    int code = ctx.body_error ? http_status_for(ctx.body_error) : 500;
    py::fail_response(ctx, code, reason);
}

/// Failure found by the gateway, not raised by the app (bad item, no start_response).
std::string app_misbehaved(RequestContext& ctx, std::string reason)
{
    ctx.log.error(concat(ctx.label(), ": ", reason,
                         ctx.resp.head_sent ? "; response aborted" : "; answering 500"));
    return reason;
}

/// Detaches the per-request objects on every path out of serve().
struct Detach {
    PyObject* input;
    PyObject* start_response;
    ~Detach()
    {
        if (input) py::detach_input(input);
        if (start_response) py::detach_start_response(start_response);
    }
};

} // namespace

void WsgiApp::Impl::init(const AppSpec& spec)
{
    if (options.redirect_stdout) {
        // CGI: fd 1 carries the response, so a stray print() must go to stderr.
        PyObject* err = PySys_GetObject("stderr");
        if (err == nullptr || PySys_SetObject("stdout", err) != 0)
            throw std::runtime_error("cannot redirect sys.stdout to sys.stderr");
    }
    keys.emplace();
    input_type = checked(py::create_input_type(), "the wsgi.input type");
    start_response_type = checked(py::create_start_response_type(), "the start_response type");
    errors_type = checked(py::create_errors_type(), "the wsgi.errors type");
    file_wrapper_type = checked(py::create_file_wrapper_type(), "the wsgi.file_wrapper type");
    errors = checked(py::new_errors(errors_type.get(), log), "wsgi.errors");
    environ.emplace(*keys, options, errors.get(), file_wrapper_type.get());
    app = py::load_app(spec, log);
}

void WsgiApp::Impl::serve(RequestContext& ctx)
{
    py::CurrentRequestScope current(ctx);
    PyRef input = py::new_input(input_type.get(), ctx);
    PyRef start_response = py::new_start_response(start_response_type.get(), ctx);
    Detach detach{input.get(), start_response.get()};
    PyRef env;
    if (input && start_response) env = environ->build(ctx.req, input.get(), log);
    if (!env) return fail(ctx, log_app_exception(ctx, "building the environ failed"));

    PyRef result = PyRef::steal(PyObject_CallFunctionObjArgs(app.get(), env.get(), start_response.get(), nullptr));
    ctx.app_running = false;
    if (!result) return fail(ctx, log_app_exception(ctx, "the application raised"));
    drive(ctx, result.get());
}

void WsgiApp::Impl::drive(RequestContext& ctx, PyObject* result)
{
    auto& r = ctx.resp;
    std::optional<std::string> failure;
    // Strict, like wsgiref: a bare bytes result would be iterated as integers by most
    // servers (or silently sent whole by bjoern/uWSGI, hiding the bug until it runs
    // elsewhere). Saying so is more helpful than either.
    if (PyBytes_Check(result) || PyUnicode_Check(result) || PyByteArray_Check(result)) {
        failure = app_misbehaved(ctx, concat("the application returned ", Py_TYPE(result)->tp_name,
                                             " instead of an iterable of bytes (return [body])"));
        return fail(ctx, *failure);
    }
    if (PyObject* filelike = py::wrapped_file(file_wrapper_type.get(), result)) {
        if (try_send_file(ctx, filelike)) {
            failure = close_result(ctx, result);
            if (failure) return fail(ctx, *failure);
            return py::finish_response(ctx);
        }
    }
    bool single = (PyList_CheckExact(result) && PyList_GET_SIZE(result) == 1) ||
                  (PyTuple_CheckExact(result) && PyTuple_GET_SIZE(result) == 1);
    PyRef it = PyRef::steal(PyObject_GetIter(result));
    if (!it) failure = log_app_exception(ctx, "the application's result is not iterable");
    while (it && !failure) {
        if (ctx.sink.client_gone()) {
            ctx.sink_error = make_error_code(errc::peer_gone);
            ctx.log.info(concat(ctx.label(), ": the client is gone; stopped iterating the response"));
            break;
        }
        PyRef item = PyRef::steal(PyIter_Next(it.get()));
        if (!item) {
            if (PyErr_Occurred()) failure = log_app_exception(ctx, "the application raised while iterating");
            break;
        }
        if (!PyBytes_Check(item.get())) {
            failure = app_misbehaved(ctx, concat("TypeError: the application yielded ", Py_TYPE(item.get())->tp_name,
                                                 ", not bytes"));
            break;
        }
        std::string_view data(PyBytes_AS_STRING(item.get()), static_cast<std::size_t>(PyBytes_GET_SIZE(item.get())));
        if (data.empty()) continue; // b"" never triggers the head (PEP 3333)
        if (!r.head_ready) {
            failure = app_misbehaved(ctx, "the application produced body data before calling start_response()");
            break;
        }
        // [body] with no Content-Length: the length is known, so say it (one writev).
        if (single && !r.write_used && !r.content_length && !r.head_sent &&
            wsgi::status_allows_content_length(r.code)) {
            r.content_length = data.size();
            r.length_computed = true;
        }
        if (py::write_body(ctx, data) != Sent::more) break;
    }
    it.reset();
    auto close_failure = close_result(ctx, result);
    if (!failure) failure = std::move(close_failure);
    if (failure) return fail(ctx, *failure);
    if (ctx.sink_error) return py::abandon_response(ctx);
    if (!r.head_ready) {
        return fail(ctx, app_misbehaved(ctx, "the application returned without calling start_response()"));
    }
    py::finish_response(ctx);
}

// sendfile for wsgi.file_wrapper (trap 51): only for a real file with a descriptor,
// from filelike.tell() (a buffered file may have read ahead: its fd offset is wrong),
// up to the end of the file or the app's Content-Length. Anything else iterates.
bool WsgiApp::Impl::try_send_file(RequestContext& ctx, PyObject* filelike)
{
    auto& r = ctx.resp;
    if (!r.head_ready) return false; // the iteration path reports it
    PyRef fd_obj = PyRef::steal(PyObject_CallMethodNoArgs(filelike, keys->fileno.get()));
    PyRef pos_obj = fd_obj ? PyRef::steal(PyObject_CallMethodNoArgs(filelike, keys->tell.get())) : PyRef();
    long fd = pos_obj ? PyLong_AsLong(fd_obj.get()) : -1;
    long long offset = pos_obj ? PyLong_AsLongLong(pos_obj.get()) : -1;
    struct stat st {};
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
    if (py::write_body(ctx, {}) != Sent::more || length == 0) return true;
    std::error_code ec;
    {
        py::GilRelease unlocked;
        ec = ctx.sink.send_file(static_cast<int>(fd), from, length);
    }
    if (ec) {
        ctx.sink_error = ec;
        ctx.log.info(concat(ctx.label(), ": sending the file failed (", ec.message(), "); the client is gone"));
    } else {
        r.bytes_sent += length;
    }
    return true;
}

std::optional<std::string> WsgiApp::Impl::close_result(RequestContext& ctx, PyObject* result)
{
    if (PyList_CheckExact(result) || PyTuple_CheckExact(result)) return std::nullopt; // no close()
    PyRef close = PyRef::steal(PyObject_GetAttr(result, keys->close.get()));
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

WsgiApp::WsgiApp(Interpreter&, const AppSpec& spec, const WsgiOptions& options, const Logger& log)
    : impl_(std::make_unique<Impl>(log, options))
{
    py::GilAcquire gil;
    try {
        impl_->init(spec);
    } catch (...) {
        impl_->clear();
        throw;
    }
}

WsgiApp::~WsgiApp()
{
    py::GilAcquire gil;
    impl_->clear();
}

void WsgiApp::handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept
{
    py::GilAcquire gil;
    // Reused by this thread's requests: the header vectors keep their capacity.
    static thread_local py::ResponseState resp;
    resp.reset();
    RequestContext ctx{req, body, sink, impl_->log, *impl_->keys, resp, req.method == "HEAD", true, {}, {}};
    try {
        impl_->serve(ctx);
    } catch (const std::exception& e) {
        PyErr_Clear();
        impl_->log.error(concat(req.method, " ", req.target, ": internal error: ", e.what()));
        py::fail_response(ctx, 500, "internal error");
    } catch (...) {
        PyErr_Clear();
        py::fail_response(ctx, 500, "internal error");
    }
    resp.reset();
}

} // namespace wsgibridge
