// Starts the built wsgi-http (or another program) on a free port in a TempDir and
// stops it by pid when the test ends.
#pragma once

#include "process.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace wsgibridge::test {

class WsgiHttpProcess
{
public:
    /// Runs `program` (default: build_root()/cli/wsgi-http) with --bind on a free port
    /// (unless `extra` binds itself) and waits until it accepts. "@DIR@" in `extra`
    /// becomes the process's TempDir. The working directory is the source root.
    /// `add_bind` false: run `program` with `extra` only (it binds by itself).
    explicit WsgiHttpProcess(std::vector<std::string> extra, std::string program = {},
                             bool add_bind = true);

    /// Stops the server (SIGTERM) and fails the test if a sanitizer reported anything
    /// in its log: under build-asan the child's findings would otherwise go unseen.
    ~WsgiHttpProcess();
    WsgiHttpProcess(const WsgiHttpProcess&) = delete;
    WsgiHttpProcess& operator=(const WsgiHttpProcess&) = delete;

    bool ready() const noexcept { return ready_; }
    unsigned short port() const noexcept { return port_; }
    std::string url(const std::string& path) const
    {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    std::string error_log() const { return read_file(dir_ / "error.log"); }
    const TempDir& dir() const noexcept { return dir_; }
    ChildProcess& process() noexcept { return process_; }
    /// For a test that exhausts the server's descriptors on purpose: UBSan's vptr check
    /// reads the vtable through a pipe (sanitizer_common's IsAccessibleMemoryRange), which
    /// EMFILE makes fail, so it reports "invalid vptr" with "<memory cannot be printed>"
    /// for objects it could not look at. Those reports (and only those) are not findings.
    void tolerate_unreadable_vptr_reports() noexcept { tolerate_unreadable_vptr_ = true; }

private:
    TempDir dir_;
    unsigned short port_ = 0;
    ChildProcess process_;
    bool ready_ = false;
    bool tolerate_unreadable_vptr_ = false;
};

/// wsgi-http, wsgi-fcgi, wsgi-scgi or wsgi-uwsgi (by file name): the programs that
/// refuse to run an application as root without --user or --allow-root.
bool is_server_program(const std::string& program);

/// The body of a `curl -i` response (after the last header block: a 100 Continue may
/// precede the final one).
std::string response_body(const std::string& raw);
/// The final status line of a `curl -i` response.
std::string response_status(const std::string& raw);

} // namespace wsgibridge::test
