// wsgi-http out of file descriptors: with RLIMIT_NOFILE lowered on the child and more
// clients than it allows, accept() fails with EMFILE. The server must neither spin on
// the readable listener (its CPU time, read from /proc, stays near idle) nor flood the
// log (one line per interval), and must serve the waiting clients once descriptors
// free up.
#include "http_server.hpp"

#include <arpa/inet.h>
#include <cstdio>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

/// utime + stime of `pid` in seconds (proc(5): fields 14 and 15 of /proc/PID/stat).
double cpu_seconds(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::istringstream rest(text.substr(text.rfind(')') + 2)); // after "(comm) "
    std::string field;
    unsigned long long ticks = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i)
        if (i >= 14) ticks += std::stoull(field);
    return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::size_t count(const std::string& text, const std::string& what)
{
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1))
        ++n;
    return n;
}

/// Lowers this process's soft RLIMIT_NOFILE while a child is spawned (the child
/// inherits it), then restores it.
class LowFileLimit
{
public:
    explicit LowFileLimit(rlim_t soft)
    {
        ::getrlimit(RLIMIT_NOFILE, &saved_);
        rlimit low = saved_;
        low.rlim_cur = soft;
        ::setrlimit(RLIMIT_NOFILE, &low);
    }
    ~LowFileLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

private:
    rlimit saved_{};
};

} // namespace

TEST(WsgiHttpFdExhaustion, NoSpinOneLogLineAndServesWhenDescriptorsFreeUp)
{
    std::optional<WsgiHttpProcess> server;
    {
        LowFileLimit limit(48);
        server.emplace(std::vector<std::string>{"--app", "examples/hello.py", "--threads", "2",
                                                "--header-timeout", "30",
                                                // idle clients must be accepted to hold
                                                // descriptors: no TCP_DEFER_ACCEPT
                                                "--defer-accept", "0"});
    }
    auto& s = *server;
    s.tolerate_unreadable_vptr_reports(); // out of descriptors, UBSan cannot read memory
    ASSERT_TRUE(s.ready()) << s.error_log();

    // Idle clients hold descriptors (the header timeout is long) until the limit is hit;
    // the rest wait in the listen backlog.
    std::vector<int> clients;
    for (int i = 0; i < 80; ++i) {
        int fd = connect_loopback(s.port());
        ASSERT_GE(fd, 0) << "connect " << i;
        clients.push_back(fd);
    }
    std::this_thread::sleep_for(500ms);
    ASSERT_NE(s.error_log().find("Too many open files"), std::string::npos) << s.error_log();

    // Out of descriptors for 3 s: the CPU stays near idle, the log gets one line.
    double before = cpu_seconds(s.process().pid());
    std::this_thread::sleep_for(3s);
    double used = cpu_seconds(s.process().pid()) - before;
    EXPECT_LT(used, 0.3) << "CPU seconds used while out of descriptors";
    RecordProperty("cpu_seconds_in_3s_out_of_descriptors", std::to_string(used));
    std::printf("server CPU while out of descriptors: %.3f s in 3 s\n", used);
    EXPECT_EQ(count(s.error_log(), "Too many open files"), 1u) << s.error_log();

    // Free the descriptors: the server must pick up a new client.
    for (int fd : clients)
        ::close(fd);
    auto r = curl({"--max-time", "10", s.url("/")}, 12s);
    EXPECT_EQ(response_status(r.out).substr(0, 12), "HTTP/1.1 200") << r.out << s.error_log();
    EXPECT_NE(s.error_log().find("works again"), std::string::npos) << s.error_log();
}
