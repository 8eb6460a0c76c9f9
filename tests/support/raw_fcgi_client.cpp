#include "raw_fcgi_client.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace wsgibridge::test {
namespace fcgi {

std::string record(std::uint8_t type, std::uint16_t id, std::string_view content,
                   std::uint8_t padding, std::uint8_t version)
{
    std::string out;
    out += static_cast<char>(version);
    out += static_cast<char>(type);
    out += static_cast<char>(id >> 8);
    out += static_cast<char>(id & 0xff);
    out += static_cast<char>(content.size() >> 8);
    out += static_cast<char>(content.size() & 0xff);
    out += static_cast<char>(padding);
    out += '\0';
    out += content;
    out.append(padding, '\0');
    return out;
}

namespace {
void length(std::string& out, std::size_t n)
{
    if (n < 128) {
        out += static_cast<char>(n);
        return;
    }
    out += static_cast<char>(((n >> 24) & 0x7f) | 0x80);
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>((n >> 8) & 0xff);
    out += static_cast<char>(n & 0xff);
}

std::string stream(std::uint8_t type, std::uint16_t id, std::string_view data)
{
    std::string out;
    while (!data.empty()) {
        auto take = std::min<std::size_t>(data.size(), 65535);
        auto pad = static_cast<std::uint8_t>((8 - take % 8) % 8);
        out += record(type, id, data.substr(0, take), pad);
        data.remove_prefix(take);
    }
    out += record(type, id, {});
    return out;
}
} // namespace

std::string pair(std::string_view name, std::string_view value)
{
    std::string out;
    length(out, name.size());
    length(out, value.size());
    out += name;
    out += value;
    return out;
}

std::string begin(std::uint16_t id, std::uint16_t role, bool keep_conn)
{
    std::string body(8, '\0');
    body[0] = static_cast<char>(role >> 8);
    body[1] = static_cast<char>(role & 0xff);
    body[2] = keep_conn ? 1 : 0;
    return record(begin_request, id, body);
}

std::string params(std::uint16_t id, const std::vector<std::pair<std::string, std::string>>& pairs)
{
    std::string all;
    for (const auto& [n, v] : pairs)
        all += pair(n, v);
    return stream(params_type, id, all);
}

std::string stdin_body(std::uint16_t id, std::string_view body)
{
    return stream(stdin_stream, id, body);
}

std::string request(std::uint16_t id, const std::vector<std::pair<std::string, std::string>>& pairs,
                    std::string_view body, bool keep_conn)
{
    return begin(id, 1, keep_conn) + params(id, pairs) + stdin_body(id, body);
}

std::vector<std::pair<std::string, std::string>> cgi_params(std::string method, std::string uri)
{
    auto q = uri.find('?');
    std::string path = uri.substr(0, q), query = q == std::string::npos ? "" : uri.substr(q + 1);
    return {
        {"REQUEST_METHOD", method},   {"SCRIPT_NAME", ""},       {"PATH_INFO", path},
        {"QUERY_STRING", query},      {"REQUEST_URI", uri},      {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"SERVER_NAME", "localhost"}, {"SERVER_PORT", "80"},     {"REMOTE_ADDR", "127.0.0.1"},
        {"REMOTE_PORT", "50000"},     {"HTTP_HOST", "localhost"}};
}
} // namespace fcgi

int FcgiReply::status() const
{
    auto s = header("Status");
    return s.size() >= 3 ? std::atoi(s.substr(0, 3).c_str()) : 0;
}

std::string FcgiReply::header(std::string_view name) const
{
    auto end = stdout_data.find("\r\n\r\n");
    std::string_view head(stdout_data.data(), end == std::string::npos ? 0 : end + 2);
    while (!head.empty()) {
        auto eol = head.find("\r\n");
        std::string_view line = head.substr(0, eol);
        head.remove_prefix(eol + 2);
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon != name.size()) continue;
        bool same = std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
        });
        if (!same) continue;
        auto v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ')
            v.remove_prefix(1);
        return std::string(v);
    }
    return {};
}

std::string FcgiReply::body() const
{
    auto end = stdout_data.find("\r\n\r\n");
    return end == std::string::npos ? std::string{} : stdout_data.substr(end + 4);
}

RawFcgiClient::RawFcgiClient(unsigned short port)
{
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd_);
        throw std::runtime_error("connect to port " + std::to_string(port) + ": " +
                                 std::strerror(errno));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawFcgiClient::RawFcgiClient(const std::filesystem::path& unix_socket)
{
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, unix_socket.c_str(), sizeof a.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd_);
        throw std::runtime_error("connect to " + unix_socket.string() + ": " +
                                 std::strerror(errno));
    }
}

RawFcgiClient::~RawFcgiClient()
{
    if (fd_ >= 0) ::close(fd_);
}

bool RawFcgiClient::send(std::string_view bytes)
{
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool RawFcgiClient::send_slowly(std::string_view bytes, std::size_t chunk)
{
    while (!bytes.empty()) {
        auto take = std::min(chunk, bytes.size());
        if (!send(bytes.substr(0, take))) return false;
        bytes.remove_prefix(take);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

void RawFcgiClient::shutdown_write()
{
    ::shutdown(fd_, SHUT_WR);
}

bool RawFcgiClient::fill(std::chrono::milliseconds timeout)
{
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
}

FcgiRecord RawFcgiClient::read_record(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (buffer_.size() >= 8) {
            auto u = [&](std::size_t i) { return static_cast<unsigned char>(buffer_[i]); };
            std::size_t len = u(4) << 8 | u(5), pad = u(6);
            if (buffer_.size() >= 8 + len + pad) {
                FcgiRecord r;
                r.version = u(0);
                r.type = u(1);
                r.id = static_cast<std::uint16_t>(u(2) << 8 | u(3));
                r.content = buffer_.substr(8, len);
                r.padding = static_cast<std::uint8_t>(pad);
                buffer_.erase(0, 8 + len + pad);
                return r;
            }
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !fill(left)) return {};
    }
}

FcgiReply RawFcgiClient::read_reply(std::uint16_t id, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto it = pending_.find(id); it != pending_.end() && it->second.ended) {
            auto r = std::move(it->second);
            pending_.erase(it);
            return r;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        FcgiRecord rec = left.count() > 0 ? read_record(left) : FcgiRecord{};
        if (rec.type == 0) {
            auto r = std::move(pending_[id]);
            pending_.erase(id);
            return r;
        }
        auto& reply = pending_[rec.id];
        if ((rec.content.size() + rec.padding) % 8 != 0) reply.padding_ok = false;
        if (rec.type == fcgi::stdout_stream) {
            reply.stdout_data += rec.content;
            ++reply.stdout_records;
            if (rec.content.empty()) ++reply.empty_stdout_records;
            reply.max_stdout_record = std::max(reply.max_stdout_record, rec.content.size());
        } else if (rec.type == fcgi::stderr_stream) {
            reply.stderr_data += rec.content;
        } else if (rec.type == fcgi::end_request && rec.content.size() == 8) {
            auto u = [&](std::size_t i) {
                return static_cast<std::uint32_t>(static_cast<unsigned char>(rec.content[i]));
            };
            reply.app_status = u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3);
            reply.protocol_status = static_cast<std::uint8_t>(rec.content[4]);
            reply.ended = true;
        }
    }
}

bool RawFcgiClient::closed_by_peer(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[65536];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
        if (n < 0) return false;
        buffer_.append(buf, static_cast<std::size_t>(n));
    }
}

} // namespace wsgibridge::test
