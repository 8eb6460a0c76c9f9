// The WSGI environ: a template dict built once (wsgi.version, wsgi.errors, ...) copied
// per request with PyDict_Copy (a fresh dict every time: PEP 3333 apps mutate it, and
// reuse leaks state between requests), then filled from for_each_cgi_variable with
// latin-1 strings (PEP 3333 "Unicode Issues").
//
// Behind one web server consecutive requests carry nearly the same CGI variables in the
// same order (nginx's fastcgi_params, Apache's ~30 variables: server name, document
// root, Host, User-Agent...); only a few change (REMOTE_PORT, REQUEST_URI...). So the
// builder keeps a private dict, "previous", equal to what the last request's environ was
// before wsgi.url_scheme and wsgi.input, plus that request's variables as bytes. A
// request with the same names in the same order gets PyDict_Copy(previous) (CPython
// clones a dict without deleted entries by copying its key table) with only the values
// that differ decoded and stored (in previous too); any other request is built in full
// and becomes the new previous. The app still gets a dict of its own every time, with
// the same items in the same order as a full build.
#pragma once

#include "keys.hpp"
#include "wsgibridge/log.hpp"
#include "wsgibridge/wsgi_app.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace wsgibridge::py {

class EnvironBuilder
{
public:
    /// GIL held. Throws std::runtime_error when Python fails (out of memory).
    EnvironBuilder(const Keys& keys, const WsgiOptions& options, PyObject* errors,
                   PyObject* file_wrapper_type);

    /// GIL held. A new environ for `req` with wsgi.input = `input`; nullptr with an
    /// exception set on failure. Request headers that cannot become HTTP_* (httpoxy,
    /// underscores, invalid names) are logged at warning level with the reason, on
    /// every request. Reuses the previous request's environ (see above) when it can.
    PyRef build(const Request& req, PyObject* input, const Logger& log);

    /// The same environ built in full, without reading or updating the previous one:
    /// the reference the cached path must equal, and the way a second thread that enters
    /// build() while the first is inside it (the GIL can be released by a garbage
    /// collection that PyDict_Copy starts) is served.
    PyRef build_uncached(const Request& req, PyObject* input, const Logger& log) const;

    /// Destroy with the GIL held.
    void clear() noexcept;

private:
    /// One variable of the previous request, in emission order.
    struct Entry
    {
        CgiKey kind;
        std::uint32_t name_at = 0, name_len = 0; ///< in bytes_; only http_header and variable
        std::uint32_t value_at = 0, value_len = 0, value_room = 0; ///< in bytes_
        PyRef key; ///< the key object previous_ holds
    };
    class Walk;
    friend class Walk;

    std::string_view name_of(const Entry& e) const noexcept;
    std::string_view value_of(const Entry& e) const noexcept;
    /// Appends first then second to bytes_, compacting the counted entries' bytes first
    /// when it would pass its bound; the offset of first.
    std::uint32_t store(std::string_view first, std::string_view second = {});
    void forget() noexcept;

    const Keys& keys_;
    PyRef template_;

    PyRef previous_;             ///< never handed out; nullptr: nothing cached
    std::vector<Entry> entries_; ///< [0, count_) describe previous_
    std::size_t count_ = 0;
    std::size_t live_ = 0;      ///< name and value bytes the entries use
    std::string bytes_, spare_; ///< entries' names and values; spare_ for compaction
    bool busy_ = false;         ///< a build() is using previous_ (GIL-protected)
};

} // namespace wsgibridge::py
