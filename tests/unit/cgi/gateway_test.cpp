// run_cgi() end to end inside the process: a crafted environment, a pipe as stdin, a
// temporary file as stdout, and a C++ RequestHandler in place of the WSGI app.
#include "env_builder.hpp"
#include "wsgibridge/cgi_gateway.hpp"

#include <gtest/gtest.h>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge;
using namespace std::chrono_literals;
using wsgibridge::test::CapturedLog;
using wsgibridge::test::EnvBuilder;

namespace {

// Echoes what it saw: method, path, and the body it read (or the read error).
class EchoHandler final : public RequestHandler
{
public:
    bool read_body = true;
    int calls = 0;
    std::string seen_body;
    std::error_code body_error;

    void handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept override
    {
        ++calls;
        if (read_body) {
            char buf[4096];
            for (;;) {
                auto n = body.read(buf);
                if (!n) {
                    body_error = n.error();
                    break;
                }
                if (*n == 0) break;
                seen_body.append(buf, *n);
            }
        }
        std::string text =
            std::string(req.method) + " " + std::string(req.path_info) + " " + seen_body;
        ResponseHead head;
        head.status_code = 200;
        head.status = "200 OK";
        head.content_length = text.size();
        head.content_length_computed = true;
        (void)sink.start(head);
        (void)sink.write(text);
        (void)sink.finish();
    }
};

class SilentHandler final : public RequestHandler
{
public:
    void handle(const Request&, BodySource&, ResponseSink&) noexcept override {}
};

class Stdio
{
public:
    Stdio()
    {
        int fds[2];
        EXPECT_EQ(::pipe(fds), 0);
        in_r = fds[0];
        in_w = fds[1];
        out = ::memfd_create("cgi-out", 0);
    }
    ~Stdio()
    {
        ::close(in_r);
        if (in_w >= 0) ::close(in_w);
        ::close(out);
    }
    CgiOptions options(EnvBuilder& env)
    {
        CgiOptions o;
        o.environment = env.envp();
        o.input_fd = in_r;
        o.output_fd = out;
        o.limits.io_timeout = 2s;
        return o;
    }
    std::string output()
    {
        std::string s;
        char buf[65536];
        ssize_t n;
        for (off_t at = 0; (n = ::pread(out, buf, sizeof buf, at)) > 0; at += n)
            s.append(buf, static_cast<std::size_t>(n));
        return s;
    }
    int in_r = -1, in_w = -1, out = -1;
};

} // namespace

TEST(RunCgi, ServesAGet)
{
    Stdio io;
    auto env = EnvBuilder::get("/hello");
    EchoHandler h;
    Logger log(-1);
    EXPECT_EQ(run_cgi(io.options(env), h, log), 0);
    EXPECT_EQ(io.output(), "Status: 200 OK\r\nContent-Length: 11\r\n\r\nGET /hello ");
}

TEST(RunCgi, PostBodyIsReadExactlyWithTheWriterStillOpen)
{
    Stdio io;
    auto env = EnvBuilder::get("/form").set("REQUEST_METHOD", "POST").set("CONTENT_LENGTH", "7");
    ASSERT_EQ(::write(io.in_w, "a=1&b=2 trailing junk", 21), 21);
    EchoHandler h;
    Logger log(-1);
    EXPECT_EQ(run_cgi(io.options(env), h, log), 0);
    EXPECT_EQ(h.seen_body, "a=1&b=2");
    EXPECT_FALSE(h.body_error);
    EXPECT_TRUE(io.output().ends_with("POST /form a=1&b=2"));
}

TEST(RunCgi, ShortBodyReachesTheHandlerAsTruncated)
{
    Stdio io;
    auto env = EnvBuilder::get().set("REQUEST_METHOD", "POST").set("CONTENT_LENGTH", "100");
    ASSERT_EQ(::write(io.in_w, "abc", 3), 3);
    ::close(io.in_w);
    io.in_w = -1;
    EchoHandler h;
    Logger log(-1);
    run_cgi(io.options(env), h, log);
    EXPECT_EQ(h.body_error, errc::body_truncated);
    EXPECT_EQ(http_status_for(h.body_error), 400);
}

TEST(RunCgi, OversizedBodyIs413WithoutTheHandler)
{
    Stdio io;
    auto env = EnvBuilder::get().set("REQUEST_METHOD", "POST").set("CONTENT_LENGTH", "5000");
    ::close(io.in_w);
    io.in_w = -1;
    EchoHandler h;
    CapturedLog log;
    auto o = io.options(env);
    o.limits.max_body_bytes = 1000;
    EXPECT_EQ(run_cgi(o, h, log.logger()), 0);
    EXPECT_EQ(h.calls, 0);
    EXPECT_TRUE(io.output().starts_with("Status: 413 Content Too Large\r\n"));
    EXPECT_NE(log.text().find("--max-body"), std::string::npos);
}

TEST(RunCgi, OversizedEnvironmentIs431NamingTheOption)
{
    Stdio io;
    auto env = EnvBuilder::get().set("HTTP_COOKIE", std::string(5000, 'c'));
    EchoHandler h;
    CapturedLog log;
    auto o = io.options(env);
    o.limits.max_header_bytes = 4096;
    EXPECT_EQ(run_cgi(o, h, log.logger()), 0);
    EXPECT_EQ(h.calls, 0);
    EXPECT_TRUE(io.output().starts_with("Status: 431 Request Header Fields Too Large\r\n"));
    EXPECT_NE(log.text().find("--max-header-bytes"), std::string::npos);
}

TEST(RunCgi, UnreadBodyIsDrainedBeforeReturning)
{
    Stdio io;
    const std::string body(1 << 20, 'b');
    auto env = EnvBuilder::get()
                   .set("REQUEST_METHOD", "POST")
                   .set("CONTENT_LENGTH", std::to_string(body.size()));
    std::size_t sent = 0;
    std::thread writer([&] {
        while (sent < body.size()) {
            ssize_t n = ::write(io.in_w, body.data() + sent, body.size() - sent);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
    });
    EchoHandler h;
    h.read_body = false; // a 403 that never looks at the body
    Logger log(-1);
    EXPECT_EQ(run_cgi(io.options(env), h, log), 0);
    writer.join(); // only finishes because the gateway read the whole body
    EXPECT_EQ(sent, body.size());
}

TEST(RunCgi, NphFromTheScriptName)
{
    Stdio io;
    auto env = EnvBuilder::get("/x");
    EchoHandler h;
    Logger log(-1);
    auto o = io.options(env);
    o.script_path = "/var/www/cgi-bin/nph-app.cgi";
    EXPECT_EQ(run_cgi(o, h, log), 0);
    std::string out = io.output();
    EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\nDate: ")) << out;
    EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
}

TEST(RunCgi, HandlerWithoutResponseGets500)
{
    Stdio io;
    auto env = EnvBuilder::get();
    SilentHandler h;
    Logger log(-1);
    EXPECT_EQ(run_cgi(io.options(env), h, log), 0);
    EXPECT_TRUE(io.output().starts_with("Status: 500 Internal Server Error\r\n"));
}

TEST(RunCgi, NoRequestMethodIsNotACgiRequest)
{
    Stdio io;
    auto env = EnvBuilder().set("PATH_INFO", "/");
    EchoHandler h;
    Logger log(-1);
    EXPECT_FALSE(cgi_request_present(env.envp()));
    EXPECT_EQ(run_cgi(io.options(env), h, log), 2);
    EXPECT_EQ(h.calls, 0);
    EXPECT_EQ(io.output(), "");
}

TEST(RunCgi, AnswerErrorWithoutAHandler)
{
    Stdio io;
    auto env = EnvBuilder::get().set("REQUEST_METHOD", "HEAD");
    Logger log(-1);
    EXPECT_EQ(answer_cgi_error(io.options(env), 500, log), 0);
    EXPECT_EQ(io.output(),
              "Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: 26\r\n\r\n");
}

TEST(RunCgi, ScrubRemovesHttpProxyFromTheProcess)
{
    ::setenv("HTTP_PROXY", "http://evil:1", 1);
    scrub_cgi_environment();
    EXPECT_EQ(std::getenv("HTTP_PROXY"), nullptr);
}
