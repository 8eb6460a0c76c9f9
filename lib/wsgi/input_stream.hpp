// wsgi.input: a C type (not a Python class, for speed) over the request's BodySource.
// read(n) returns at most n bytes (fewer only at the end), read() the rest, b"" again
// and again at the end; readline(limit) (PEP 3333 note 2), readlines(hint), iteration.
// Reads run with the GIL released. close() closes nothing: the connection is ours.
#pragma once

#include "py_ref.hpp"
#include "request_context.hpp"

namespace wsgibridge::py {

PyRef create_input_type();
PyRef new_input(PyObject* type, RequestContext& ctx);
/// After the request: reads raise ValueError instead of touching the request.
void detach_input(PyObject* obj) noexcept;

} // namespace wsgibridge::py
