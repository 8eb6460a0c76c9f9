// wsgi.errors: a text stream (write(str), writelines, flush; bytes are a TypeError).
// One object serves every request: text goes to the current request's error channel
// (ResponseSink::write_error, e.g. FCGI_STDERR) when it has one, else to the error log,
// one log line per line of text.
#pragma once

#include "py_ref.hpp"
#include "wsgibridge/log.hpp"

namespace wsgibridge::py {

PyRef create_errors_type();
/// `log` must outlive the object (the WsgiApp owns both).
PyRef new_errors(PyObject* type, const Logger& log);

} // namespace wsgibridge::py
