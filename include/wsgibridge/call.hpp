// Calling an application in-process, without a socket: a request in owning strings, the
// whole response back. For a C++ program that embeds a WSGI app (tests, batch jobs, an
// RPC layer of its own) where the servers' streaming request model is more than needed.
//
//   wsgibridge::CallRequest req;
//   req.method = "POST";
//   req.target = "/api/items?verbose=1";
//   req.headers = {{"Content-Type", "application/json"}};
//   req.body = R"({"name": "x"})";
//   wsgibridge::CallResponse resp = wsgibridge::call(app, req);
//   if (!resp.error.empty()) ...  // the app raised: resp.status is 500, resp.error says why
//
// Lifetimes: call() only borrows `app` and `request` for its duration; the response owns
// everything it holds. The app (and what it needs: see wsgi_app.hpp) must outlive the call.
#pragma once

#include "export.hpp"
#include "handler.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsgibridge {

/// One header field, owning its text.
struct HeaderField
{
    std::string name;
    std::string value;
};

struct CallRequest
{
    std::string method = "GET";
    /// The request-target as on an HTTP request line: "/path?query" (REQUEST_URI). The
    /// path is percent-decoded into PATH_INFO, the part after '?' is QUERY_STRING.
    std::string target = "/";
    /// The mount point (SCRIPT_NAME, decoded, e.g. "/app"): PATH_INFO is the path below
    /// it. The target's path must start with it.
    std::string script_name;
    /// Request header fields in order, duplicates kept ("Cookie" twice joins as HTTP_COOKIE
    /// "a=1; b=2", others with ", "). A Content-Length field here is ignored: the length
    /// is body.size().
    std::vector<HeaderField> headers;
    /// The request body: any bytes (std::string holds NULs). Its size becomes
    /// CONTENT_LENGTH when it is not empty or the method defines a body (POST, PUT,
    /// PATCH: RFC 9110 §8.6, a client sends Content-Length: 0 for those).
    std::string body;
    std::string scheme = "http"; ///< wsgi.url_scheme
    std::string remote_addr = "127.0.0.1";
    std::string remote_port;
    std::string server_name = "localhost";
    std::string server_port = "80";
    std::string protocol = "HTTP/1.1";

    /// Sets the body from raw bytes.
    void set_body(std::span<const std::byte> bytes)
    {
        body.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
};

struct CallResponse
{
    int status = 0;     ///< 200; 500 when the application failed before sending a head
    std::string reason; ///< "OK": the status line's text after the code
    std::vector<HeaderField>
        headers;      ///< as the app sent them, plus a Content-Length the gateway computed
    std::string body; ///< the whole body (a generator's items joined, a file_wrapper read)
    /// True when the response ended normally; false when it was cut short after the head
    /// went out (the app raised while iterating, or sent less than its Content-Length):
    /// an HTTP client would see the connection close. `error` then says why.
    bool complete = false;
    /// Why the application failed, when it did: the exception ("ValueError: bad id") or
    /// the PEP 3333 rule it broke. Empty on success. The error log gets it too.
    std::string error;
    /// The Python traceback of that exception, when there is one.
    std::string traceback;

    /// The first field named `name` (ASCII case-insensitive), if any.
    WSGIBRIDGE_API std::optional<std::string_view> header(std::string_view name) const noexcept;
};

/// Serves `request` through `app` (a WsgiApp, or any RequestHandler) on the calling
/// thread and returns the whole response. Never throws for what the application does
/// (a failing app gives status 500 and `error`); throws std::bad_alloc only. Thread-safe
/// as far as `app` is (WsgiApp is: several threads may call at once).
WSGIBRIDGE_API CallResponse call(RequestHandler& app, const CallRequest& request);

} // namespace wsgibridge
