#include "keys.hpp"

#include <stdexcept>

namespace wsgibridge::py {
namespace {

constexpr const char* common_headers[] = {
    "HTTP_HOST",
    "HTTP_USER_AGENT",
    "HTTP_ACCEPT",
    "HTTP_ACCEPT_LANGUAGE",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_ACCEPT_CHARSET",
    "HTTP_CONNECTION",
    "HTTP_COOKIE",
    "HTTP_REFERER",
    "HTTP_ORIGIN",
    "HTTP_CACHE_CONTROL",
    "HTTP_PRAGMA",
    "HTTP_AUTHORIZATION",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE",
    "HTTP_RANGE",
    "HTTP_UPGRADE_INSECURE_REQUESTS",
    "HTTP_DNT",
    "HTTP_TE",
    "HTTP_EXPECT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_X_REQUESTED_WITH",
    "HTTP_X_CSRFTOKEN",
    "HTTP_X_REQUEST_ID",
    "HTTP_FORWARDED",
    "HTTP_VIA",
    "HTTP_SEC_FETCH_DEST",
    "HTTP_SEC_FETCH_MODE",
    "HTTP_SEC_FETCH_SITE",
    "HTTP_SEC_FETCH_USER",
    "HTTP_SEC_CH_UA",
    "HTTP_SEC_CH_UA_MOBILE",
    "HTTP_SEC_CH_UA_PLATFORM",
    "HTTP_PRIORITY",
    "HTTP_KEEP_ALIVE",
    "HTTP_CONTENT_ENCODING",
    "HTTP_TRANSFER_ENCODING",
    "HTTP_X_HTTP_METHOD_OVERRIDE",
};

// CGI variables web servers pass beside the request's own (nginx's fastcgi_params,
// Apache's mod_proxy_fcgi and mod_fcgid, lighttpd's mod_fastcgi).
constexpr const char* common_variables[] = {
    "DOCUMENT_ROOT",
    "DOCUMENT_URI",
    "REQUEST_SCHEME",
    "GATEWAY_INTERFACE",
    "SERVER_SOFTWARE",
    "SERVER_ADDR",
    "REDIRECT_STATUS",
    "HTTPS",
    "SCRIPT_FILENAME",
    "PATH_TRANSLATED",
    "CONTEXT_DOCUMENT_ROOT",
    "CONTEXT_PREFIX",
    "SERVER_ADMIN",
    "SERVER_SIGNATURE",
    "REMOTE_USER",
    "AUTH_TYPE",
    "REMOTE_HOST",
    "REQUEST_TIME",
    "REDIRECT_URL",
    "UNIQUE_ID",
    "PATH",
    "HTTP2",
    "SSL_PROTOCOL",
    "SSL_CIPHER",
};

constexpr const char* common_values[] = {
    "",
    "GET",
    "POST",
    "HEAD",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
    "HTTP/1.1",
    "HTTP/1.0",
    "HTTP/2.0",
    "/",
    "80",
    "443",
    "8000",
    "8080",
    "127.0.0.1",
    "::1",
    "localhost",
    "http",
    "https",
    "on",
    "off",
    "CGI/1.1",
    "200",
    // Request header values browsers and clients send most (HTTP_ACCEPT, HTTP_CONNECTION,
    // HTTP_CACHE_CONTROL, the Sec-Fetch-* and client hint fields).
    "*/*",
    "keep-alive",
    "close",
    "Keep-Alive",
    "no-cache",
    "max-age=0",
    "gzip",
    "gzip, deflate",
    "gzip, deflate, br",
    "1",
    "?0",
    "?1",
    "document",
    "navigate",
    "same-origin",
    "none",
    "cors",
    "empty",
    "u=0, i",
    "u=1, i",
    "trailers",
};

PyRef interned(std::string_view s)
{
    PyObject* str = PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr);
    if (str == nullptr) throw std::runtime_error("out of memory creating environ keys");
    PyUnicode_InternInPlace(&str);
    // Computing the hash now means dict insertions never compute it again.
    if (PyObject_Hash(str) == -1) PyErr_Clear();
    return PyRef::steal(str);
}

std::size_t mix(std::string_view s) noexcept
{
    std::size_t h = s.size();
    if (s.empty()) return h;
    auto at = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    h = h * 131 + at(s.size() / 2);
    h = h * 131 + at(s.size() - 1);
    h = h * 131 + at(s.size() > 6 ? 6 : 0); // after "HTTP_"
    h = h * 131 + at(s.size() > 9 ? 9 : 0);
    return h ^ (h >> 7);
}

} // namespace

void Keys::Table::add(std::string_view name, PyRef obj)
{
    for (std::size_t i = mix(name);; ++i) {
        Slot& slot = slots_[i & (size - 1)];
        if (slot.obj && slot.name != name) continue;
        slot.name = name;
        slot.obj = std::move(obj);
        return;
    }
}

PyObject* Keys::Table::find(std::string_view name) const noexcept
{
    for (std::size_t i = mix(name);; ++i) {
        const Slot& slot = slots_[i & (size - 1)];
        if (!slot.obj) return nullptr;
        if (slot.name.size() == name.size() && slot.name == name) return slot.obj.get();
    }
}

Keys::Keys()
{
    for (std::size_t i = 0; i < cgi_fixed_key_count; ++i)
        fixed_[i] = interned(cgi_key_name(static_cast<CgiKey>(i)));
    for (const char* name : common_headers)
        http_keys_.add(name, interned(name));
    for (const char* name : common_variables)
        variable_keys_.add(name, interned(name));
    for (const char* value : common_values)
        values_.add(value, interned(value));
    wsgi_input = interned("wsgi.input");
    wsgi_url_scheme = interned("wsgi.url_scheme");
    http = interned("http");
    https = interned("https");
    close = interned("close");
    fileno = interned("fileno");
    tell = interned("tell");
    read = interned("read");
}

PyObject* Keys::http_key(std::string_view name) const noexcept
{
    return http_keys_.find(name);
}

PyObject* Keys::variable_key(std::string_view name) const noexcept
{
    return variable_keys_.find(name);
}

PyObject* Keys::common_value(std::string_view value) const noexcept
{
    return values_.find(value);
}

} // namespace wsgibridge::py
