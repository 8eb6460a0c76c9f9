#include "wsgibridge/log.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <stdexcept>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace wsgibridge {
namespace {

constexpr std::string_view level_name(LogLevel level) noexcept
{
    switch (level) {
    case LogLevel::debug:
        return "debug";
    case LogLevel::info:
        return "info";
    case LogLevel::warning:
        return "warning";
    case LogLevel::error:
        return "error";
    }
    return "?";
}

// One write(2) per line: O_APPEND files and pipes below PIPE_BUF keep lines whole even
// with several processes writing.
void write_all(int fd, std::string_view text) noexcept
{
    while (!text.empty()) {
        ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

int open_append(const std::string& path)
{
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open log " + path);
    return fd;
}

} // namespace

Logger::Logger(int fd, LogLevel min_level) noexcept : fd_(fd), min_level_(min_level) {}

Logger::Logger(LogCallback callback, LogLevel min_level)
    : fd_(-1), min_level_(min_level), callback_(std::move(callback))
{
    if (!callback_) throw std::invalid_argument("Logger: empty log callback");
}

Logger Logger::open_file(const std::string& path, LogLevel min_level)
{
    Logger log(open_append(path), min_level);
    log.owned_ = true;
    return log;
}

Logger::Logger(Logger&& other) noexcept
    : fd_(other.fd_), owned_(other.owned_), min_level_(other.min_level_), json_(other.json_),
      callback_(std::move(other.callback_))
{
    other.owned_ = false;
}

Logger::~Logger()
{
    if (owned_) ::close(fd_);
}

namespace {

// A JSON string (RFC 8259 section 7): quotes, backslashes and control bytes escaped;
// bytes above 0x7f (a raw request-target may carry any) as \u00XX, so the line is
// valid JSON whatever the client sent.
void append_json_string(std::string& out, std::string_view text)
{
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c >= 0x7f) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
}

std::string iso_time()
{
    std::array<char, 64> stamp{};
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    return std::string(stamp.data(),
                       std::strftime(stamp.data(), stamp.size(), "%Y-%m-%dT%H:%M:%SZ", &tm));
}

} // namespace

void Logger::log(LogLevel level, std::string_view message) const noexcept
{
    if (callback_) {
        if (level < min_level_) return;
        while (!message.empty() && message.back() == '\n')
            message.remove_suffix(1);
        try {
            callback_(level, message);
        } catch (...) {
            // log() is noexcept: a failing host logger loses the line, not the process.
        }
        return;
    }
    if (json_ && level >= min_level_ && fd_ >= 0) {
        try {
            while (!message.empty() && message.back() == '\n')
                message.remove_suffix(1);
            std::string line = "{\"time\":\"" + iso_time() + "\",\"level\":\"";
            line += level_name(level);
            line += "\",\"pid\":" + std::to_string(::getpid()) + ",\"message\":";
            append_json_string(line, message);
            line += "}\n";
            write_all(fd_, line);
        } catch (...) {
        }
        return;
    }
    if (level < min_level_ || fd_ < 0) return;
    std::array<char, 64> stamp{};
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    std::size_t n = std::strftime(stamp.data(), stamp.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::string line;
    try {
        line.reserve(n + message.size() + 40);
        line.append(stamp.data(), n);
        line += " [";
        line += level_name(level);
        line += "] [pid ";
        line += std::to_string(::getpid());
        line += "] ";
        line += message;
        if (line.back() != '\n') line += '\n';
    } catch (...) {
        return; // out of memory: nothing sensible left to log
    }
    write_all(fd_, line);
}

AccessLog AccessLog::open_file(const std::string& path)
{
    if (path == "-") return AccessLog(1);
    AccessLog log(open_append(path));
    log.owned_ = true;
    return log;
}

AccessLog::AccessLog(AccessLog&& other) noexcept : fd_(other.fd_), owned_(other.owned_)
{
    other.owned_ = false;
}

AccessLog::~AccessLog()
{
    if (owned_) ::close(fd_);
}

namespace {
// Request fields come from the client: escape quotes, backslashes and control bytes as
// Apache does, so a crafted User-Agent cannot forge a log line.
void append_escaped(std::string& out, std::string_view text)
{
    if (text.empty()) {
        out += '-';
        return;
    }
    static constexpr char hex[] = "0123456789abcdef";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
}
} // namespace

void AccessLog::log(const Request& req, int status, std::uint64_t bytes_sent) const noexcept
{
    if (fd_ < 0) return;
    try {
        std::array<char, 64> stamp{};
        std::time_t now = std::time(nullptr);
        std::tm tm{};
        ::gmtime_r(&now, &tm);
        std::size_t n = std::strftime(stamp.data(), stamp.size(), "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
        std::string line;
        line.reserve(200);
        append_escaped(line, req.remote_addr);
        line += " - ";
        append_escaped(line, req.variables.find("REMOTE_USER").value_or(""));
        line += ' ';
        line.append(stamp.data(), n);
        line += " \"";
        append_escaped(line, req.method);
        line += ' ';
        append_escaped(line, req.target);
        line += ' ';
        append_escaped(line, req.protocol);
        line += "\" ";
        line += std::to_string(status);
        line += ' ';
        line += bytes_sent ? std::to_string(bytes_sent) : "-";
        line += " \"";
        append_escaped(line, req.headers.find("Referer").value_or(""));
        line += "\" \"";
        append_escaped(line, req.headers.find("User-Agent").value_or(""));
        line += "\"\n";
        write_all(fd_, line);
    } catch (...) {
    }
}

void AccessLog::log_json(const Request& req, int status, std::uint64_t bytes_sent,
                         double duration_ms) const noexcept
{
    if (fd_ < 0) return;
    try {
        std::string line = "{\"time\":\"" + iso_time() + "\",\"remote_addr\":";
        append_json_string(line, req.remote_addr);
        line += ",\"method\":";
        append_json_string(line, req.method);
        line += ",\"uri\":";
        append_json_string(line, req.target);
        char tail[160];
        std::snprintf(tail, sizeof tail,
                      ",\"status\":%d,\"bytes\":%llu,\"duration_ms\":%.3f,\"pid\":%d}\n", status,
                      static_cast<unsigned long long>(bytes_sent), duration_ms,
                      static_cast<int>(::getpid()));
        line += tail;
        write_all(fd_, line);
    } catch (...) {
    }
}

} // namespace wsgibridge
