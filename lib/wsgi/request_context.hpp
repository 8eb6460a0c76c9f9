// The state of one request while the application runs, shared by the objects the
// application sees (wsgi.input, start_response, write) and the response driver. It
// lives on the stack of WsgiApp::handle; the Python objects point at it and are
// detached (pointer cleared) before it goes, so an app that keeps them gets an error,
// not a dangling pointer.
#pragma once

#include "keys.hpp"
#include "py_ref.hpp"
#include "wsgibridge/body_source.hpp"
#include "wsgibridge/log.hpp"
#include "wsgibridge/request.hpp"
#include "wsgibridge/response_sink.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace wsgibridge::py {

/// Where a response is: PEP 3333's start_response rules, then the sink's state machine
/// (response_sink.hpp). Moves forward only, except that start_response with exc_info
/// may replace a held head (head_held -> head_held, bad_head -> head_held).
enum class Phase : std::uint8_t {
    no_head,    ///< start_response not called yet
    bad_head,   ///< start_response was called but raised: no valid head held
    head_held,  ///< a valid status and headers are held; nothing sent yet
    head_sent,  ///< sink.start() was called with the application's head
    error_sent, ///< the gateway's own error answer (500, 413...) went out instead
    finished,   ///< the last item and sink.finish() went out together
};

/// The response head as start_response captured it, plus what was sent. The header
/// views point into Python str objects kept alive by `refs` (no copy); the vectors are
/// reused by the thread from request to request.
struct ResponseState
{
    PyRef status_ref;
    std::string_view status;
    int code = 0;
    std::vector<PyRef> refs; ///< the (name, value) tuples the views point into
    std::vector<Header> headers;
    std::optional<std::uint64_t> content_length; ///< the app's Content-Length, or computed
    std::uint64_t bytes_sent = 0;
    Phase phase = Phase::no_head;

    // Independent of the phase:
    bool length_computed = false; ///< content_length is the gateway's, not the app's
    bool body_allowed = true;     ///< fixed when the head goes out: not HEAD, 1xx, 204, 304
    bool write_used = false;      ///< the app called write() (the legacy imperative API)
    bool overrun_logged = false;  ///< "more than its Content-Length" was logged once

    bool start_called() const noexcept { return phase != Phase::no_head; }
    /// The application's valid head is held (sent or not).
    bool head_ready() const noexcept
    {
        return phase == Phase::head_held || phase == Phase::head_sent || phase == Phase::finished;
    }
    /// sink.start() was called (the app's head or the gateway's error answer).
    bool head_sent() const noexcept { return phase >= Phase::head_sent; }

    /// Drops the references (GIL held) and resets the state, keeping the capacity.
    void reset() noexcept;
    /// Drops a partly validated head (GIL held); the phase stays.
    void drop_head() noexcept;
};

/// The whole response (head and one body item, e.g. a hello app's [body]) copied while
/// the GIL is held, to be sent after the invoker gives the GIL up: one GIL round trip
/// less per request. Reused by the thread from request to request (capacity kept).
struct DeferredSend
{
    bool armed = false;
    std::vector<char> bytes; ///< status, header names and values, body: what the views point into
    std::vector<Header> headers;
    ResponseHead head;
    std::string_view body;
};

/// Header names start_response already validated (token, not hop-by-hop), and the last
/// valid status, by object identity: an app usually passes the same str objects every time
/// (literals in its code), so their checks run once. Holding a reference keeps a cached pointer
/// from ever naming another object. One per application, used with the GIL held.
class HeaderNameCache
{
public:
    struct Entry
    {
        PyRef name;
        bool content_length = false;
    };
    const Entry* find(PyObject* name) const noexcept
    {
        for (const Entry& e : entries_)
            if (e.name.get() == name) return &e;
        return nullptr;
    }
    /// `name` must be an exact str (a subclass could change what it compares equal to).
    void add(PyObject* name, bool content_length) noexcept
    {
        Entry& e = entries_[next_++ % entries_.size()];
        e.name = PyRef::borrow(name);
        e.content_length = content_length;
    }
    /// The last valid status object (exact str) and its code, by identity likewise.
    bool is_last_status(PyObject* status, int& code) const noexcept
    {
        if (status != status_.get()) return false;
        code = status_code_;
        return true;
    }
    void set_last_status(PyObject* status, int code) noexcept
    {
        status_ = PyRef::borrow(status);
        status_code_ = code;
    }
    void clear() noexcept
    {
        for (Entry& e : entries_)
            e.name.reset();
        status_.reset();
    }

private:
    std::array<Entry, 8> entries_;
    PyRef status_;
    int status_code_ = 0;
    std::size_t next_ = 0;
};

struct RequestContext
{
    const Request& req;
    BodySource& body;
    ResponseSink& sink;
    const Logger& log;
    const Keys& keys;
    ResponseState& resp;
    bool head_method = false;
    bool app_running = true;    ///< write() is allowed only while the app call runs
    std::error_code body_error; ///< the first BodySource failure the app saw
    std::error_code sink_error; ///< the sink failed: the client is gone
    bool client_gone = false;   ///< sink.client_gone() after the last write (asked without the GIL)
    /// Where a small final response may be parked (send_deferred sends it); nullptr
    /// when the caller already held the GIL, so it is sent at once.
    DeferredSend* deferred = nullptr;
    HeaderNameCache* header_names = nullptr; ///< nullptr: no cache, every name is checked

    /// "GET /path?q": the prefix of every log line about this request.
    std::string label() const;
};

/// The request the current thread is serving, for wsgi.errors (one object shared by
/// all requests: it finds the request's error channel through this).
inline thread_local RequestContext* current_request = nullptr;

class CurrentRequestScope
{
public:
    explicit CurrentRequestScope(RequestContext& ctx) noexcept : previous_(current_request)
    {
        current_request = &ctx;
    }
    ~CurrentRequestScope() { current_request = previous_; }
    CurrentRequestScope(const CurrentRequestScope&) = delete;
    CurrentRequestScope& operator=(const CurrentRequestScope&) = delete;

private:
    RequestContext* previous_;
};

} // namespace wsgibridge::py
