// Importing the application named by an AppSpec: a module by name, or a file executed
// as a module (any extension: shebang CGI scripts like app.cgi are Python files whose
// '#!' line is a comment).
#pragma once

#include "py_ref.hpp"
#include "wsgibridge/log.hpp"
#include "wsgibridge/wsgi_app.hpp"

namespace wsgibridge::py {

/// GIL held. Returns the callable. Throws AppLoadError with a one-line reason (exception
/// type and message); the traceback goes to `log` at error level.
PyRef load_app(const AppSpec& spec, const Logger& log);

} // namespace wsgibridge::py
