// wsgi-http's process model: a master supervises the workers by default (also with one),
// replaces one the application crashed, gives up on workers that cannot start, stops
// gracefully on SIGTERM, at once on SIGQUIT, and reloads changed code on SIGHUP without
// failing a request.
#include "http_server.hpp"

#include <atomic>
#include <filesystem>
#include <mutex>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

/// A copy of tests/apps/process_app.py with its version.txt in a temp dir, so a test
/// can change the code the workers import.
struct AppDir
{
    TempDir dir;
    explicit AppDir(const std::string& version = "v1")
    {
        std::filesystem::copy_file(source_root() / "tests/apps/process_app.py",
                                   dir / "process_app.py");
        set_version(version);
    }
    void set_version(const std::string& v) { write_file(dir / "version.txt", v + "\n"); }
    std::string app() const { return (dir / "process_app.py").string(); }
};

/// "<pid> <version>" answered by the app, or "" with curl's error.
std::pair<int, std::string> get(const WsgiHttpProcess& s, const std::string& path)
{
    auto r = curl({"-o", "-", "-w", "\n%{http_code}", s.url(path)}, 20s);
    auto nl = r.out.rfind('\n');
    if (nl == std::string::npos) return {0, r.err};
    int code = std::atoi(r.out.c_str() + nl + 1);
    auto raw = r.out.substr(0, nl);
    return {code, response_body(raw)};
}

pid_t pid_of(const std::string& body)
{
    return body.empty() ? -1 : static_cast<pid_t>(std::atol(body.c_str()));
}

bool gone(pid_t pid)
{
    return ::kill(pid, 0) != 0 && errno == ESRCH;
}

int wait_exit(ChildProcess& p, std::chrono::milliseconds timeout)
{
    int status = p.wait(timeout);
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1000 - status;
}

} // namespace

// The issue this model answers: with default options, os.abort() in the app took the
// whole server down. Now the master replaces the worker and the next request gets 200.
TEST(WsgiHttpMaster, AbortInTheAppCostsOneRequestNotTheServer)
{
    AppDir app;
    WsgiHttpProcess s({"--app", app.app(), "--pidfile", "@DIR@/pid"});
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto [code, body] = get(s, "/");
    ASSERT_EQ(code, 200) << body << s.error_log();
    pid_t worker = pid_of(body);
    EXPECT_NE(worker, s.process().pid()) << "the master served a request itself";
    EXPECT_EQ(read_file(s.dir() / "pid"), std::to_string(s.process().pid()) + "\n");

    auto aborted = curl({s.url("/abort")}, 20s);
    EXPECT_NE(aborted.exit_code, 0) << "the aborted request cannot have an answer";

    auto [code2, body2] = get(s, "/");
    EXPECT_EQ(code2, 200) << body2 << s.error_log();
    EXPECT_NE(pid_of(body2), worker);
    EXPECT_NE(s.error_log().find("worker " + std::to_string(worker) +
                                 " killed by signal 6 (SIGABRT); starting a new one"),
              std::string::npos)
        << s.error_log();

    EXPECT_EQ(wait_exit(s.process(), 0ms), -999) << "still running";
    ASSERT_EQ(::kill(s.process().pid(), SIGTERM), 0);
    EXPECT_EQ(wait_exit(s.process(), 10s), 0) << s.error_log();
    EXPECT_FALSE(std::filesystem::exists(s.dir() / "pid")) << "pidfile left behind";
    EXPECT_TRUE(gone(pid_of(body2)));
}

TEST(WsgiHttpMaster, NoMasterIsOneProcessThatAnAbortEnds)
{
    AppDir app;
    WsgiHttpProcess s({"--app", app.app(), "--no-master"});
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto [code, body] = get(s, "/");
    ASSERT_EQ(code, 200) << body;
    EXPECT_EQ(pid_of(body), s.process().pid());
    curl({s.url("/abort")}, 20s);
    int status = s.process().wait(10s);
    ASSERT_TRUE(WIFSIGNALED(status)) << status;
    EXPECT_EQ(WTERMSIG(status), SIGABRT);
}

TEST(WsgiHttpMaster, ImportErrorStopsTheMasterWithExit3)
{
    TempDir dir;
    write_file(dir / "broken.py", "raise RuntimeError('broken at import')\n");
    auto r = run_command({(build_root() / "cli" / "wsgi-http").string(), "--allow-root", "--app",
                          (dir / "broken.py").string(), "--workers", "2", "--bind",
                          "127.0.0.1:" + std::to_string(free_tcp_port())},
                         {}, {}, 20s);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    // The same one line as an import in the master (--preload or --no-master) gives.
    EXPECT_NE(r.err.find("error: cannot load the application: RuntimeError: broken at import"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("could not load the application; stopping"), std::string::npos) << r.err;
}

TEST(WsgiHttpMaster, WorkersDyingAtStartUpMakeTheMasterGiveUp)
{
    TempDir dir;
    // Imports, then dies before serving: not an import error, a crash at start-up.
    write_file(dir / "dies.py", "import os\nos._exit(7)\n");
    auto start = std::chrono::steady_clock::now();
    WsgiHttpProcess s({"--app", (dir / "dies.py").string()});
    EXPECT_EQ(wait_exit(s.process(), 30s), 1) << s.error_log();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s) << "no back-off limit";
    auto log = s.error_log();
    EXPECT_NE(log.find("workers failed to start 5 times in a row"), std::string::npos) << log;
    EXPECT_NE(log.find("exited with status 7"), std::string::npos) << log;
}

TEST(WsgiHttpMaster, SigtermFinishesInFlightSigquitDoesNot)
{
    AppDir app;
    {
        WsgiHttpProcess s({"--app", app.app(), "--graceful-timeout", "10"});
        ASSERT_TRUE(s.ready());
        ASSERT_EQ(get(s, "/").first, 200) << s.error_log();
        std::pair<int, std::string> slow;
        std::thread t([&] { slow = get(s, "/sleep?s=1"); });
        std::this_thread::sleep_for(300ms);
        ASSERT_EQ(::kill(s.process().pid(), SIGTERM), 0);
        t.join();
        EXPECT_EQ(slow.first, 200) << "the in-flight request was cut: " << slow.second;
        EXPECT_EQ(wait_exit(s.process(), 10s), 0) << s.error_log();
        EXPECT_FALSE(wait_for_tcp(s.port(), 300ms)) << "the port still accepts";
    }
    {
        WsgiHttpProcess s({"--app", app.app()});
        ASSERT_TRUE(s.ready());
        ASSERT_EQ(get(s, "/").first, 200) << s.error_log();
        std::pair<int, std::string> slow;
        auto start = std::chrono::steady_clock::now();
        std::thread t([&] { slow = get(s, "/sleep?s=5"); });
        std::this_thread::sleep_for(300ms);
        ASSERT_EQ(::kill(s.process().pid(), SIGQUIT), 0);
        EXPECT_EQ(wait_exit(s.process(), 3s), 0) << s.error_log();
        t.join();
        EXPECT_NE(slow.first, 200);
        EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
    }
}

// SIGHUP under a bounded loopback load (new connections and kept-alive ones): the new
// workers import the changed code and take new connections before the old ones finish;
// no request fails.
TEST(WsgiHttpMaster, SighupReloadsChangedCodeWithoutFailingARequest)
{
    AppDir app("v1");
    WsgiHttpProcess s({"--app", app.app(), "--workers", "2", "--threads", "2"});
    ASSERT_TRUE(s.ready());
    ASSERT_EQ(get(s, "/").second.substr(get(s, "/").second.find(' ') + 1), "v1") << s.error_log();

    std::atomic<bool> done{false};
    std::atomic<int> ok{0}, failed{0};
    std::vector<std::string> failures;
    std::mutex failures_mutex;
    auto record = [&](const CommandResult& r, std::size_t expected) {
        std::size_t codes = 0;
        std::size_t pos = 0;
        while ((pos = r.out.find("code=", pos)) != std::string::npos) {
            ++codes;
            if (r.out.compare(pos, 8, "code=200") == 0)
                ++ok;
            else
                ++failed;
            pos += 5;
        }
        if (codes != expected || r.exit_code != 0) {
            failed += static_cast<int>(expected - std::min(codes, expected));
            std::lock_guard lock(failures_mutex);
            failures.push_back("curl exit " + std::to_string(r.exit_code) + ": " + r.err);
        }
    };
    auto load = [&](bool keep_alive) {
        // Bounded: at most 60 rounds and until `done`.
        for (int round = 0; round < 60 && !done; ++round) {
            // One curl, several URLs: the later ones reuse the kept-alive connection.
            std::vector<std::string> args{"-s", "-w", "code=%{http_code}\n"};
            std::size_t n = keep_alive ? 20 : 1;
            for (std::size_t i = 0; i < n; ++i)
                args.insert(args.end(),
                            {"-o", "/dev/null", s.url(i % 5 == 4 ? "/sleep?s=0.02" : "/")});
            std::vector<std::string> argv{"/usr/bin/curl"};
            argv.insert(argv.end(), args.begin(), args.end());
            record(run_command(argv, {}, {}, 20s), n);
        }
    };
    std::vector<std::thread> clients;
    clients.emplace_back(load, true);
    clients.emplace_back(load, true);
    clients.emplace_back(load, false);
    std::this_thread::sleep_for(700ms);
    app.set_version("v2");
    ASSERT_EQ(::kill(s.process().pid(), SIGHUP), 0);
    std::this_thread::sleep_for(1500ms);
    done = true;
    for (auto& t : clients)
        t.join();

    EXPECT_EQ(failed.load(), 0) << ok.load() << " ok; " << (failures.empty() ? "" : failures[0])
                                << "\n"
                                << s.error_log();
    EXPECT_GT(ok.load(), 50);
    auto [code, body] = get(s, "/");
    EXPECT_EQ(code, 200);
    EXPECT_EQ(body.substr(body.find(' ') + 1), "v2") << "SIGHUP did not pick up the new code\n"
                                                     << s.error_log();
    EXPECT_NE(s.error_log().find("reload: 2 new workers ready"), std::string::npos)
        << s.error_log();
    EXPECT_EQ(wait_exit(s.process(), 0ms), -999) << "the master stopped";
}

// --reload (development): editing a .py file the application imported reloads the
// workers once (every worker sees the change; the master reloads one time).
TEST(WsgiHttpMaster, ReloadFlagPicksUpAnEditedModule)
{
    AppDir app("v1");
    WsgiHttpProcess s({"--app", app.app(), "--workers", "2", "--reload"});
    ASSERT_TRUE(s.ready());
    auto [code, body] = get(s, "/");
    ASSERT_EQ(code, 200) << s.error_log();
    EXPECT_EQ(body.substr(body.find(' ') + 1), "v1");
    // Saved the way editors do: a new file renamed over the old one.
    write_file(app.dir / "process_app.py.new",
               read_file(app.dir / "process_app.py") + "\nVERSION = 'edited'\n");
    std::filesystem::rename(app.dir / "process_app.py.new", app.dir / "process_app.py");
    std::string seen;
    for (int i = 0; i < 50 && seen != "edited"; ++i) {
        std::this_thread::sleep_for(100ms);
        auto [c, b] = get(s, "/");
        EXPECT_EQ(c, 200);
        seen = b.substr(b.find(' ') + 1);
    }
    EXPECT_EQ(seen, "edited") << s.error_log();
    auto log = s.error_log();
    std::size_t reloads = 0;
    for (std::size_t at = 0; (at = log.find("SIGHUP: starting", at)) != std::string::npos; ++at)
        ++reloads;
    EXPECT_EQ(reloads, 1u) << log;
}

TEST(WsgiHttpMaster, ReloadWithPreloadIsAUsageError)
{
    auto r = run_command({(build_root() / "cli" / "wsgi-http").string(), "--allow-root", "--app",
                          "tests/apps/pid_app.py", "--reload", "--preload"},
                         {}, {}, 20s);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--reload"), std::string::npos) << r.err;
}
