// WsgiApp: environ -> app(environ, start_response) -> iterate -> sink -> close().
// Failures before the head was sent become a 500 (or the status of a failed body read,
// e.g. 413) and a log line with the traceback; after it, a log line and sink.abort().
#include "app_loader.hpp"
#include "drive.hpp"
#include "environ.hpp"
#include "error_stream.hpp"
#include "file_wrapper.hpp"
#include "gil.hpp"
#include "input_stream.hpp"
#include "py_error.hpp"
#include "response.hpp"
#include "start_response.hpp"
#include "wsgibridge/wsgi_app.hpp"

#include <Python.h>
#include <mutex>
#include <optional>

namespace wsgibridge {

using py::PyRef;
using py::RequestContext;

struct WsgiApp::Impl
{
    Impl(std::shared_ptr<void> r, const Logger& l, const WsgiOptions& o)
        : runtime(std::move(r)), log(l), options(o)
    {
    }

    /// The interpreter's share: declared first, so it goes last, after every member
    /// below has been dropped (~WsgiApp drops the Python references under the GIL).
    std::shared_ptr<void> runtime;
    const Logger& log;
    WsgiOptions options;
    std::optional<py::Keys> keys;
    PyRef input_type, start_response_type, errors_type, file_wrapper_type, errors, app;
    std::optional<py::EnvironBuilder> environ;
    /// wsgi.input and start_response objects the app kept no reference to, ready for the
    /// next request (one allocation and one free less per request for each). Touched
    /// only with the GIL held, which is what makes the vectors safe across threads.
    std::vector<PyRef> spare_inputs, spare_start_responses;
    py::HeaderNameCache header_names; ///< GIL held, like the spares
    /// Held around each call when !options.multithread: wsgi.multithread False promises
    /// the app one call at a time (PEP 3333), even from a multithreaded host.
    std::mutex serial;

    void init(const AppSpec& spec);
    void serve(RequestContext& ctx);

    /// GIL held: drops every Python reference (before the interpreter can go).
    void clear() noexcept
    {
        app.reset();
        for (auto& sr : spare_start_responses)
            py::detach_start_response(sr.get(), false); // breaks its cycle with write()
        spare_start_responses.clear();
        spare_inputs.clear();
        header_names.clear();
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

/// A spare object from `pool`, or a new one from `make`.
template <class Make>
PyRef take(std::vector<PyRef>& pool, Make make)
{
    if (pool.empty()) return make();
    PyRef obj = std::move(pool.back());
    pool.pop_back();
    return obj;
}

/// Keeps `obj` for the next request; on allocation failure it simply goes.
void give_back(std::vector<PyRef>& pool, PyRef& obj) noexcept
{
    try {
        pool.push_back(std::move(obj));
    } catch (...) {
    }
}

/// Detaches the per-request objects on every path out of serve(), and keeps those the
/// application kept no reference to for the next request (PEP 3333 lets a server
/// reuse them; an object the app kept is never bound to another request).
struct Detach
{
    std::vector<PyRef>& spare_inputs;
    std::vector<PyRef>& spare_start_responses;
    PyRef& input;
    PyRef& start_response;
    ~Detach()
    {
        if (input && py::detach_input(input.get())) give_back(spare_inputs, input);
        if (start_response && py::detach_start_response(start_response.get()))
            give_back(spare_start_responses, start_response);
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
    PyRef input = take(spare_inputs, [&] { return py::new_input(input_type.get()); });
    PyRef start_response = take(spare_start_responses,
                                [&] { return py::new_start_response(start_response_type.get()); });
    Detach detach{spare_inputs, spare_start_responses, input, start_response};
    PyRef env;
    if (input && start_response) {
        py::attach_input(input.get(), ctx);
        py::attach_start_response(start_response.get(), ctx);
        env = environ->build(ctx.req, input.get(), log);
    }
    if (!env) return py::fail(ctx, py::log_app_exception(ctx, "building the environ failed"));

    PyObject* args[] = {env.get(), start_response.get()};
    PyRef result = PyRef::steal(PyObject_Vectorcall(app.get(), args, 2, nullptr));
    ctx.app_running = false;
    if (!result) return py::fail(ctx, py::log_app_exception(ctx, "the application raised"));
    py::drive_result(ctx, result.get(), file_wrapper_type.get());
}

WsgiApp::WsgiApp(Interpreter& interpreter, const AppSpec& spec, const WsgiOptions& options,
                 const Logger& log)
    : impl_(std::make_unique<Impl>(interpreter.runtime_, log, options))
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
    {
        py::GilAcquire gil;
        impl_->clear();
    }
    impl_.reset(); // without the GIL: may finalise the interpreter (the last share)
}

void WsgiApp::handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept
{
    // Taken before the GIL: a thread waiting here holds nothing the running call needs
    // (that call releases the GIL around body reads and sink writes).
    std::unique_lock<std::mutex> one_at_a_time(impl_->serial, std::defer_lock);
    if (!impl_->options.multithread) one_at_a_time.lock();
    // Reused by this thread's requests: the header vectors keep their capacity.
    static thread_local py::ResponseState resp;
    static thread_local py::DeferredSend deferred;
    RequestContext ctx{req,  body, sink, impl_->log, *impl_->keys, resp, req.method == "HEAD",
                       true, {},   {},   false};
    {
        py::GilAcquire gil;
        // Called from Python (the GIL was held): no parking, the sink is called at once.
        ctx.deferred = gil.nested() ? nullptr : &deferred;
        ctx.header_names = &impl_->header_names;
        resp.reset();
        try {
            impl_->serve(ctx);
        } catch (const std::exception& e) {
            PyErr_Clear();
            impl_->log.error(concat(req.method, " ", req.target, ": internal error: ", e.what()));
            py::report_app_failure(ctx, concat("internal error: ", e.what()), {});
            py::fail_response(ctx, 500, "internal error");
        } catch (...) {
            PyErr_Clear();
            py::fail_response(ctx, 500, "internal error");
        }
        resp.reset();
    }
    // A small last response parked by the driver goes out now, after the GIL was
    // given up once for the whole request.
    py::send_deferred(ctx);
}

} // namespace wsgibridge
