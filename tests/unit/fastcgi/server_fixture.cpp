#include "server_fixture.hpp"

#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace wsgibridge::test {
using namespace std::chrono_literals;

namespace {
std::error_code respond(ResponseSink& sink, int code, std::string_view status,
                        std::string_view body, std::span<const Header> extra = {})
{
    ResponseHead head;
    head.status_code = code;
    head.status = status;
    std::vector<Header> headers{{"Content-Type", "text/plain"}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    head.headers = headers;
    head.content_length = body.size();
    head.content_length_computed = true;
    if (auto ec = sink.start(head)) return ec;
    if (auto ec = sink.write(body)) return ec;
    return sink.finish();
}

std::string read_all(BodySource& body, std::error_code& ec)
{
    std::string out;
    char buf[7000];
    for (;;) {
        auto n = body.read(buf);
        if (!n) {
            ec = n.error();
            return out;
        }
        if (*n == 0) return out;
        out.append(buf, *n);
    }
}

/// This process's sockets: "<watched> <not close-on-exec>", where `watched` counts the
/// descriptors registered in any epoll set (the tfd lines of /proc/self/fdinfo).
std::string socket_report()
{
    int watched = 0, inheritable = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        auto target = std::filesystem::read_symlink(e.path(), ec).string();
        int fd = std::atoi(e.path().filename().c_str());
        if (target.starts_with("socket:") && !(::fcntl(fd, F_GETFD) & FD_CLOEXEC)) ++inheritable;
        if (target != "anon_inode:[eventpoll]") continue;
        std::ifstream info("/proc/self/fdinfo/" + e.path().filename().string());
        for (std::string line; std::getline(info, line);)
            if (line.starts_with("tfd:")) ++watched;
    }
    return std::to_string(watched) + " " + std::to_string(inheritable);
}

std::error_code start_stream(ResponseSink& sink)
{
    ResponseHead head;
    head.status = "200 OK";
    Header h[] = {{"Content-Type", "text/plain"}};
    head.headers = h;
    return sink.start(head);
}
} // namespace

void TestHandler::handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept
{
    ++handled;
    auto path = req.path_info;
    if (path == "/echo") {
        std::error_code ec;
        std::string data = read_all(body, ec);
        if (ec) {
            (void)respond(sink, 400, "400 Bad Request", "body error: " + ec.message());
            return;
        }
        (void)respond(sink, 200, "200 OK", data);
    } else if (path == "/env") {
        std::string out = std::string(req.method) + "|" + std::string(req.script_name) + "|" +
                          std::string(req.path_info) + "|" + std::string(req.query_string) + "|" +
                          std::string(req.target) + "|" + std::string(req.scheme) + "\n";
        for (const auto& h : req.headers)
            out += std::string(h.name) + "=" + std::to_string(h.value.size()) + "\n";
        (void)respond(sink, 200, "200 OK", out);
    } else if (path == "/vars") {
        // Everything the Request carries beyond /env: values too, the other CGI
        // variables and the body length, with the body itself.
        std::string out = std::string(req.method) + " " + std::string(req.target) + " " +
                          std::string(req.scheme) + " " + std::string(req.remote_port) + " cl=" +
                          (req.content_length ? std::to_string(*req.content_length) : "-") + "\n";
        for (const auto& h : req.headers)
            out += "H " + std::string(h.name) + "=" + std::string(h.value) + "\n";
        for (const auto& v : req.variables)
            out += "V " + std::string(v.name) + "=" + std::string(v.value) + "\n";
        std::error_code ec;
        out += "B " + read_all(body, ec) + (ec ? " error" : "") + "\n";
        (void)respond(sink, 200, "200 OK", out);
    } else if (path == "/fields") {
        // QUERY_STRING fields "X-F<i>: <i as 20 chars>", to take the head past the
        // sink's inline buffer.
        std::vector<std::string> values;
        std::vector<std::string> names;
        int n = std::atoi(std::string(req.query_string).c_str());
        for (int i = 0; i < n; ++i) {
            names.push_back("X-F" + std::to_string(i));
            values.push_back(std::string(20 - std::to_string(i).size(), '0') + std::to_string(i));
        }
        std::vector<Header> fields;
        for (int i = 0; i < n; ++i)
            fields.push_back({names[i], values[i]});
        (void)respond(sink, 200, "200 OK", "fields", fields);
    } else if (path == "/big") {
        (void)respond(sink, 200, "200 OK", std::string(200000, 'B'));
    } else if (path == "/empty-chunks") {
        if (start_stream(sink)) return;
        for (std::string_view piece : {"", "a", "", "b", ""})
            (void)sink.write(piece);
        (void)sink.finish();
    } else if (path == "/stderr") {
        bool sent = sink.write_error("something odd\n");
        (void)respond(sink, 200, "200 OK", sent ? "ok" : "yours to log");
    } else if (path == "/slow") {
        // 20 chunks 100 ms apart: long enough to abort or hang up in the middle.
        if (start_stream(sink)) return;
        for (int i = 0; i < 20; ++i) {
            if (sink.client_gone()) {
                ++saw_client_gone;
                break;
            }
            if (sink.write(std::string_view("chunk\n"))) {
                ++write_failures;
                sink.abort("write failed");
                return;
            }
            std::this_thread::sleep_for(100ms);
        }
        if (sink.client_gone()) {
            sink.abort("client gone");
            return;
        }
        (void)sink.finish();
    } else if (path == "/short") {
        // Content-Length 10, 5 bytes, then the invoker's abort (PEP 3333 'Handling the
        // Content-Length Header').
        ResponseHead head;
        head.status_code = 200;
        head.status = "200 OK";
        head.content_length = 10;
        if (sink.start(head) || sink.write(std::string_view("12345"))) return;
        sink.abort("the application sent 5 of the 10 bytes");
    } else if (path == "/authz") {
        // An AUTHORIZER's answer: 200 plus Variable-* headers for the web server.
        Header extra[] = {{"Variable-AUTHZ_USER", "bob"}};
        (void)respond(sink, 200, "200 OK", "", extra);
    } else if (path == "/ignore-body") {
        (void)respond(sink, 403, "403 Forbidden", "no thanks");
    } else if (path == "/rendezvous") {
        std::unique_lock lock(m);
        ++arrived;
        cv.notify_all();
        bool met = cv.wait_for(lock, 3s, [&] { return arrived >= rendezvous_needed; });
        lock.unlock();
        (void)respond(sink, 200, "200 OK", met ? "met" : "alone");
    } else if (path == "/hold") {
        std::unique_lock lock(m);
        ++held;
        cv.notify_all();
        bool released = cv.wait_for(lock, 5s, [&] { return held_released; });
        lock.unlock();
        (void)respond(sink, 200, "200 OK", released ? "released" : "timed out");
    } else if (path == "/sockets") {
        (void)respond(sink, 200, "200 OK", socket_report());
    } else if (path == "/file") {
        std::string name = std::string(req.query_string);
        int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || start_stream(sink)) return;
        (void)sink.write(std::string_view("head:"));
        (void)sink.send_file(fd, 3, 150000);
        ::close(fd);
        (void)sink.finish();
    } else {
        (void)respond(sink, 200, "200 OK", "hello");
    }
}

void FcgiServerTest::start(FastcgiServerOptions options)
{
    if (options.bind.empty()) options.bind = "127.0.0.1:0";
    options.handle_signals = false;
    server = std::make_unique<FastcgiServer>(options, handler, log, access);
    endpoint = server->local_endpoint();
    runner = std::thread([this] { server->run(); });
}

void FcgiServerTest::TearDown()
{
    if (server) {
        server->stop();
        runner.join();
        server.reset();
    }
}

unsigned short FcgiServerTest::port() const
{
    return static_cast<unsigned short>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

} // namespace wsgibridge::test
