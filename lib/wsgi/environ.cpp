#include "environ.hpp"

#include "model/cgi_env.hpp"

#include <cstring>
#include <stdexcept>

namespace wsgibridge::py {
namespace {

void set(PyObject* dict, const char* key, PyRef value)
{
    if (!value || PyDict_SetItemString(dict, key, value.get()) != 0)
        throw std::runtime_error("cannot build the WSGI environ template");
}

PyRef boolean(bool b)
{
    return PyRef::borrow(b ? Py_True : Py_False);
}

std::string_view drop_reason_text(DropReason why) noexcept
{
    switch (why) {
    case DropReason::underscore_in_name:
        return "underscore in the name would collide with the '-' form (CVE-2015-0219)";
    case DropReason::httpoxy:
        return "it would become HTTP_PROXY (httpoxy, CVE-2016-5385)";
    case DropReason::invalid_name:
        return "the name is not a valid token";
    }
    return "not allowed";
}

/// The request's scheme; when a front end left it empty, the CGI way of saying https
/// (HTTPS=on, REQUEST_SCHEME=https, as Apache and nginx set them).
std::string_view effective_scheme(const Request& req) noexcept
{
    if (!req.scheme.empty()) return req.scheme;
    auto https = req.variables.find("HTTPS");
    auto request_scheme = req.variables.find("REQUEST_SCHEME");
    if ((https && (iequals(*https, "on") || *https == "1")) ||
        (request_scheme && iequals(*request_scheme, "https")))
        return "https";
    return "http";
}

/// Entries an environ holds without growing: the template's 11, ~12 from the request
/// line and the server, ~20 headers or web server variables. PyDict_Copy of a clean
/// dict clones its key table at the same size, so a presized template makes every
/// environ presized too: the per-request inserts never resize and rehash (CPython's
/// insertion_resize), which was a third of PyDict_SetItem's cost. 42 fills a 64-slot
/// table, the size a nginx FastCGI request reached by growing anyway.
constexpr Py_ssize_t environ_capacity = 42;

/// Header values up to this length are looked up among the cached common values.
constexpr std::size_t short_value = 16;

/// Bounds of the previous request kept for reuse: a request with more variables, or
/// more name and value bytes (a large cookie), is built in full and not kept, so the
/// cache holds at most twice this many bytes (with its compaction room) whatever the
/// clients send.
constexpr std::size_t cache_entries = 128;
constexpr std::size_t cache_bytes = 8192;

/// a == b for the short strings compared per variable, without a call to memcmp (which
/// costs more than the comparison itself at these lengths): 8 bytes at a time, the last
/// (overlapping) word for the tail.
[[gnu::always_inline]] inline bool same_bytes(const char* a, std::string_view b) noexcept
{
    const char* p = b.data();
    std::size_t n = b.size();
    auto word = [](const char* at) {
        std::uint64_t w;
        std::memcpy(&w, at, sizeof w);
        return w;
    };
    auto half = [](const char* at) {
        std::uint32_t w;
        std::memcpy(&w, at, sizeof w);
        return w;
    };
    if (n >= 8) {
        for (std::size_t i = 0; i + 8 <= n; i += 8)
            if (word(a + i) != word(p + i)) return false;
        return word(a + n - 8) == word(p + n - 8);
    }
    if (n >= 4) return half(a) == half(p) && half(a + n - 4) == half(p + n - 4);
    for (std::size_t i = 0; i < n; ++i)
        if (a[i] != p[i]) return false;
    return true;
}

bool named(CgiKey kind) noexcept
{
    return kind == CgiKey::http_header || kind == CgiKey::variable;
}

/// The key object for a variable: an interned one from Keys, else decoded.
PyRef key_object(const Keys& keys, CgiKey kind, std::string_view name)
{
    PyObject* cached = kind == CgiKey::http_header ? keys.http_key(name)
                       : kind == CgiKey::variable  ? keys.variable_key(name)
                                                   : keys.fixed(kind);
    return cached ? PyRef::borrow(cached) : latin1(name);
}

/// The value object: one of Keys' common values for the variables whose values repeat
/// (method, protocol, port, web server variables, short header values such as "*/*";
/// long ones such as cookies and user agents would only pay for the lookup), else
/// decoded. "" and one-byte values are CPython's shared singletons already: decoding
/// them is cheaper than a table lookup.
PyRef value_object(const Keys& keys, CgiKey kind, std::string_view value)
{
    bool common = false;
    switch (kind) {
    case CgiKey::http_header:
        common = value.size() <= short_value;
        break;
    case CgiKey::variable:
    case CgiKey::content_length:
    case CgiKey::request_method:
    case CgiKey::server_protocol:
    case CgiKey::server_name:
    case CgiKey::server_port:
    case CgiKey::remote_addr:
    case CgiKey::path_info:
        common = true;
        break;
    default:
        break;
    }
    if (common && value.size() > 1)
        if (PyObject* cached = keys.common_value(value)) return PyRef::borrow(cached);
    return latin1(value);
}

void log_drop(const Logger& log, const Request& req, std::string_view name, DropReason why)
{
    std::string shown(name.substr(0, 200)); // the client chose it: no control bytes in our log
    for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    log.warning(concat(req.method, " ", req.target, ": request header '", shown,
                       "' not passed to the application: ", drop_reason_text(why)));
}

/// The per-request entries every environ gets last: wsgi.url_scheme when it is not the
/// template's "http", and wsgi.input.
PyRef finish_environ(const Keys& keys, const Request& req, PyRef env, PyObject* input)
{
    std::string_view scheme_name = effective_scheme(req);
    if (!scheme_name.empty() && scheme_name != "http") {
        PyRef scheme = scheme_name == "https" ? keys.https : latin1(scheme_name);
        if (!scheme || PyDict_SetItem(env.get(), keys.wsgi_url_scheme.get(), scheme.get()) != 0)
            return {};
    }
    if (PyDict_SetItem(env.get(), keys.wsgi_input.get(), input) != 0) return {};
    return env;
}

} // namespace

EnvironBuilder::EnvironBuilder(const Keys& keys, const WsgiOptions& options, PyObject* errors,
                               PyObject* file_wrapper_type)
    : keys_(keys), template_(PyRef::steal(_PyDict_NewPresized(environ_capacity)))
{
    if (!template_) throw std::runtime_error("cannot build the WSGI environ template");
    PyObject* d = template_.get();
    set(d, "wsgi.version", PyRef::steal(Py_BuildValue("(ii)", 1, 0)));
    set(d, "wsgi.multithread", boolean(options.multithread));
    set(d, "wsgi.multiprocess", boolean(options.multiprocess));
    set(d, "wsgi.run_once", boolean(options.run_once));
    // Every front end ends the body itself (Content-Length, chunked, end of STDIN), so
    // reading wsgi.input to the end is always safe (the proposed PEP 3333 extension).
    set(d, "wsgi.input_terminated", boolean(true));
    set(d, "wsgi.errors", PyRef::borrow(errors));
    set(d, "wsgi.file_wrapper", PyRef::borrow(file_wrapper_type));
    set(d, "wsgi.url_scheme", keys.http);
    set(d, "GATEWAY_INTERFACE", PyRef::steal(PyUnicode_FromString("CGI/1.1")));
    set(d, "SERVER_SOFTWARE", PyRef::steal(PyUnicode_FromString("wsgi-bridge")));
}

void EnvironBuilder::clear() noexcept
{
    forget();
    entries_.clear();
    template_.reset();
}

PyRef EnvironBuilder::build_uncached(const Request& req, PyObject* input, const Logger& log) const
{
    PyRef env = PyRef::steal(PyDict_Copy(template_.get()));
    if (!env) return env;
    bool ok = true;
    auto emit = [&](CgiKey kind, std::string_view name, std::string_view value) {
        if (!ok) return;
        if (kind == CgiKey::content_length && value.empty())
            return; // "" means absent (nginx sends it on GET)
        PyRef key = key_object(keys_, kind, name);
        PyRef v = key ? value_object(keys_, kind, value) : PyRef();
        ok = v && PyDict_SetItem(env.get(), key.get(), v.get()) == 0;
    };
    auto drop = [&](std::string_view name, DropReason why) { log_drop(log, req, name, why); };
    for_each_cgi_variable(req, emit, drop);
    if (!ok) return {};
    return finish_environ(keys_, req, std::move(env), input);
}

inline std::string_view EnvironBuilder::name_of(const Entry& e) const noexcept
{
    return named(e.kind) ? std::string_view(bytes_.data() + e.name_at, e.name_len)
                         : cgi_key_name(e.kind);
}

inline std::string_view EnvironBuilder::value_of(const Entry& e) const noexcept
{
    return std::string_view(bytes_.data() + e.value_at, e.value_len);
}

std::uint32_t EnvironBuilder::store(std::string_view first, std::string_view second)
{
    // Replaced values that outgrew their room leave their old bytes behind; copy the
    // live ones out once they fill the bound (live_ <= cache_bytes, so this always makes room).
    if (bytes_.size() + first.size() + second.size() > 2 * cache_bytes) {
        spare_.clear();
        for (std::size_t i = 0; i < count_; ++i) {
            Entry& e = entries_[i];
            std::string_view name = named(e.kind) ? name_of(e) : std::string_view();
            std::string_view value = value_of(e);
            e.name_at = static_cast<std::uint32_t>(spare_.size());
            spare_ += name;
            e.value_at = static_cast<std::uint32_t>(spare_.size());
            spare_ += value;
            e.value_room = e.value_len;
        }
        bytes_.swap(spare_);
    }
    auto at = static_cast<std::uint32_t>(bytes_.size());
    bytes_ += first;
    bytes_ += second;
    return at;
}

void EnvironBuilder::forget() noexcept
{
    previous_.reset();
    count_ = 0;
    live_ = 0;
    bytes_.clear();
}

/// One build(): walks the request's variables comparing them with the previous
/// request's (mode compare: previous_ takes the values that differ), and from the first
/// variable that is not the previous request's next one builds a fresh dict (mode
/// record: the new previous_; mode plain: not kept, the request is over the bounds or
/// names a variable twice, which one dict entry cannot describe).
class EnvironBuilder::Walk
{
public:
    explicit Walk(EnvironBuilder& b) : b_(b)
    {
        if (b_.previous_) return;
        b_.forget();
        fresh_ = PyRef::steal(PyDict_Copy(b_.template_.get()));
        ok_ = static_cast<bool>(fresh_);
        mode_ = Mode::record;
    }

    void emit(CgiKey kind, std::string_view name, std::string_view value)
    {
        if (!ok_) return;
        if (kind == CgiKey::content_length && value.empty())
            return; // "" means absent (nginx sends it on GET)
        if (mode_ == Mode::compare) {
            if (i_ < b_.count_ && same_key(b_.entries_[i_], kind, name)) {
                Entry& e = b_.entries_[i_];
                if (e.value_len == value.size() &&
                    same_bytes(b_.bytes_.data() + e.value_at, value)) {
                    ++i_;
                    return;
                }
                if (b_.live_ - e.value_len + value.size() <= cache_bytes) {
                    ok_ = replace(e, kind, value);
                    ++i_;
                    return;
                }
                diverge(Mode::plain);
            } else {
                diverge(Mode::record);
            }
            if (!ok_) return;
        }
        add(kind, name, value);
    }

    /// The environ without wsgi.url_scheme and wsgi.input, or nullptr with an exception set.
    PyRef finish()
    {
        if (ok_ && mode_ == Mode::compare && i_ != b_.count_) diverge(Mode::record);
        if (!ok_) {
            // previous_ may be half updated: rebuilt from the next request.
            b_.forget();
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_RuntimeError, "the previous environ lost an entry");
            return {};
        }
        if (mode_ == Mode::plain) {
            b_.forget();
            return std::move(fresh_);
        }
        if (mode_ == Mode::record) b_.previous_ = std::move(fresh_);
        // previous_ has no deleted entries (values are only replaced), so this is
        // CPython's fast clone of its key table.
        return PyRef::steal(PyDict_Copy(b_.previous_.get()));
    }

private:
    enum class Mode : std::uint8_t { compare, record, plain };

    bool same_key(const Entry& e, CgiKey kind, std::string_view name) const noexcept
    {
        return e.kind == kind && (!named(kind) || (e.name_len == name.size() &&
                                                   same_bytes(b_.bytes_.data() + e.name_at, name)));
    }

    bool replace(Entry& e, CgiKey kind, std::string_view value)
    {
        PyRef v = value_object(b_.keys_, kind, value);
        if (!v || PyDict_SetItem(b_.previous_.get(), e.key.get(), v.get()) != 0) return false;
        if (value.size() <= e.value_room) {
            std::copy_n(value.data(), value.size(), b_.bytes_.data() + e.value_at);
        } else {
            e.value_at = b_.store(value);
            e.value_room = static_cast<std::uint32_t>(value.size());
        }
        b_.live_ = b_.live_ - e.value_len + value.size();
        e.value_len = static_cast<std::uint32_t>(value.size());
        return true;
    }

    /// The request stops following the previous one at entry i_: a fresh dict with the
    /// entries so far (their values are previous_'s now), in the same order.
    void diverge(Mode to)
    {
        mode_ = to;
        fresh_ = PyRef::steal(PyDict_Copy(b_.template_.get()));
        ok_ = static_cast<bool>(fresh_);
        b_.live_ = 0;
        for (std::size_t j = 0; ok_ && j < i_; ++j) {
            const Entry& e = b_.entries_[j];
            PyObject* v = PyDict_GetItemWithError(b_.previous_.get(), e.key.get()); // borrowed
            ok_ = v && PyDict_SetItem(fresh_.get(), e.key.get(), v) == 0;
            b_.live_ += e.name_len + e.value_len;
        }
        b_.count_ = i_; // entries past the divergence are rewritten (record) or dropped
        if (to == Mode::plain) b_.forget();
    }

    /// Whether `name` is an earlier entry's (one dict key for two variables: the last
    /// value wins in place, which a per-entry replacement could not reproduce).
    bool repeats_earlier(CgiKey kind, std::string_view name) const noexcept
    {
        std::string_view full = named(kind) ? name : cgi_key_name(kind);
        for (std::size_t j = 0; j < b_.count_; ++j)
            if (b_.name_of(b_.entries_[j]) == full) return true;
        return false;
    }

    void add(CgiKey kind, std::string_view name, std::string_view value)
    {
        PyRef key = key_object(b_.keys_, kind, name);
        PyRef v = key ? value_object(b_.keys_, kind, value) : PyRef();
        Py_ssize_t before = PyDict_GET_SIZE(fresh_.get());
        ok_ = v && PyDict_SetItem(fresh_.get(), key.get(), v.get()) == 0;
        if (!ok_ || mode_ != Mode::record) return;
        // Not grown: the key was the template's (GATEWAY_INTERFACE, SERVER_SOFTWARE) or
        // an earlier variable's.
        if (PyDict_GET_SIZE(fresh_.get()) == before && repeats_earlier(kind, name)) {
            mode_ = Mode::plain;
            return;
        }
        std::string_view stored_name = named(kind) ? name : std::string_view();
        std::size_t size = stored_name.size() + value.size();
        if (b_.count_ >= cache_entries || b_.live_ + size > cache_bytes) {
            mode_ = Mode::plain;
            return;
        }
        if (b_.count_ == b_.entries_.size()) b_.entries_.emplace_back();
        Entry& e = b_.entries_[b_.count_];
        e.kind = kind;
        e.key = std::move(key);
        // One store() for both: a compaction it starts moves only the counted entries.
        e.name_at = b_.store(stored_name, value);
        e.name_len = static_cast<std::uint32_t>(stored_name.size());
        e.value_at = e.name_at + e.name_len;
        e.value_len = e.value_room = static_cast<std::uint32_t>(value.size());
        b_.live_ += size;
        i_ = ++b_.count_;
    }

    EnvironBuilder& b_;
    Mode mode_ = Mode::compare;
    bool ok_ = true;
    std::size_t i_ = 0; ///< the next entry to compare, or the number recorded
    PyRef fresh_;
};

PyRef EnvironBuilder::build(const Request& req, PyObject* input, const Logger& log)
{
    // PyDict_Copy can start a garbage collection whose finalizers release the GIL; a
    // thread entering meanwhile must not see previous_ half updated.
    if (busy_) return build_uncached(req, input, log);
    busy_ = true;
    struct Release
    {
        bool& busy;
        ~Release() { busy = false; }
    } release{busy_};

    PyRef env;
    try {
        Walk walk(*this);
        auto emit = [&](CgiKey kind, std::string_view name, std::string_view value) {
            walk.emit(kind, name, value);
        };
        auto drop = [&](std::string_view name, DropReason why) { log_drop(log, req, name, why); };
        for_each_cgi_variable(req, emit, drop);
        env = walk.finish();
    } catch (...) {
        forget(); // out of memory half way: previous_ and entries_ may disagree
        throw;
    }
    if (!env) return env;
    return finish_environ(keys_, req, std::move(env), input);
}

} // namespace wsgibridge::py
