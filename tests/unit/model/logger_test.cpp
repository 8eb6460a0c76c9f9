#include "wsgibridge/log.hpp"

#include <gtest/gtest.h>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace wsgibridge;

namespace {
std::string drain(int fd)
{
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<std::size_t>(n));
    return out;
}
} // namespace

TEST(Logger, OneLinePerMessageWithLevelAndFilter)
{
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    {
        Logger log(p[1], LogLevel::info);
        log.debug("hidden");
        log.error("body too large (--max-body 10)");
    }
    ::close(p[1]);
    auto text = drain(p[0]);
    ::close(p[0]);
    EXPECT_EQ(text.find("hidden"), std::string::npos);
    EXPECT_NE(text.find("[error]"), std::string::npos);
    EXPECT_NE(text.find("body too large (--max-body 10)\n"), std::string::npos);
}

TEST(AccessLog, CombinedFormatEscapesClientFields)
{
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    Request r;
    r.method = "GET";
    r.target = "/x";
    r.protocol = "HTTP/1.1";
    r.remote_addr = "127.0.0.1";
    r.headers.add("User-Agent", "evil\"\n agent");
    {
        AccessLog log(p[1]);
        log.log(r, 200, 14);
    }
    ::close(p[1]);
    auto text = drain(p[0]);
    ::close(p[0]);
    EXPECT_EQ(text.rfind("127.0.0.1 - - [", 0), 0u);
    EXPECT_NE(text.find("\"GET /x HTTP/1.1\" 200 14 \"-\" \"evil\\\"\\x0a agent\"\n"),
              std::string::npos)
        << text;
}

TEST(Logger, CallbackReceivesLevelAndMessage)
{
    std::vector<std::pair<LogLevel, std::string>> lines;
    {
        Logger log(
            [&lines](LogLevel level, std::string_view message) {
                lines.emplace_back(level, std::string(message));
            },
            LogLevel::info);
        EXPECT_EQ(log.fd(), -1);
        log.debug("below the level");
        log.info("listening on 127.0.0.1:8080");
        log.error("GET /x: the application raised\nTraceback ...\n");
        Logger moved(std::move(log)); // a Logger is moved into place by the programs
        moved.warning("after the move");
    }
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].first, LogLevel::info);
    EXPECT_EQ(lines[0].second, "listening on 127.0.0.1:8080");
    EXPECT_EQ(lines[1].first, LogLevel::error);
    EXPECT_EQ(lines[1].second, "GET /x: the application raised\nTraceback ...")
        << "whole message, trailing newline dropped (the host adds its own)";
    EXPECT_EQ(lines[2].first, LogLevel::warning);
    EXPECT_EQ(lines[2].second, "after the move");
}

TEST(Logger, ThrowingCallbackDoesNotEscape)
{
    Logger log([](LogLevel, std::string_view) { throw std::runtime_error("host logger broke"); });
    EXPECT_NO_THROW(log.error("lost, not fatal")); // log() is noexcept
    EXPECT_THROW(Logger(LogCallback{}), std::invalid_argument);
}
