// The start_response callable (PEP 3333) and the write() callable it returns. Reused
// from request to request when the app kept no reference to either; validation rules
// are in validate.hpp, errors are raised into the app as TypeError/ValueError naming
// the value.
#pragma once

#include "py_ref.hpp"
#include "request_context.hpp"

namespace wsgibridge::py {

/// The type, created once per application (GIL held; nullptr with an exception set).
PyRef create_start_response_type();

/// A start_response bound to no request (calls raise until attach_start_response).
PyRef new_start_response(PyObject* type);

/// Binds `obj` to `ctx` for one request.
void attach_start_response(PyObject* obj, RequestContext& ctx) noexcept;

/// After the request: calls to the object (or its write()) raise instead of touching
/// ctx. Returns true when `keep` and nothing but the caller's reference reaches the
/// object or its write() (the app kept neither), so it may be attached to a later
/// request without that request being reachable from an old one; otherwise it stays
/// detached for good (RuntimeError "called after the request ended").
bool detach_start_response(PyObject* obj, bool keep = true) noexcept;

} // namespace wsgibridge::py
