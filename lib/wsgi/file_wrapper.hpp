// wsgi.file_wrapper(filelike, blksize=8192) (PEP 3333 "Optional Platform-Specific File
// Handling"). The object is an ordinary iterable (read(blksize) until b""), so it works
// for any file-like object, and close() reaches filelike.close(). When an application
// returns one, the invoker may send the file with sink.send_file instead (invoker.cpp).
#pragma once

#include "py_ref.hpp"

namespace wsgibridge::py {

PyRef create_file_wrapper_type();

/// The wrapped object when `obj` is an instance of `type`, else nullptr (borrowed).
PyObject* wrapped_file(PyObject* type, PyObject* obj) noexcept;

} // namespace wsgibridge::py
