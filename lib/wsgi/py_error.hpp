// The pending Python exception, captured for a log line (pybind11's error_already_set,
// without the throwing).
#pragma once

#include <Python.h>
#include <string>

namespace wsgibridge::py {

struct PythonError
{
    std::string summary;   ///< "ValueError: boom": one line, for AppLoadError and log lines
    std::string traceback; ///< the formatted traceback, ends with the summary line
};

/// Takes (and clears) the pending exception. Precondition: the GIL is held and
/// PyErr_Occurred(). Never raises; a failure to format gives a shorter text.
PythonError fetch_error();

/// str(obj) as UTF-8 (with replacement), "<unprintable>" when str() itself fails.
std::string to_utf8(PyObject* obj);

/// Sets `exc_type` with a message (PyErr_SetString with a std::string).
inline void raise(PyObject* exc_type, const std::string& message)
{
    PyErr_SetString(exc_type, message.c_str());
}

} // namespace wsgibridge::py
