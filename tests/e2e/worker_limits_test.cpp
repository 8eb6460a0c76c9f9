// What a worker enforces under the master: --timeout (a stuck request gets a 504, its
// Python traceback goes to the error log, the worker is replaced, other workers go on),
// --max-requests with --max-requests-jitter and --reload-on-rss (graceful retirement:
// no request fails). HTTP through curl; FastCGI through a raw FastCGI client playing
// the web server.
#include "fcgi_common.hpp"
#include "http_server.hpp"
#include "raw_fcgi_client.hpp"

#include <regex>
#include <set>
#include <thread>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

struct Answer
{
    int code = 0;
    std::string body;
};

Answer get(const WsgiHttpProcess& s, const std::string& path)
{
    auto r = curl({"-o", "-", "-w", "\n%{http_code}", s.url(path)}, 20s);
    auto nl = r.out.rfind('\n');
    if (nl == std::string::npos) return {0, r.err};
    return {std::atoi(r.out.c_str() + nl + 1), response_body(r.out.substr(0, nl))};
}

pid_t pid_of(const std::string& body)
{
    return body.empty() ? -1 : static_cast<pid_t>(std::atol(body.c_str()));
}

/// `n` GETs of "/" over one kept-alive connection (one curl); their status codes.
std::vector<int> keep_alive_gets(const WsgiHttpProcess& s, int n)
{
    std::vector<std::string> argv{"/usr/bin/curl", "-s", "-w", "code=%{http_code}\n"};
    for (int i = 0; i < n; ++i)
        argv.insert(argv.end(), {"-o", "/dev/null", s.url("/")});
    auto r = run_command(argv, {}, {}, 30s);
    std::vector<int> codes;
    for (std::size_t at = 0; (at = r.out.find("code=", at)) != std::string::npos; at += 5)
        codes.push_back(std::atoi(r.out.c_str() + at + 5));
    return codes;
}

} // namespace

TEST(WorkerLimits, TimeoutAnswers504LogsTracebackAndReplacesTheWorker)
{
    WsgiHttpProcess s({"--app", "tests/apps/process_app.py", "--workers", "2", "--threads", "1",
                       "--timeout", "1"});
    ASSERT_TRUE(s.ready());
    ASSERT_EQ(get(s, "/").code, 200) << s.error_log();

    auto start = std::chrono::steady_clock::now();
    Answer stuck;
    std::thread t([&] { stuck = get(s, "/sleep?s=20"); });
    // Meanwhile the other worker serves.
    std::this_thread::sleep_for(200ms);
    auto other = get(s, "/");
    t.join();
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(other.code, 200) << "the other worker stopped serving\n" << s.error_log();
    EXPECT_EQ(stuck.code, 504) << stuck.body << s.error_log();
    EXPECT_LT(took, 5s);

    auto log = s.error_log();
    EXPECT_NE(log.find("request timed out (--timeout 1 s): GET /sleep?s=20"), std::string::npos)
        << log;
    // faulthandler's dump: the frame the application was stuck in.
    EXPECT_TRUE(
        std::regex_search(log, std::regex(R"(File ".*process_app\.py", line \d+ in application)")))
        << log;
    // The master logs the replacement once it has reaped the worker, which may be after
    // the client got its 504 (slower under the sanitizers): wait for the line, bounded.
    const std::string replaced =
        "exited with status 4 (a request passed --timeout); starting a new one";
    for (auto until = std::chrono::steady_clock::now() + 5s;
         log.find(replaced) == std::string::npos && std::chrono::steady_clock::now() < until;
         log = s.error_log())
        std::this_thread::sleep_for(50ms);
    EXPECT_NE(log.find(replaced), std::string::npos) << log;
    // Serving goes on, through a replacement.
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(get(s, "/").code, 200) << s.error_log();
}

TEST(WorkerLimits, TimeoutAnswersTheFastcgiRequestWith504)
{
    TempDir dir;
    auto port = free_tcp_port();
    auto app = start_wsgi_fcgi(
        "127.0.0.1:" + std::to_string(port), dir / "w.log",
        {"--app", (source_root() / "tests/apps/process_app.py").string(), "--timeout", "1"});
    {
        RawFcgiClient c(port);
        ASSERT_TRUE(c.send(fcgi::request(1, fcgi::cgi_params("GET", "/env"))));
        ASSERT_EQ(c.read_reply(1).status(), 200) << read_file(dir / "w.log");
    }
    RawFcgiClient c(port);
    auto params = fcgi::cgi_params("GET", "/sleep?s=20");
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(c.send(fcgi::request(1, params)));
    auto reply = c.read_reply(1, 10s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 6s);
    // The worker's own answer: Status 504 and END_REQUEST (nothing had been sent), which
    // nginx and Apache pass on; had the response started, the connection would close.
    EXPECT_TRUE(reply.ended);
    EXPECT_EQ(reply.status(), 504) << reply.stdout_data;
    auto log = read_file(dir / "w.log");
    EXPECT_NE(log.find("request timed out (--timeout 1 s): GET /sleep?s=20"), std::string::npos)
        << log;
    RawFcgiClient again(port);
    ASSERT_TRUE(again.send(fcgi::request(1, fcgi::cgi_params("GET", "/env"))));
    EXPECT_EQ(again.read_reply(1).status(), 200) << read_file(dir / "w.log");
}

TEST(WorkerLimits, MaxRequestsWithJitterRetiresWithoutAFailedRequest)
{
    WsgiHttpProcess s({"--app", "tests/apps/process_app.py", "--workers", "2", "--max-requests",
                       "5", "--max-requests-jitter", "3"});
    ASSERT_TRUE(s.ready());
    std::vector<int> codes;
    for (int i = 0; i < 4; ++i) {
        auto part = keep_alive_gets(s, 15);
        codes.insert(codes.end(), part.begin(), part.end());
    }
    ASSERT_EQ(codes.size(), 60u);
    for (int c : codes)
        EXPECT_EQ(c, 200);
    auto log = s.error_log();
    std::regex retire(R"(retires after (\d+) requests \(--max-requests\))");
    int retirements = 0;
    for (std::sregex_iterator it(log.begin(), log.end(), retire), end; it != end; ++it) {
        int n = std::stoi((*it)[1]);
        EXPECT_GE(n, 5);
        EXPECT_LE(n, 8);
        ++retirements;
    }
    EXPECT_GE(retirements, 5) << log;
}

TEST(WorkerLimits, ReloadOnRssAnswersTheRequestThenRetires)
{
    WsgiHttpProcess s({"--app", "tests/apps/process_app.py", "--reload-on-rss", "80"});
    ASSERT_TRUE(s.ready());
    auto first = get(s, "/");
    ASSERT_EQ(first.code, 200) << s.error_log();
    auto grown = get(s, "/grow?mb=120");
    EXPECT_EQ(grown.code, 200) << "the request that grew the worker lost its answer";
    EXPECT_EQ(pid_of(grown.body), pid_of(first.body));
    // The retiring worker stops through its graceful stop (SIGTERM to itself), so a
    // connection that reached the shared listening socket before that stop took hold is
    // still served by it, as gunicorn's and uWSGI's retiring workers finish theirs. What
    // must hold: every request gets its 200 and a new worker takes over, within seconds.
    bool replaced = false;
    for (int i = 0; i < 100 && !replaced; ++i) {
        auto next = get(s, "/");
        ASSERT_EQ(next.code, 200) << s.error_log();
        replaced = pid_of(next.body) != pid_of(first.body);
        if (!replaced) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(replaced) << "no new worker answered within 5 s\n" << s.error_log();
    EXPECT_NE(s.error_log().find("(--reload-on-rss: resident"), std::string::npos) << s.error_log();
}
