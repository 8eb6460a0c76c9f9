// Naming a WSGI application the way gunicorn and mod_wsgi users write it.
#pragma once

#include "error.hpp"
#include "export.hpp"

#include <string>
#include <string_view>

namespace wsgibridge {

/// Where the application comes from:
///   "module:callable", "package.module:callable", "module" (callable `application`),
///   "path/to/file.py" (callable `application`, else `app`), "path/to/file.py:name".
/// A plain value: it refers to nothing and may be copied or dropped at any time.
struct WSGIBRIDGE_API AppSpec
{
    std::string module;   ///< dotted module name, empty when `file` is set
    std::string file;     ///< a .py (or any) file to execute as a module
    std::string callable; ///< empty: `application`, else `app`

    /// The error's message says what is wrong (empty, no module before ':', ...).
    static Result<AppSpec> parse(std::string_view spec);
};

} // namespace wsgibridge
