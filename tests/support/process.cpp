#include "process.hpp"

#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace wsgibridge::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {
fs::path env_path(const char* name)
{
    const char* v = std::getenv(name);
    if (!v) throw std::runtime_error(std::string(name) + " is not set (run through meson test)");
    return v;
}

std::vector<std::string> merged_env(const SpawnOptions& o)
{
    std::map<std::string, std::string> env;
    for (char** e = environ; *e; ++e) {
        std::string_view kv = *e;
        auto eq = kv.find('=');
        if (eq != std::string_view::npos)
            env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }
    for (const auto& name : o.unset_env)
        env.erase(name);
    for (const auto& [k, v] : o.env)
        env[k] = v;
    std::vector<std::string> out;
    for (const auto& [k, v] : env)
        out.push_back(k + "=" + v);
    return out;
}

pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& o, int in_fd, int out_fd,
            int err_fd)
{
    auto env = merged_env(o);
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv)
        cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const auto& e : env)
        cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::setpgid(0, 0); // own group: stop() reaches the children a server forks
        if (in_fd >= 0) ::dup2(in_fd, 0);
        if (out_fd >= 0) ::dup2(out_fd, 1);
        if (err_fd >= 0) ::dup2(err_fd, 2);
        if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) ::_exit(126);
        ::signal(SIGPIPE, SIG_DFL);
        ::execve(cargv[0], cargv.data(), cenv.data());
        ::_exit(127);
    }
    return pid;
}

int open_out(const fs::path& p)
{
    if (p.empty()) return -1;
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot open " + p.string());
    return fd;
}
} // namespace

fs::path source_root()
{
    return env_path("WSGIBRIDGE_SOURCE_ROOT");
}
fs::path build_root()
{
    return env_path("WSGIBRIDGE_BUILD_ROOT");
}

std::string find_program(const std::vector<std::string>& candidates)
{
    for (const auto& c : candidates)
        if (::access(c.c_str(), X_OK) == 0) return c;
    return {};
}

TempDir::TempDir()
{
    std::string tmpl = (fs::temp_directory_path() / "wsgibridge-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
    fs::permissions(path_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
}

TempDir::~TempDir()
{
    std::error_code ec;
    if (!std::getenv("WSGIBRIDGE_KEEP_TMP")) fs::remove_all(path_, ec);
}

void write_file(const fs::path& path, const std::string& text, bool executable)
{
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    if (executable)
        fs::permissions(path,
                        fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                        fs::perm_options::add);
}

std::string read_file(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string substitute(std::string text, const std::map<std::string, std::string>& vars)
{
    for (const auto& [k, v] : vars) {
        std::string key = "@" + k + "@";
        for (auto pos = text.find(key); pos != std::string::npos;
             pos = text.find(key, pos + v.size()))
            text.replace(pos, key.size(), v);
    }
    return text;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const SpawnOptions& o)
{
    int out = open_out(o.stdout_file), err = open_out(o.stderr_file);
    pid_ = spawn(argv, o, o.stdin_fd, out, err);
    if (out >= 0) ::close(out);
    if (err >= 0) ::close(err);
}

ChildProcess::~ChildProcess()
{
    if (pid_ > 0) stop();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_), status_(other.status_)
{
    other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept
{
    if (this != &other) {
        if (pid_ > 0) stop();
        pid_ = other.pid_;
        status_ = other.status_;
        other.pid_ = -1;
    }
    return *this;
}

bool ChildProcess::running()
{
    if (pid_ <= 0) return false;
    int st;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
        status_ = st;
        pid_ = -1;
        return false;
    }
    return true;
}

int ChildProcess::wait(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
        if (std::chrono::steady_clock::now() >= deadline) return -1;
        std::this_thread::sleep_for(10ms);
    }
    return status_;
}

int ChildProcess::stop(int sig, std::chrono::milliseconds grace)
{
    if (pid_ <= 0) return status_;
    pid_t pid = pid_;
    ::kill(pid, sig);
    if (wait(grace) == -1) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        wait(5s);
    }
    ::kill(-pid, SIGKILL); // anything the child left in its group
    return status_;
}

unsigned short free_tcp_port()
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

namespace {
bool try_connect(const sockaddr* addr, socklen_t len, int family)
{
    int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = ::connect(fd, addr, len) == 0;
    ::close(fd);
    return ok;
}
} // namespace

bool wait_for_tcp(unsigned short port, std::chrono::milliseconds timeout)
{
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (try_connect(reinterpret_cast<sockaddr*>(&addr), sizeof addr, AF_INET)) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

bool wait_for_unix(const fs::path& path, std::chrono::milliseconds timeout)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (try_connect(reinterpret_cast<sockaddr*>(&addr), sizeof addr, AF_UNIX)) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input,
                          const SpawnOptions& o, std::chrono::milliseconds timeout)
{
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
        throw std::runtime_error("pipe failed");
    pid_t pid = spawn(argv, o, in[0], out[1], err[1]);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    ::fcntl(in[1], F_SETFL, O_NONBLOCK);

    CommandResult r;
    std::size_t written = 0;
    int in_fd = in[1];
    if (input.empty()) {
        ::close(in_fd);
        in_fd = -1;
    }
    bool out_open = true, err_open = true;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_open || err_open) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd fds[3] = {{out_open ? out[0] : -1, POLLIN, 0},
                         {err_open ? err[0] : -1, POLLIN, 0},
                         {in_fd, POLLOUT, 0}};
        if (::poll(fds, 3, static_cast<int>(left.count())) < 0) continue;
        char buf[65536];
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0)
                (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
            else
                (i == 0 ? out_open : err_open) = false;
        }
        if (in_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = ::write(in_fd, input.data() + written, input.size() - written);
            if (n > 0) written += static_cast<std::size_t>(n);
            if (n < 0 || written == input.size()) {
                ::close(in_fd);
                in_fd = -1;
            }
        }
    }
    if (in_fd >= 0) ::close(in_fd);
    ::close(out[0]);
    ::close(err[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

CommandResult curl(const std::vector<std::string>& args, std::chrono::milliseconds timeout)
{
    std::vector<std::string> argv{"/usr/bin/curl", "-s", "-i", "--max-time",
                                  std::to_string(timeout.count() / 1000 + 1)};
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions o;
    o.unset_env = {"http_proxy",  "https_proxy", "HTTP_PROXY",
                   "HTTPS_PROXY", "all_proxy",   "ALL_PROXY"};
    return run_command(argv, {}, o, timeout + 2s);
}

int connect_loopback(unsigned short port, int rcvbuf)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::string raw_exchange(unsigned short port, const std::string& data,
                         std::chrono::milliseconds timeout)
{
    std::string out;
    int fd = connect_loopback(port);
    if (fd < 0) return out;
    std::size_t sent = 0;
    while (sent < data.size()) {
        ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        char buf[65536];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

} // namespace wsgibridge::test
