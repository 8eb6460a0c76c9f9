// What the end-to-end tests need to run real peers: a temp dir, child processes that
// are always stopped (by pid, on scope exit), free ports, waiting until a server
// answers, and running a command to completion with its output.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wsgibridge::test {

/// WSGIBRIDGE_SOURCE_ROOT / WSGIBRIDGE_BUILD_ROOT as set by tests/meson.build.
std::filesystem::path source_root();
std::filesystem::path build_root();
/// Debian's interpreter, never the pyenv one first on PATH.
inline constexpr const char* system_python = "/usr/bin/python3";

/// The first of `candidates` that exists and is executable, or "" (the caller fails the test: a
/// missing peer is a failure, not a skip).
std::string find_program(const std::vector<std::string>& candidates);

class TempDir
{
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& text,
                bool executable = false);
std::string read_file(const std::filesystem::path& path);
/// Replaces every @NAME@ in `text`.
std::string substitute(std::string text, const std::map<std::string, std::string>& vars);

struct SpawnOptions
{
    std::map<std::string, std::string> env; ///< added to (or replacing in) the test's environment
    std::vector<std::string> unset_env;
    std::filesystem::path cwd;
    std::filesystem::path stdout_file; ///< empty: inherit
    std::filesystem::path stderr_file; ///< empty: inherit
    int stdin_fd = -1;                 ///< dup2'ed onto fd 0 when >= 0 (e.g. a listening socket)
};

/// A child process stopped on destruction: SIGTERM, then SIGKILL after a grace period.
class ChildProcess
{
public:
    ChildProcess() = default;
    ChildProcess(const std::vector<std::string>& argv, const SpawnOptions& options = {});
    ~ChildProcess();
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;

    pid_t pid() const noexcept { return pid_; }
    bool running();
    /// Sends `sig`, waits up to `grace`, then SIGKILL. Returns the wait status (or -1).
    int stop(int sig = 15, std::chrono::milliseconds grace = std::chrono::seconds(5));
    /// Waits for exit up to `timeout`; returns the wait status or -1 on timeout.
    int wait(std::chrono::milliseconds timeout);

private:
    pid_t pid_ = -1;
    int status_ = -1;
};

unsigned short free_tcp_port();
/// A blocking, close-on-exec TCP socket connected to 127.0.0.1:port, or -1. `rcvbuf` > 0
/// sets SO_RCVBUF before connecting (the window is agreed in the handshake).
int connect_loopback(unsigned short port, int rcvbuf = 0);
/// Polls until a TCP connect to 127.0.0.1:port succeeds.
bool wait_for_tcp(unsigned short port,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
bool wait_for_unix(const std::filesystem::path& path,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

struct CommandResult
{
    int exit_code = -1; ///< -1 when killed by the timeout or a signal
    std::string out;
    std::string err;
};
/// Runs argv to completion with `input` on stdin; kills it after `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = {},
                          const SpawnOptions& options = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// curl -s -i with the given extra arguments; exit code and raw response in the result.
CommandResult curl(const std::vector<std::string>& args,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// A raw TCP exchange: connect to 127.0.0.1:port, send `data`, read until the peer
/// closes or `timeout`, return what was read.
std::string raw_exchange(unsigned short port, const std::string& data,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

} // namespace wsgibridge::test
