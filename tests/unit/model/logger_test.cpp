#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "wsgibridge/log.hpp"

using namespace wsgibridge;

namespace {
std::string drain(int fd)
{
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
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
    EXPECT_NE(text.find("\"GET /x HTTP/1.1\" 200 14 \"-\" \"evil\\\"\\x0a agent\"\n"), std::string::npos) << text;
}
