// The error log and the access log. Both write whole lines with one write(2), so lines
// from several threads or processes never interleave. An embedding program can instead
// have the error log call its own function (Logger(LogCallback)).
#pragma once

#include "export.hpp"
#include "request.hpp"

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace wsgibridge {

enum class LogLevel { debug, info, warning, error };

/// The host's log function: one message per call, without time stamp, level prefix or
/// trailing newline (the host formats it). Called from whichever thread logs, possibly
/// several at once, so it must be thread-safe; it must not throw (an exception it
/// throws is swallowed) and must not call back into the library.
using LogCallback = std::function<void(LogLevel level, std::string_view message)>;

class WSGIBRIDGE_API Logger
{
public:
    /// Logs to `fd` (not owned; stderr by default).
    explicit Logger(int fd = 2, LogLevel min_level = LogLevel::info) noexcept;
    /// Hands each message at `min_level` or above to `callback` instead of a descriptor
    /// (fd() is then -1). Throws std::invalid_argument when `callback` is empty.
    explicit Logger(LogCallback callback, LogLevel min_level = LogLevel::info);
    /// Opens `path` for appending (owned). Throws std::system_error when it cannot.
    static Logger open_file(const std::string& path, LogLevel min_level = LogLevel::info);
    Logger(Logger&& other) noexcept;
    Logger& operator=(Logger&&) = delete;
    ~Logger();

    void log(LogLevel level, std::string_view message) const noexcept;
    void debug(std::string_view m) const noexcept { log(LogLevel::debug, m); }
    void info(std::string_view m) const noexcept { log(LogLevel::info, m); }
    void warning(std::string_view m) const noexcept { log(LogLevel::warning, m); }
    void error(std::string_view m) const noexcept { log(LogLevel::error, m); }
    bool enabled(LogLevel level) const noexcept { return level >= min_level_; }
    /// The descriptor written to; -1 for a callback logger.
    int fd() const noexcept { return fd_; }
    /// --log-format json: each line a JSON object {"time","level","pid","message"}.
    void set_json(bool json) noexcept { json_ = json; }

private:
    int fd_;
    bool owned_ = false;
    LogLevel min_level_;
    bool json_ = false;
    LogCallback callback_;
};

/// One line per request in Apache's combined log format:
/// 127.0.0.1 - - [25/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 14 "-" "curl/7.88.1"
class WSGIBRIDGE_API AccessLog
{
public:
    /// Writes to `fd` (not owned); fd < 0 disables the log.
    explicit AccessLog(int fd = -1) noexcept : fd_(fd) {}
    static AccessLog open_file(const std::string& path); ///< "-" means stdout
    AccessLog(AccessLog&& other) noexcept;
    AccessLog& operator=(AccessLog&&) = delete;
    ~AccessLog();

    bool enabled() const noexcept { return fd_ >= 0; }
    void log(const Request& req, int status, std::uint64_t bytes_sent) const noexcept;
    /// --log-format json: {"time","remote_addr","method","uri","status","bytes",
    /// "duration_ms","pid"} on one line.
    void log_json(const Request& req, int status, std::uint64_t bytes_sent,
                  double duration_ms) const noexcept;

private:
    int fd_;
    bool owned_ = false;
};

/// "a" + "b" + 3 without iostreams (GCC 12 has no std::format).
template <class... Parts>
std::string concat(const Parts&... parts)
{
    std::string out;
    auto add = [&out](const auto& p) {
        if constexpr (std::is_arithmetic_v<std::decay_t<decltype(p)>>)
            out += std::to_string(p);
        else
            out += std::string_view(p);
    };
    (add(parts), ...);
    return out;
}

} // namespace wsgibridge
