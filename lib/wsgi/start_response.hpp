// The start_response callable (PEP 3333) and the write() callable it returns. Per
// request; validation rules are in validate.hpp, errors are raised into the app as
// TypeError/ValueError naming the value.
#pragma once

#include "py_ref.hpp"
#include "request_context.hpp"

namespace wsgibridge::py {

/// The type, created once per application (GIL held; nullptr with an exception set).
PyRef create_start_response_type();

/// A start_response bound to `ctx`.
PyRef new_start_response(PyObject* type, RequestContext& ctx);

/// After the request: calls to the object (or its write()) raise instead of touching ctx.
void detach_start_response(PyObject* obj) noexcept;

} // namespace wsgibridge::py
