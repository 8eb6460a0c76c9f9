#include "listener.hpp"
#include "process.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace wsgibridge::fastcgi;

TEST(Listener, BindForms)
{
    int v4 = open_listener("127.0.0.1:0", 0);
    EXPECT_TRUE(describe_local(v4).starts_with("127.0.0.1:"));
    ::close(v4);
    int any = open_listener(":0", 0);
    EXPECT_TRUE(describe_local(any).starts_with("0.0.0.0:"));
    ::close(any);
    int v6 = -1;
    try {
        v6 = open_listener("[::1]:0", 0);
    } catch (const std::system_error&) {
        GTEST_SKIP() << "no IPv6 loopback here";
    }
    EXPECT_TRUE(describe_local(v6).starts_with("[::1]:"));
    ::close(v6);
}

TEST(Listener, UnixSocketModeAndStaleFile)
{
    wsgibridge::test::TempDir dir;
    auto path = (dir / "a.sock").string();
    int fd = open_listener("unix:" + path, 0660);
    struct stat st
    {
    };
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    EXPECT_EQ(describe_local(fd), "unix:" + path);
    ::close(fd); // the file stays behind, as after a crash: the next bind replaces it
    int again = open_listener("unix:" + path, 0);
    ::close(again);
    // a regular file is never removed
    wsgibridge::test::write_file(dir / "f", "x");
    EXPECT_THROW(open_listener("unix:" + (dir / "f").string(), 0), std::system_error);
}

TEST(Listener, BadBindValues)
{
    EXPECT_THROW(open_listener("nonsense", 0), std::invalid_argument);
    EXPECT_THROW(open_listener("127.0.0.1:99999", 0), std::invalid_argument);
    EXPECT_THROW(open_listener("example.org:80", 0), std::invalid_argument);
    EXPECT_THROW(open_listener("[zz]:80", 0), std::invalid_argument);
}

TEST(PeerFilter, ParsesAndMatchesV4V6AndMapped)
{
    PeerFilter f("127.0.0.1, ::1,10.0.0.2");
    EXPECT_TRUE(f.active());
    EXPECT_TRUE(f.allows(boost::asio::ip::make_address("10.0.0.2")));
    EXPECT_TRUE(f.allows(boost::asio::ip::make_address("::1")));
    EXPECT_TRUE(f.allows(boost::asio::ip::make_address("::ffff:127.0.0.1")));
    EXPECT_FALSE(f.allows(boost::asio::ip::make_address("10.0.0.3")));
    EXPECT_FALSE(PeerFilter("").active());
    EXPECT_THROW(PeerFilter("127.0.0.1,not-an-ip"), std::invalid_argument);
}
