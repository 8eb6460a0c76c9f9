// wsgi.input: a C type (not a Python class, for speed) over the request's BodySource.
// read(n) returns at most n bytes (fewer only at the end), read() the rest, b"" again
// and again at the end; readline(limit) (PEP 3333 note 2), readlines(hint), iteration.
// Reads run with the GIL released. close() closes nothing: the connection is ours.
#pragma once

#include "py_ref.hpp"
#include "request_context.hpp"

namespace wsgibridge::py {

PyRef create_input_type();
/// A wsgi.input bound to no request (reads raise until attach_input).
PyRef new_input(PyObject* type);
/// Binds `obj` to `ctx` for one request, with an empty read-ahead buffer.
void attach_input(PyObject* obj, RequestContext& ctx) noexcept;
/// After the request: reads raise ValueError instead of touching the request. Returns
/// true when nothing but the caller's reference reaches the object (the app kept no
/// reference, e.g. through the environ), so it may serve a later request.
bool detach_input(PyObject* obj) noexcept;

} // namespace wsgibridge::py
