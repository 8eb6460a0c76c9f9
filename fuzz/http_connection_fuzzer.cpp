// libFuzzer target for the HTTP/1.1 front end: the input is everything a client sends
// on one connection (pipelined requests, chunked or Content-Length bodies, garbage),
// written into a socketpair whose other end a real http::Session serves with small
// limits. A handler checks what reaches the application is well-formed (RFC 9112
// section 3.2: a path, a token method, one Host) and reads, half-reads or ignores the
// body depending on the path, so draining and pipelining get exercised. Crashes,
// sanitizer reports, failed checks (abort) and hangs (-timeout) are findings.
#include "http/session.hpp"

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge;

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

bool tchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

class CheckingHandler final : public RequestHandler
{
public:
    void handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept override
    {
        check(!req.method.empty() && req.method.size() <= http::max_method_bytes);
        for (char c : req.method)
            check(tchar(c));
        check(req.path_info.starts_with('/'));
        check(req.protocol == "HTTP/1.1" || req.protocol == "HTTP/1.0");
        std::size_t hosts = 0;
        for (const auto& h : req.headers)
            hosts += iequals(h.name, "Host") ? 1 : 0;
        check(hosts <= 1 && (hosts == 1 || req.protocol == "HTTP/1.0"));

        std::uint64_t got = 0;
        char buf[5];
        const bool whole = req.path_info.starts_with("/echo");
        const bool some = req.path_info.starts_with("/half");
        while (whole || (some && got < 3)) {
            auto n = body.read(buf);
            if (!n || *n == 0) break;
            got += *n;
            if (req.content_length) check(got <= *req.content_length);
        }
        ResponseHead head;
        head.status = "200 OK";
        if (!req.path_info.starts_with("/chunked")) {
            head.content_length = 2;
            head.content_length_computed = true;
        }
        if (sink.start(head)) return;
        if (sink.write(std::span<const char>("ok", 2))) return;
        (void)sink.finish();
    }
};

struct Fixture
{
    int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    Logger log{devnull, LogLevel::debug};
    AccessLog access{devnull};
    CheckingHandler handler;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static Fixture fx;
    if (size > 256 * 1024) return -1;

    Limits limits;
    limits.max_header_bytes = 4096;
    limits.max_header_count = 20;
    limits.max_target_bytes = 512;
    limits.max_body_bytes = 8192;
    limits.max_drain_bytes = 4096;
    limits.header_timeout = std::chrono::milliseconds(2000);
    limits.idle_timeout = std::chrono::milliseconds(2000);
    limits.io_timeout = std::chrono::milliseconds(2000);
    boost::asio::io_context io;
    http::ServerContext ctx{fx.handler, fx.log, fx.access, limits,  "",  "fuzz",  {}, {}, {},
                            {},         {},     {},        nullptr, &io, AF_UNIX, {}, {}, {}};

    int fds[2];
    // The server's end non-blocking, as accept4(SOCK_NONBLOCK) gives it to a session.
    check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    check(::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK) == 0);
    // The client: sends the input, says it is done (EOF), and reads every response
    // until the server closes, so the server's blocking writes never stall.
    std::thread client([fd = fds[1], data, size] {
        std::thread reader([fd] {
            char sink[16 * 1024];
            while (::read(fd, sink, sizeof sink) > 0) {
            }
        });
        for (std::size_t off = 0; off < size;) {
            auto n = ::write(fd, data + off, size - off);
            if (n <= 0) break; // the server closed first
            off += static_cast<std::size_t>(n);
        }
        ::shutdown(fd, SHUT_WR);
        reader.join();
        ::close(fd);
    });

    // A session reads what came with the connection at once and enters `io` only when
    // it must wait, as the server's accept loop hands connections over.
    std::make_shared<http::Session>(UniqueFd(fds[0]), ctx)->start();
    io.run();
    client.join();
    return 0;
}
