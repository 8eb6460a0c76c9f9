// The WSGI environ: a template dict built once (wsgi.version, wsgi.errors, ...) copied
// per request with PyDict_Copy (a fresh dict every time: PEP 3333 apps mutate it, and
// reuse leaks state between requests), then filled from for_each_cgi_variable with
// latin-1 strings (PEP 3333 "Unicode Issues").
#pragma once

#include "keys.hpp"
#include "wsgibridge/wsgi_app.hpp"
#include "wsgibridge/log.hpp"

namespace wsgibridge::py {

class EnvironBuilder
{
public:
    /// GIL held. Throws std::runtime_error when Python fails (out of memory).
    EnvironBuilder(const Keys& keys, const WsgiOptions& options, PyObject* errors,
                   PyObject* file_wrapper_type);

    /// A new environ for `req` with wsgi.input = `input`; nullptr with an exception set
    /// on failure. Request headers that cannot become HTTP_* (httpoxy, underscores,
    /// invalid names) are logged at warning level with the reason.
    PyRef build(const Request& req, PyObject* input, const Logger& log) const;

    /// Destroy with the GIL held.
    void clear() noexcept { template_.reset(); }

private:
    const Keys& keys_;
    PyRef template_;
};

} // namespace wsgibridge::py
