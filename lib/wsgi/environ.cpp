#include "environ.hpp"

#include "model/cgi_env.hpp"

#include <stdexcept>

namespace wsgibridge::py {
namespace {

void set(PyObject* dict, const char* key, PyRef value)
{
    if (!value || PyDict_SetItemString(dict, key, value.get()) != 0)
        throw std::runtime_error("cannot build the WSGI environ template");
}

PyRef boolean(bool b)
{
    return PyRef::borrow(b ? Py_True : Py_False);
}

std::string_view drop_reason_text(DropReason why) noexcept
{
    switch (why) {
    case DropReason::underscore_in_name:
        return "underscore in the name would collide with the '-' form (CVE-2015-0219)";
    case DropReason::httpoxy:
        return "it would become HTTP_PROXY (httpoxy, CVE-2016-5385)";
    case DropReason::invalid_name:
        return "the name is not a valid token";
    }
    return "not allowed";
}

/// The request's scheme; when a front end left it empty, the CGI way of saying https
/// (HTTPS=on, REQUEST_SCHEME=https, as Apache and nginx set them).
std::string_view effective_scheme(const Request& req) noexcept
{
    if (!req.scheme.empty()) return req.scheme;
    auto https = req.variables.find("HTTPS");
    auto request_scheme = req.variables.find("REQUEST_SCHEME");
    if ((https && (iequals(*https, "on") || *https == "1")) ||
        (request_scheme && iequals(*request_scheme, "https")))
        return "https";
    return "http";
}

/// Entries an environ holds without growing: the template's 11, ~12 from the request
/// line and the server, ~20 headers or web server variables. PyDict_Copy of a clean
/// dict clones its key table at the same size, so a presized template makes every
/// environ presized too: the per-request inserts never resize and rehash (CPython's
/// insertion_resize), which was a third of PyDict_SetItem's cost. 42 fills a 64-slot
/// table, the size a nginx FastCGI request reached by growing anyway.
constexpr Py_ssize_t environ_capacity = 42;

/// Header values up to this length are looked up among the cached common values.
constexpr std::size_t short_value = 16;

} // namespace

EnvironBuilder::EnvironBuilder(const Keys& keys, const WsgiOptions& options, PyObject* errors,
                               PyObject* file_wrapper_type)
    : keys_(keys), template_(PyRef::steal(_PyDict_NewPresized(environ_capacity)))
{
    if (!template_) throw std::runtime_error("cannot build the WSGI environ template");
    PyObject* d = template_.get();
    set(d, "wsgi.version", PyRef::steal(Py_BuildValue("(ii)", 1, 0)));
    set(d, "wsgi.multithread", boolean(options.multithread));
    set(d, "wsgi.multiprocess", boolean(options.multiprocess));
    set(d, "wsgi.run_once", boolean(options.run_once));
    // Every front end ends the body itself (Content-Length, chunked, end of STDIN), so
    // reading wsgi.input to the end is always safe (the proposed PEP 3333 extension).
    set(d, "wsgi.input_terminated", boolean(true));
    set(d, "wsgi.errors", PyRef::borrow(errors));
    set(d, "wsgi.file_wrapper", PyRef::borrow(file_wrapper_type));
    set(d, "wsgi.url_scheme", keys.http);
    set(d, "GATEWAY_INTERFACE", PyRef::steal(PyUnicode_FromString("CGI/1.1")));
    set(d, "SERVER_SOFTWARE", PyRef::steal(PyUnicode_FromString("wsgi-bridge")));
}

PyRef EnvironBuilder::build(const Request& req, PyObject* input, const Logger& log) const
{
    PyRef env = PyRef::steal(PyDict_Copy(template_.get()));
    if (!env) return env;
    bool ok = true;
    auto put = [&](PyObject* key, PyRef owned_key, std::string_view value, bool common = false) {
        if (!ok) return;
        if (!key) key = owned_key.get();
        // "" and one-byte values are CPython's shared singletons already: decoding them
        // is cheaper than a table lookup.
        PyObject* cached = common && value.size() > 1 ? keys_.common_value(value) : nullptr;
        PyRef owned_value = cached ? PyRef() : latin1(value);
        PyObject* v = cached ? cached : owned_value.get();
        ok = key && v && PyDict_SetItem(env.get(), key, v) == 0;
    };
    auto emit = [&](CgiKey key, std::string_view name, std::string_view value) {
        switch (key) {
        case CgiKey::http_header: {
            PyObject* cached = keys_.http_key(name);
            // Short values repeat ("*/*", "keep-alive", "no-cache"); long ones (cookies,
            // user agents) would only pay for the lookup.
            return put(cached, cached ? PyRef() : latin1(name), value,
                       /*common=*/value.size() <= short_value);
        }
        case CgiKey::variable: {
            PyObject* cached = keys_.variable_key(name);
            return put(cached, cached ? PyRef() : latin1(name), value, /*common=*/true);
        }
        case CgiKey::content_length:
            if (value.empty()) return; // "" means absent (nginx sends it on GET)
            [[fallthrough]];
        case CgiKey::request_method:
        case CgiKey::server_protocol:
        case CgiKey::server_name:
        case CgiKey::server_port:
        case CgiKey::remote_addr:
        case CgiKey::path_info:
            return put(keys_.fixed(key), PyRef(), value, /*common=*/true);
        default:
            return put(keys_.fixed(key), PyRef(), value);
        }
    };
    auto drop = [&](std::string_view name, DropReason why) {
        std::string shown(name.substr(0, 200)); // the client chose it: no control bytes in our log
        for (char& c : shown)
            if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
                c = '?';
        log.warning(concat(req.method, " ", req.target, ": request header '", shown,
                           "' not passed to the application: ", drop_reason_text(why)));
    };
    for_each_cgi_variable(req, emit, drop);
    if (!ok) return {};

    std::string_view scheme_name = effective_scheme(req);
    if (!scheme_name.empty() && scheme_name != "http") {
        PyRef scheme = scheme_name == "https" ? keys_.https : latin1(scheme_name);
        if (!scheme || PyDict_SetItem(env.get(), keys_.wsgi_url_scheme.get(), scheme.get()) != 0)
            return {};
    }
    if (PyDict_SetItem(env.get(), keys_.wsgi_input.get(), input) != 0) return {};
    return env;
}

} // namespace wsgibridge::py
