// The in-process call API (include/wsgibridge/call.hpp) on a real Python app
// (tests/apps/call_app.py): owning request in, whole response out, the app's exception
// text handed to the caller; and WsgiOptions::multithread = false serialising calls
// (PEP 3333 wsgi.multithread: false promises the app one call at a time).
#include "harness.hpp"
#include "wsgibridge/call.hpp"

#include <mutex>
#include <thread>
#include <vector>

namespace wsgibridge::test {
namespace {

class CallTest : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        log_ = new LogCapture();
        WsgiOptions options;
        options.multithread = true;
        app_ = new WsgiApp(interpreter(), spec_of("call_app:application"), options, log_->logger());
    }
    static void TearDownTestSuite()
    {
        delete app_;
        delete log_;
    }
    static inline WsgiApp* app_ = nullptr;
    static inline LogCapture* log_ = nullptr;
};

TEST_F(CallTest, GetWithQueryScriptNameSchemeAndRemoteAddr)
{
    CallRequest req;
    req.target = "/api/hello?name=caf%C3%A9";
    req.script_name = "/api";
    req.scheme = "https";
    req.remote_addr = "10.1.2.3";
    CallResponse resp = call(*app_, req);
    EXPECT_EQ(resp.status, 200);
    EXPECT_EQ(resp.reason, "OK");
    EXPECT_EQ(resp.body, "hello name=caf%C3%A9 via https from 10.1.2.3, script /api");
    EXPECT_EQ(resp.header("content-type"), "text/plain");
    EXPECT_EQ(resp.header("Content-Length"), std::to_string(resp.body.size()))
        << "the gateway computes it for a one-item list (PEP 3333), as a client would see";
    EXPECT_TRUE(resp.complete);
    EXPECT_TRUE(resp.error.empty()) << resp.error;

    req.target = "/elsewhere";
    EXPECT_THROW(call(*app_, req), std::invalid_argument) << "the target is outside script_name";
}

TEST_F(CallTest, PostBodyReachesTheAppThroughContentLength)
{
    CallRequest req;
    req.method = "POST";
    req.target = "/echo";
    req.headers = {{"Content-Type", "application/octet-stream"}};
    req.body = std::string("binary\0body\xff", 12);
    CallResponse resp = call(*app_, req);
    EXPECT_EQ(resp.status, 201);
    EXPECT_EQ(resp.reason, "Created");
    EXPECT_EQ(resp.body, req.body) << "CONTENT_LENGTH came from the body size, no header needed";
    EXPECT_EQ(resp.header("X-Length"), "12");
    EXPECT_EQ(resp.header("Content-Type"), "application/octet-stream");

    // A stale Content-Length in the headers does not override the body's size.
    req.headers.push_back({"Content-Length", "3"});
    const unsigned char raw[] = {'o', 'k', 0, 1};
    req.set_body(std::as_bytes(std::span(raw)));
    resp = call(*app_, req);
    EXPECT_EQ(resp.body, std::string("ok\0\1", 4));
    EXPECT_EQ(resp.header("X-Length"), "4");

    // POST with an empty body: CONTENT_LENGTH "0" (RFC 9110 §8.6); GET: absent.
    req.body.clear();
    EXPECT_EQ(call(*app_, req).header("X-Length"), "0");
    req.method = "GET";
    EXPECT_EQ(call(*app_, req).header("X-Length"), "absent");
}

TEST_F(CallTest, ExceptionGives500AndTheTextToTheCaller)
{
    log_->clear();
    CallRequest req;
    req.target = "/raise";
    CallResponse resp = call(*app_, req);
    EXPECT_EQ(resp.status, 500);
    EXPECT_EQ(resp.reason, "Internal Server Error");
    EXPECT_EQ(resp.error, "ValueError: no item 42");
    EXPECT_NE(resp.traceback.find("Traceback"), std::string::npos) << resp.traceback;
    EXPECT_NE(resp.traceback.find("call_app.py"), std::string::npos) << resp.traceback;
    EXPECT_TRUE(resp.complete) << "the 500 answer itself is a complete response";
    EXPECT_TRUE(log_->contains("ValueError: no item 42")) << "the error log has it too";

    // Raised after the head went out: the head stays, the response is cut short.
    req.target = "/raise-midway";
    resp = call(*app_, req);
    EXPECT_EQ(resp.status, 200);
    EXPECT_EQ(resp.body, "first;");
    EXPECT_FALSE(resp.complete);
    EXPECT_EQ(resp.error, "KeyError: 'gone'");

    // And the app keeps serving.
    req.target = "/hello";
    EXPECT_EQ(call(*app_, req).status, 200);
}

TEST_F(CallTest, GeneratorResponseIsCollected)
{
    CallRequest req;
    req.target = "/stream";
    CallResponse resp = call(*app_, req);
    EXPECT_EQ(resp.status, 200);
    EXPECT_EQ(resp.body, "part 0;part 1;part 2;part 3;part 4;");
    EXPECT_FALSE(resp.header("Content-Length")) << "several items: length unknown (PEP 3333)";
    EXPECT_TRUE(resp.complete);
}

TEST_F(CallTest, DuplicateHeadersBothWays)
{
    CallRequest req;
    req.target = "/headers";
    req.headers = {
        {"Cookie", "x=1"}, {"Accept", "text/html"}, {"Cookie", "y=2"}, {"Accept", "*/*"}};
    CallResponse resp = call(*app_, req);
    EXPECT_EQ(resp.header("X-Cookie-In"), "x=1; y=2") << "RFC 6265 §5.4";
    EXPECT_EQ(resp.header("X-Accept-In"), "text/html, */*") << "RFC 9110 §5.3";
    std::vector<std::string> cookies;
    for (const auto& h : resp.headers)
        if (h.name == "Set-Cookie") cookies.push_back(h.value);
    EXPECT_EQ(cookies, (std::vector<std::string>{"a=1", "b=2"})) << "kept apart, in order";
}

TEST_F(CallTest, AppErrorsReachAHostLogCallback)
{
    std::mutex lock;
    std::vector<std::pair<LogLevel, std::string>> lines;
    Logger host([&](LogLevel level, std::string_view message) {
        std::lock_guard guard(lock);
        lines.emplace_back(level, std::string(message));
    });
    WsgiApp app(interpreter(), spec_of("call_app:application"), WsgiOptions{}, host);
    CallRequest req;
    req.target = "/raise";
    EXPECT_EQ(call(app, req).status, 500);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].first, LogLevel::error);
    EXPECT_NE(lines[0].second.find("GET /raise: the application raised"), std::string::npos)
        << lines[0].second;
    EXPECT_NE(lines[0].second.find("ValueError: no item 42"), std::string::npos)
        << "the traceback, in the one message";
}

/// Several threads call the app at once; returns the most calls seen inside it at once.
int max_overlap(WsgiApp& app, std::string& flag)
{
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
        pool.emplace_back([&app, &flag, t] {
            CallRequest req;
            req.target = "/overlap";
            for (int i = 0; i < 10; ++i) {
                auto resp = call(app, req);
                if (t == 0 && i == 0) flag = resp.body;
            }
        });
    for (auto& th : pool)
        th.join();
    CallRequest req;
    req.target = "/max-overlap";
    return std::stoi(call(app, req).body);
}

TEST_F(CallTest, MultithreadFalseSerialisesCalls)
{
    std::string flag;
    WsgiOptions single;
    single.multithread = false;
    WsgiApp serial(interpreter(), spec_of("call_app:application"), single, log_->logger());
    EXPECT_EQ(max_overlap(serial, flag), 1) << "wsgi.multithread False: one call at a time";
    EXPECT_EQ(flag, "False");

    // The same app with multithread = true does run calls side by side (the check above
    // could not fail otherwise).
    EXPECT_GT(max_overlap(*app_, flag), 1);
    EXPECT_EQ(flag, "True");
}

} // namespace
} // namespace wsgibridge::test
