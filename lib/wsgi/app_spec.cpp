// AppSpec::parse: pure string work, so it is unit-tested without Python.
#include "wsgibridge/app_spec.hpp"

#include <array>
#include <string>
#include <system_error>

namespace wsgibridge {
namespace {

bool is_identifier(std::string_view s) noexcept
{
    if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c >= 0x80; // non-ASCII identifiers: Python decides at import
        if (!ok) return false;
    }
    return true;
}

bool is_dotted_identifier(std::string_view s) noexcept
{
    while (true) {
        auto dot = s.find('.');
        if (!is_identifier(s.substr(0, dot))) return false;
        if (dot == std::string_view::npos) return true;
        s.remove_prefix(dot + 1);
    }
}

/// Files named like this are files even though "app.cgi" reads as a dotted module name:
/// shebang CGI/FastCGI scripts and mod_wsgi's .wsgi files are executed, not imported.
bool has_script_extension(std::string_view s) noexcept
{
    static constexpr std::array<std::string_view, 5> exts{".py", ".pyw", ".wsgi", ".cgi", ".fcgi"};
    for (auto e : exts)
        if (s.size() > e.size() && s.ends_with(e)) return true;
    return false;
}

// Why a spec was refused, as the error_code's message: "--app x: <message>".
enum class SpecError { empty = 1, no_module, bad_callable, directory };

class SpecCategory final : public std::error_category
{
public:
    const char* name() const noexcept override { return "wsgibridge.app_spec"; }
    std::string message(int e) const override
    {
        switch (static_cast<SpecError>(e)) {
        case SpecError::empty:
            return "empty application spec (want module:callable or path/to/file.py)";
        case SpecError::no_module:
            return "no module or file before ':' (want module:callable)";
        case SpecError::bad_callable:
            return "the callable after ':' is not a Python name (want module:callable or "
                   "module:factory.app)";
        case SpecError::directory:
            return "a directory is not an application (name a .py file in it)";
        }
        return "invalid application spec";
    }
};

Result<AppSpec> invalid(SpecError why)
{
    static const SpecCategory category;
    return std::error_code(static_cast<int>(why), category);
}

} // namespace

// "module", "pkg.mod:callable", "path/to/file.py", "path/file.py:name", "app.cgi". The
// callable may be a dotted attribute path ("module:factory.app"). The last ':' splits,
// so a file path containing ':' still works when a callable is given.
Result<AppSpec> AppSpec::parse(std::string_view spec)
{
    AppSpec out;
    std::string_view where = spec;
    if (auto colon = spec.rfind(':'); colon != std::string_view::npos) {
        where = spec.substr(0, colon);
        std::string_view name = spec.substr(colon + 1);
        if (!is_dotted_identifier(name)) return invalid(SpecError::bad_callable);
        out.callable.assign(name);
    }
    if (where.empty()) return invalid(spec.empty() ? SpecError::empty : SpecError::no_module);
    bool is_file = where.find('/') != std::string_view::npos || has_script_extension(where) ||
                   !is_dotted_identifier(where);
    if (is_file) {
        if (where.back() == '/') return invalid(SpecError::directory);
        out.file.assign(where);
    } else {
        out.module.assign(where);
    }
    return out;
}

} // namespace wsgibridge
