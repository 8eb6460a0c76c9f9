// A crafted CGI environment (NAME=VALUE strings, null-terminated) for the unit tests.
#pragma once

#include "wsgibridge/log.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace wsgibridge::test {

class EnvBuilder
{
public:
    /// Sets (or replaces) NAME=VALUE.
    EnvBuilder& set(const std::string& name, const std::string& value)
    {
        for (auto& s : strings_)
            if (s.starts_with(name + "=")) return s = name + "=" + value, *this;
        strings_.push_back(name + "=" + value);
        return *this;
    }
    /// A minimal GET as Apache sends it.
    static EnvBuilder get(const std::string& path_info = "/")
    {
        EnvBuilder e;
        e.set("GATEWAY_INTERFACE", "CGI/1.1")
            .set("REQUEST_METHOD", "GET")
            .set("SCRIPT_NAME", "/app.cgi")
            .set("PATH_INFO", path_info)
            .set("QUERY_STRING", "")
            .set("SERVER_NAME", "localhost")
            .set("SERVER_PORT", "8080")
            .set("SERVER_PROTOCOL", "HTTP/1.1")
            .set("REMOTE_ADDR", "127.0.0.1")
            .set("REMOTE_PORT", "40000");
        return e;
    }
    char** envp()
    {
        pointers_.clear();
        for (auto& s : strings_)
            pointers_.push_back(s.data());
        pointers_.push_back(nullptr);
        return pointers_.data();
    }

private:
    std::vector<std::string> strings_;
    std::vector<char*> pointers_;
};

// A logger writing into a pipe, so tests can read what was logged.
class CapturedLog
{
public:
    CapturedLog()
    {
        EXPECT_EQ(::pipe(fds_), 0);
        logger_ = std::make_unique<Logger>(fds_[1], LogLevel::debug);
    }
    ~CapturedLog()
    {
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    const Logger& logger() const { return *logger_; }
    std::string text()
    {
        ::close(fds_[1]);
        fds_[1] = -1;
        std::string out;
        char buf[4096];
        for (ssize_t n; (n = ::read(fds_[0], buf, sizeof buf)) > 0;)
            out.append(buf, static_cast<std::size_t>(n));
        return out;
    }

private:
    int fds_[2] = {-1, -1};
    std::unique_ptr<Logger> logger_;
};

} // namespace wsgibridge::test
