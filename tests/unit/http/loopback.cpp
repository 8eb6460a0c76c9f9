#include "loopback.hpp"

#include <arpa/inet.h>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace wsgibridge::test {
using namespace std::chrono_literals;

namespace {
void respond(ResponseSink& sink, int code, std::string_view status, std::string_view body,
             bool body_allowed = true)
{
    ResponseHead head;
    head.body_allowed = body_allowed;
    head.status_code = code;
    head.status = status;
    head.content_length = body.size();
    head.content_length_computed = true;
    if (sink.start(head)) return;
    if (body_allowed && !body.empty() && sink.write(body)) return;
    (void)sink.finish();
}
/// The server's socket of the connection whose client port is `remote_port`: client and
/// server run in this process, and only the server's end has that port as its peer.
int server_fd_of(std::string_view remote_port)
{
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        int fd = std::stoi(entry.path().filename().string());
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) continue;
        if (ss.ss_family != AF_INET) continue;
        auto port = ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
        if (std::to_string(port) == remote_port) return fd;
    }
    return -1;
}

/// Whether `fd` is in any epoll set of this process (/proc/PID/fdinfo lists its targets).
bool in_epoll(int fd)
{
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        if (std::filesystem::read_symlink(entry.path(), ec).string() != "anon_inode:[eventpoll]")
            continue;
        std::ifstream info("/proc/self/fdinfo/" + entry.path().filename().string());
        for (std::string line; std::getline(info, line);) {
            int target = -1;
            if (std::sscanf(line.c_str(), "tfd: %d", &target) == 1 && target == fd) return true;
        }
    }
    return false;
}

} // namespace

void TestHandler::handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept
{
    ++calls;
    {
        std::lock_guard lock(mutex);
        last_headers.clear();
        for (const auto& h : req.headers)
            last_headers += std::string(h.name) + "=" + std::string(h.value) + "\n";
    }
    if (req.path_info == "/echo") {
        std::string data;
        char buf[7]; // small on purpose: many reads, chunk boundaries inside them
        for (;;) {
            auto n = body.read(buf);
            if (!n) {
                int code = http_status_for(n.error());
                return respond(sink, code,
                               code == 413   ? "413 Content Too Large"
                               : code == 408 ? "408 Request Timeout"
                               : code == 400 ? "400 Bad Request"
                                             : "500 Internal Server Error",
                               n.error().message());
            }
            if (*n == 0) break;
            data.append(buf, *n);
        }
        return respond(sink, 200, "200 OK", data);
    }
    if (req.path_info == "/file" || req.path_info == "/file-chunked") {
        // QUERY_STRING names the file; bytes 2.. of it go out through send_file.
        int fd = ::open(std::string(req.query_string).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return respond(sink, 404, "404 Not Found", "no file");
        auto size = static_cast<std::uint64_t>(::lseek(fd, 0, SEEK_END));
        ResponseHead head;
        head.status = "200 OK";
        if (req.path_info == "/file") {
            head.content_length = size - 2;
            head.content_length_computed = true;
        }
        if (!sink.start(head) && !sink.send_file(fd, 2, size - 2)) (void)sink.finish();
        ::close(fd);
        return;
    }
    if (req.path_info == "/conn") {
        int fd = server_fd_of(req.remote_port);
        if (fd < 0) return respond(sink, 500, "500 Internal Server Error", "no socket");
        bool cloexec = (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
        return respond(sink, 200, "200 OK",
                       std::string("cloexec=") + (cloexec ? "1" : "0") +
                           " epoll=" + (in_epoll(fd) ? "1" : "0"));
    }
    if (req.path_info == "/noresponse") return; // a broken handler
    if (req.path_info == "/abort") {
        ResponseHead head;
        head.status = "200 OK";
        if (sink.start(head) || sink.write(std::string_view("partial"))) return;
        return sink.abort("the application failed mid-response");
    }
    if (req.path_info == "/sleep") {
        std::this_thread::sleep_for(300ms);
        return respond(sink, 200, "200 OK", "slept");
    }
    if (req.path_info == "/stream") {
        ResponseHead head;
        head.status = "200 OK";
        if (sink.start(head)) return;
        for (std::string_view part : {"one ", "two ", "three"})
            if (sink.write(part)) return sink.abort("client gone");
        (void)sink.finish();
        return;
    }
    std::string text = std::string(req.method) + " " + std::string(req.script_name) + "|" +
                       std::string(req.path_info) + "?" + std::string(req.query_string);
    respond(sink, 200, "200 OK", text, req.method != "HEAD");
}

LoopbackServer::LoopbackServer(Limits limits, std::string bind, std::string mount, unsigned threads,
                               std::chrono::seconds defer_accept)
    : log_path_(std::filesystem::temp_directory_path() /
                ("http_unit_" + std::to_string(::getpid()) + "_" +
                 std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".log")),
      log_(Logger::open_file(log_path_, LogLevel::debug))
{
    HttpServerOptions o;
    o.bind = std::move(bind);
    o.threads = threads;
    o.limits = limits;
    o.mount = std::move(mount);
    o.handle_signals = false;
    o.defer_accept = defer_accept;
    server_ = std::make_unique<HttpServer>(o, handler, log_, access_);
    thread_ = std::thread([this] { server_->run(); });
}

LoopbackServer::~LoopbackServer()
{
    server_->stop();
    thread_.join();
    std::filesystem::remove(log_path_);
}

unsigned short LoopbackServer::port() const
{
    auto ep = server_->local_endpoint();
    return static_cast<unsigned short>(std::stoi(ep.substr(ep.rfind(':') + 1)));
}

std::string LoopbackServer::log_text() const
{
    std::string out;
    int fd = ::open(log_path_.c_str(), O_RDONLY);
    char buf[4096];
    for (ssize_t n; fd >= 0 && (n = ::read(fd, buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<std::size_t>(n));
    if (fd >= 0) ::close(fd);
    return out;
}

RawClient::RawClient(unsigned short port)
{
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("connect failed");
}

RawClient::RawClient(const std::filesystem::path& unix_path)
{
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, unix_path.c_str(), sizeof a.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("connect failed");
}

RawClient::~RawClient()
{
    ::close(fd_);
}

void RawClient::shutdown_write()
{
    ::shutdown(fd_, SHUT_WR);
}

void RawClient::send(std::string_view data)
{
    while (!data.empty()) {
        ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) return;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

bool RawClient::fill(std::chrono::steady_clock::time_point deadline)
{
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<std::size_t>(n));
    return true;
}

std::string RawClient::read_response(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t head_end;
    while ((head_end = pending_.find("\r\n\r\n")) == std::string::npos)
        if (!fill(deadline)) return std::exchange(pending_, {});
    head_end += 4;
    std::string head = pending_.substr(0, head_end);
    std::size_t total = head_end;
    if (auto cl = head.find("Content-Length: "); cl != std::string::npos) {
        total += std::stoul(head.substr(cl + 16));
    } else if (head.find("Transfer-Encoding: chunked") != std::string::npos) {
        while (pending_.find("\r\n0\r\n\r\n", head_end - 2) == std::string::npos)
            if (!fill(deadline)) break;
        auto end = pending_.find("\r\n0\r\n\r\n", head_end - 2);
        total = end == std::string::npos ? pending_.size() : end + 7;
    }
    while (pending_.size() < total)
        if (!fill(deadline)) break;
    total = std::min(total, pending_.size());
    std::string out = pending_.substr(0, total);
    pending_.erase(0, total);
    return out;
}

std::string RawClient::read_until_close(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fill(deadline)) {
    }
    return std::exchange(pending_, {});
}

bool RawClient::closed_within(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[4096];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return true;
        pending_.append(buf, static_cast<std::size_t>(n));
    }
}

} // namespace wsgibridge::test
