#include "memory_sink.hpp"

#include "model/uri.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <sys/mman.h>
#include <unistd.h>

namespace wsgibridge::test {

std::error_code MemorySink::start(const ResponseHead& head)
{
    if (start_calls++ > 0 || done()) violations.push_back("start() called twice or after the end");
    if (fail_start) {
        gone_ = true;
        return std::make_error_code(std::errc::broken_pipe);
    }
    status_code = head.status_code;
    status.assign(head.status);
    headers.clear();
    for (const auto& h : head.headers)
        headers.emplace_back(h.name, h.value);
    content_length = head.content_length;
    content_length_computed = head.content_length_computed;
    body_allowed = head.body_allowed;
    return {};
}

std::error_code MemorySink::write(std::span<const char> data)
{
    if (start_calls == 0 || done()) violations.push_back("write() outside started state");
    if (!body_allowed) violations.push_back("write() although the head said no body");
    if (fail_after_writes >= 0 && write_calls >= fail_after_writes) {
        gone_ = true;
        return std::make_error_code(std::errc::broken_pipe);
    }
    ++write_calls;
    if (gone_after_writes >= 0 && write_calls >= gone_after_writes) gone_ = true;
    chunks.emplace_back(data.data(), data.size());
    body.append(data.data(), data.size());
    return {};
}

std::error_code MemorySink::send_file(int fd, std::uint64_t offset, std::uint64_t count)
{
    if (start_calls == 0 || done()) violations.push_back("send_file() outside started state");
    files.push_back({offset, count});
    std::string data(count, '\0');
    ssize_t n = ::pread(fd, data.data(), count, static_cast<off_t>(offset));
    if (n < 0) return {errno, std::generic_category()};
    body.append(data.data(), static_cast<std::size_t>(n));
    return {};
}

std::error_code MemorySink::finish()
{
    if (start_calls == 0 || done()) violations.push_back("finish() outside started state");
    ++finish_calls;
    return {};
}

void MemorySink::abort(std::string_view reason)
{
    if (done()) violations.push_back("abort() after the end");
    ++abort_calls;
    abort_reason.assign(reason);
}

bool MemorySink::write_error(std::string_view text)
{
    if (!capture_errors) return false;
    errors.append(text);
    return true;
}

std::optional<std::string> MemorySink::header(std::string_view name) const
{
    for (const auto& [n, v] : headers)
        if (iequals(n, name)) return v;
    return std::nullopt;
}

Result<std::size_t> MemoryBody::read(std::span<char> buf)
{
    ++read_calls;
    std::size_t n = std::min({buf.size(), max_read, data_.size() - pos_});
    if (fail_at && pos_ + n >= *fail_at) return error;
    std::copy_n(data_.data() + pos_, n, buf.data());
    pos_ += n;
    return n;
}

std::optional<std::uint64_t> MemoryBody::remaining() const noexcept
{
    if (!known_) return std::nullopt;
    return data_.size() - pos_;
}

RequestBuilder::RequestBuilder(std::string_view method, std::string_view target)
{
    req_.protocol = "HTTP/1.1";
    req_.scheme = "http";
    req_.server_name = "localhost";
    req_.server_port = "80";
    req_.remote_addr = "127.0.0.1";
    req_.remote_port = "40000";
    this->method(method);
    this->target(target);
}

std::string_view RequestBuilder::keep(std::string_view s)
{
    return storage_.emplace_back(s);
}

RequestBuilder& RequestBuilder::method(std::string_view m)
{
    req_.method = keep(m);
    return *this;
}

RequestBuilder& RequestBuilder::target(std::string_view t)
{
    req_.target = keep(t);
    auto parts = split_target(req_.target);
    decoded_path_.clear();
    percent_decode_append(parts.path, decoded_path_);
    req_.script_name = {};
    req_.path_info = keep(decoded_path_);
    req_.query_string = parts.query;
    return *this;
}

RequestBuilder& RequestBuilder::mount(std::string_view script_name)
{
    std::string_view decoded = keep(decoded_path_), sn, pi;
    if (!split_mount(decoded, keep(script_name), sn, pi))
        throw std::invalid_argument("outside mount");
    req_.script_name = sn;
    req_.path_info = pi;
    return *this;
}

RequestBuilder& RequestBuilder::scheme(std::string_view s)
{
    req_.scheme = keep(s);
    return *this;
}

RequestBuilder& RequestBuilder::header(std::string_view name, std::string_view value)
{
    req_.headers.add(keep(name), keep(value));
    return *this;
}

RequestBuilder& RequestBuilder::variable(std::string_view name, std::string_view value)
{
    req_.variables.add(keep(name), keep(value));
    return *this;
}

RequestBuilder& RequestBuilder::body(std::string_view data, bool chunked)
{
    body_.assign(data);
    chunked_ = chunked;
    if (chunked) {
        req_.content_length.reset();
        header("Transfer-Encoding", "chunked");
    } else {
        req_.content_length = data.size();
        header("Content-Length", keep(std::to_string(data.size())));
    }
    return *this;
}

LogCapture::LogCapture()
    : fd_(::memfd_create("wsgibridge-test-log", MFD_CLOEXEC)), log_(fd_, LogLevel::debug)
{
    if (fd_ < 0) throw std::runtime_error("memfd_create failed");
}

LogCapture::~LogCapture()
{
    ::close(fd_);
}

std::string LogCapture::text() const
{
    std::string out;
    char buf[4096];
    off_t at = 0;
    while (true) {
        ssize_t n = ::pread(fd_, buf, sizeof buf, at);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        at += n;
    }
    return out;
}

void LogCapture::clear()
{
    if (::ftruncate(fd_, 0) != 0) return;
    ::lseek(fd_, 0, SEEK_SET);
}

} // namespace wsgibridge::test
