// Several servers behind one front: examples/nginx-upstream (nginx over three
// wsgi-fcgi --bind, fastcgi_next_upstream) loses one backend to SIGKILL mid-load, and
// examples/haproxy (HAProxy over three wsgi-http --health) sees one backend stopped with
// SIGTERM mid-load. Every request still gets its 200. Loopback only, bounded load.
#include "fcgi_common.hpp"
#include "http_server.hpp"

#include <atomic>
#include <signal.h>
#include <thread>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

/// Three clients, each a curl fetching `per_round` URLs over one kept-alive connection,
/// `rounds` times; `midway` runs once after the first round. Returns the status codes.
std::vector<int> bounded_load(unsigned short port, int rounds, int per_round,
                              const std::function<void()>& midway)
{
    std::mutex mutex;
    std::vector<int> codes;
    std::atomic<int> first_rounds{0};
    auto client = [&] {
        for (int round = 0; round < rounds; ++round) {
            std::vector<std::string> argv{"/usr/bin/curl", "-s", "-w", "code=%{http_code}\n"};
            for (int i = 0; i < per_round; ++i)
                argv.insert(argv.end(), {"-o", "/dev/null",
                                         "http://127.0.0.1:" + std::to_string(port) +
                                             (i % 4 == 3 ? "/sleep?s=0.05" : "/")});
            auto r = run_command(argv, {}, {}, 30s);
            std::lock_guard lock(mutex);
            for (std::size_t at = 0; (at = r.out.find("code=", at)) != std::string::npos; at += 5)
                codes.push_back(std::atoi(r.out.c_str() + at + 5));
            if (round == 0) ++first_rounds;
        }
    };
    std::vector<std::thread> clients;
    for (int i = 0; i < 3; ++i)
        clients.emplace_back(client);
    while (first_rounds < 1)
        std::this_thread::sleep_for(10ms);
    midway();
    for (auto& t : clients)
        t.join();
    return codes;
}

} // namespace

TEST(ScaleOut, NginxUpstreamSurvivesASigkilledBackend)
{
    auto nginx = find_program({"/usr/sbin/nginx"});
    if (nginx.empty()) GTEST_FAIL() << "nginx missing (scripts/lib.sh installs it)";
    TempDir dir;
    auto app = (source_root() / "tests/apps/process_app.py").string();
    std::vector<unsigned short> ports;
    std::vector<ChildProcess> backends;
    for (int i = 0; i < 3; ++i) {
        ports.push_back(free_tcp_port());
        backends.push_back(start_wsgi_fcgi("127.0.0.1:" + std::to_string(ports.back()),
                                           dir / ("b" + std::to_string(i) + ".log"),
                                           {"--app", app, "--workers", "2"}));
    }
    auto port = free_tcp_port();
    std::vector<std::pair<std::string, std::string>> edits;
    for (int i = 0; i < 3; ++i)
        edits.push_back({"server 10.0.0.1" + std::to_string(i + 1) + ":9000",
                         "server 127.0.0.1:" + std::to_string(ports[i])});
    edits.push_back({"listen 80;", "listen 127.0.0.1:" + std::to_string(port) + ";"});
    edits.push_back({"include fastcgi_params;", "include /etc/nginx/fastcgi_params;"});
    write_file(dir / "site.conf", example_with("nginx-upstream/wsgi-pool.conf", edits));
    write_file(dir / "nginx.conf",
               substitute(read_file(source_root() / "tests/e2e/conf/scale_nginx.conf.in"),
                          {{"DIR", dir.path().string()}}));
    ChildProcess server({nginx, "-p", dir.path().string(), "-c", (dir / "nginx.conf").string(),
                         "-e", (dir / "nginx-error.log").string()});
    ASSERT_TRUE(wait_for_tcp(port)) << read_file(dir / "nginx-error.log");

    auto codes = bounded_load(port, 6, 20, [&] {
        // The whole backend dies at once: its master, and with it its workers.
        ASSERT_EQ(::kill(backends[0].pid(), SIGKILL), 0);
    });
    ASSERT_EQ(codes.size(), 3u * 6 * 20);
    int failed = 0;
    for (int c : codes)
        failed += c != 200;
    EXPECT_EQ(failed, 0) << read_file(dir / "nginx-error.log");
}

TEST(ScaleOut, HaproxyDrainsABackendStoppedWithSigterm)
{
    auto haproxy = find_program({"/usr/sbin/haproxy"});
    if (haproxy.empty()) GTEST_FAIL() << "haproxy missing (scripts/lib.sh installs it)";
    std::vector<std::unique_ptr<WsgiHttpProcess>> backends;
    for (int i = 0; i < 3; ++i) {
        backends.push_back(std::make_unique<WsgiHttpProcess>(
            std::vector<std::string>{"--app", "tests/apps/process_app.py", "--workers", "2",
                                     "--health", "/healthz", "--graceful-timeout", "10"}));
        ASSERT_TRUE(backends.back()->ready());
    }
    TempDir dir;
    auto port = free_tcp_port();
    std::vector<std::pair<std::string, std::string>> edits;
    for (int i = 0; i < 3; ++i)
        edits.push_back({"10.0.0.1" + std::to_string(i + 1) + ":8000",
                         "127.0.0.1:" + std::to_string(backends[i]->port())});
    edits.push_back({"bind :80", "bind 127.0.0.1:" + std::to_string(port)});
    write_file(dir / "haproxy.cfg", example_with("haproxy/haproxy.cfg", edits));
    SpawnOptions o;
    o.stderr_file = dir / "haproxy.log";
    o.stdout_file = dir / "haproxy.out";
    ChildProcess proxy({haproxy, "-db", "-f", (dir / "haproxy.cfg").string()}, o);
    ASSERT_TRUE(wait_for_tcp(port)) << read_file(dir / "haproxy.log");
    std::this_thread::sleep_for(1500ms); // every backend checked up (rise 2, inter 500ms)

    auto codes = bounded_load(port, 6, 20,
                              [&] { ASSERT_EQ(::kill(backends[1]->process().pid(), SIGTERM), 0); });
    ASSERT_EQ(codes.size(), 3u * 6 * 20);
    int failed = 0;
    for (int c : codes)
        failed += c != 200;
    EXPECT_EQ(failed, 0) << read_file(dir / "haproxy.log") << backends[1]->error_log();
    int status = backends[1]->process().wait(10s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}
