// A FastcgiServer serving a C++ RequestHandler, run on a thread for the length of a
// test, and the handler itself: routes by PATH_INFO to small behaviours the tests
// exercise through the raw FastCGI client.
#pragma once

#include "process.hpp"
#include "raw_fcgi_client.hpp"
#include "wsgibridge/fastcgi_server.hpp"

#include <atomic>
#include <condition_variable>
#include <gtest/gtest.h>
#include <mutex>
#include <string>
#include <thread>

namespace wsgibridge::test {

class TestHandler final : public RequestHandler
{
public:
    void handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept override;

    std::atomic<int> handled{0};
    std::atomic<int> write_failures{0};
    std::atomic<int> saw_client_gone{0};
    /// /rendezvous: each request waits (bounded) until `rendezvous_needed` arrived.
    std::mutex m;
    std::condition_variable cv;
    int arrived = 0;
    int rendezvous_needed = 2;
    /// /hold: the request waits (bounded) until `held_released`; `held` counts arrivals.
    int held = 0;
    bool held_released = false;
};

class FcgiServerTest : public ::testing::Test
{
protected:
    /// Starts the server (TCP on 127.0.0.1 when `bind` is empty).
    void start(FastcgiServerOptions options = {});
    void TearDown() override;
    unsigned short port() const;

    TempDir dir;
    TestHandler handler;
    Logger log{2, LogLevel::debug};
    AccessLog access{-1};
    std::unique_ptr<FastcgiServer> server;
    std::thread runner;
    std::string endpoint;
};

} // namespace wsgibridge::test
