// Python strings created once per application instead of per request (Unit's
// nxt_python_strings[], bjoern's _init_common): the fixed CGI keys, the ~45 most common
// HTTP_* names and CGI variable names (their hashes cached too), and frequent values
// such as "GET".
#pragma once

#include "model/cgi_env.hpp"
#include "py_ref.hpp"

#include <algorithm> // cgi_env.hpp uses std::copy_n without including it
#include <array>
#include <string_view>

namespace wsgibridge::py {

class Keys
{
public:
    /// Precondition: GIL held. Throws std::runtime_error when Python is out of memory.
    Keys();
    /// Destroy with the GIL held.
    ~Keys() = default;
    Keys(const Keys&) = delete;
    Keys& operator=(const Keys&) = delete;

    PyObject* fixed(CgiKey key) const noexcept
    {
        return fixed_[static_cast<std::size_t>(key)].get();
    }
    /// A cached HTTP_* key, or nullptr (the caller decodes the name itself). The map is
    /// never modified after construction, so an attacker cannot grow it.
    PyObject* http_key(std::string_view name) const noexcept;
    /// A cached key for a CGI variable web servers commonly pass (DOCUMENT_ROOT,
    /// REQUEST_SCHEME, SERVER_ADDR...), or nullptr. Fixed after construction too.
    PyObject* variable_key(std::string_view name) const noexcept;
    /// A cached value ("GET", "HTTP/1.1", "80", ""...), or nullptr. Only worth asking
    /// for the few variables whose values repeat (method, protocol, port...).
    PyObject* common_value(std::string_view value) const noexcept;

    PyRef wsgi_input, wsgi_url_scheme, http, https, close, fileno, tell, read;

private:
    /// A fixed open-addressing table of static strings: cheaper per lookup than
    /// std::unordered_map (no full-string hash, no modulo by a prime), and it is
    /// looked up once per request header.
    class Table
    {
    public:
        void add(std::string_view name, PyRef obj);
        PyObject* find(std::string_view name) const noexcept;

    private:
        struct Slot
        {
            std::string_view name; ///< points to a string literal
            PyRef obj;
        };
        static constexpr std::size_t size = 256; // power of two, > 3 x entries
        std::array<Slot, size> slots_;
    };

    std::array<PyRef, cgi_fixed_key_count> fixed_;
    Table http_keys_;
    Table variable_keys_;
    Table values_;
};

/// A new str from latin-1 bytes (PEP 3333: environ strings are bytes decoded as latin-1).
inline PyRef latin1(std::string_view bytes) noexcept
{
    return PyRef::steal(
        PyUnicode_DecodeLatin1(bytes.data(), static_cast<Py_ssize_t>(bytes.size()), nullptr));
}

} // namespace wsgibridge::py
