// A test HttpServer with a C++ RequestHandler on 127.0.0.1 (or a unix socket), and a
// raw client to speak bytes to it.
#pragma once

#include "wsgibridge/http_server.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

namespace wsgibridge::test {

/// Routes by PATH_INFO:
///   /echo       reads the whole body and returns it (a body error becomes its status)
///   /sleep      waits 300 ms, then answers
///   /stream     three chunks without a Content-Length
///   /file?PATH  PATH from offset 2 through send_file, with a Content-Length
///   /file-chunked?PATH  the same, chunked
///   /noresponse returns without touching the sink (a broken handler)
///   /abort      starts a chunked response, sends "partial", then aborts
///   /conn       "cloexec=B epoll=B" about the server's socket of this connection: is it
///               close-on-exec, and is it in an epoll set (registered with the reactor)
///   anything    "METHOD script|path?query" without reading the body
class TestHandler final : public RequestHandler
{
public:
    void handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept override;

    std::atomic<int> calls{0};
    std::mutex mutex;
    std::string last_headers; ///< "name=value\n" per field of the last request
};

class LoopbackServer
{
public:
    explicit LoopbackServer(Limits limits = {}, std::string bind = "127.0.0.1:0",
                            std::string mount = "", unsigned threads = 2,
                            std::chrono::seconds defer_accept = HttpServerOptions{}.defer_accept);
    ~LoopbackServer();

    unsigned short port() const;
    std::string log_text() const;

    HttpServer& server() { return *server_; }
    TestHandler handler;

private:
    std::filesystem::path log_path_;
    Logger log_;
    AccessLog access_;
    std::unique_ptr<HttpServer> server_;
    std::thread thread_;
};

/// The status line of a raw response, and what follows its head.
inline std::string status_of(const std::string& response)
{
    return response.substr(0, response.find("\r\n"));
}
inline std::string body_of(const std::string& response)
{
    auto p = response.find("\r\n\r\n");
    return p == std::string::npos ? "" : response.substr(p + 4);
}

/// A blocking client socket with receive timeouts.
class RawClient
{
public:
    explicit RawClient(unsigned short port);
    explicit RawClient(const std::filesystem::path& unix_path);
    ~RawClient();

    void send(std::string_view data);
    /// Sends a FIN: the server reads end of stream after what was sent.
    void shutdown_write();
    /// One response: the head, then Content-Length bytes or chunks up to the last one.
    std::string read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// Everything until the server closes (or the timeout).
    std::string read_until_close(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// True when the server closed the connection within `timeout`.
    bool closed_within(std::chrono::milliseconds timeout);

private:
    bool fill(std::chrono::steady_clock::time_point deadline);
    int fd_ = -1;
    std::string pending_;
};

} // namespace wsgibridge::test
