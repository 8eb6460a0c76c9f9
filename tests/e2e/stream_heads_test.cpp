// The response head wsgi-uwsgi and wsgi-scgi send, byte for byte against uWSGI's own
// --uwsgi-socket and --scgi-socket serving the same application: uwsgi's is the status
// line and the application's headers alone, SCGI's a CGI "Status:" head (SCGI 1.0 leaves
// the response to CGI's rules, RFC 3875 §6). The web server in front writes Date and
// owns the client connection (nginx uwsgi_pass passes a backend's Date on and drops its
// Connection), so neither gateway adds them.
#include "stream_common.hpp"

#include <gtest/gtest.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* app = R"(def application(environ, start_response):
    body = b"made\n"
    start_response("201 Created", [("Content-Type", "text/plain"),
                                   ("Content-Length", str(len(body))),
                                   ("X-App", environ["SERVER_PROTOCOL"])])
    return [body]
)";

/// The bytes before the body.
std::string head_of(const std::string& raw)
{
    auto end = raw.find("\r\n\r\n");
    return end == std::string::npos ? raw : raw.substr(0, end + 4);
}

struct Servers
{
    TempDir dir;
    unsigned short ours_port = free_tcp_port();
    unsigned short theirs_port = free_tcp_port();
    ChildProcess ours, theirs;

    explicit Servers(const Protocol& p)
    {
        write_file(dir / "app.py", app);
        auto uwsgi = find_program({"/usr/bin/uwsgi"});
        if (uwsgi.empty()) {
            ADD_FAILURE() << "uwsgi missing (scripts/lib.sh installs uwsgi and its python3 "
                             "plugin)";
            return;
        }
        SpawnOptions o;
        o.stderr_file = dir / "uwsgi.log";
        o.stdout_file = dir / "uwsgi.out";
        theirs = ChildProcess({uwsgi, "--plugin", "python3", std::string("--") + p.name + "-socket",
                               "127.0.0.1:" + std::to_string(theirs_port), "--wsgi-file",
                               (dir / "app.py").string(), "--master", "--processes", "1",
                               "--die-on-term", "--need-app"},
                              o);
        SpawnOptions w;
        w.stderr_file = dir / "ours.log";
        w.unset_env = {"LISTEN_FDS", "LISTEN_PID", "PHP_FCGI_CHILDREN"};
        ours = ChildProcess({gateway_path(p.program), "--app", (dir / "app.py").string(), "--bind",
                             "127.0.0.1:" + std::to_string(ours_port), "--allow-root"},
                            w);
    }
    std::string logs() const { return read_file(dir / "uwsgi.log") + read_file(dir / "ours.log"); }
};

class StreamHeads : public testing::TestWithParam<Protocol>
{
};

} // namespace

TEST_P(StreamHeads, SameHeadAsUwsgi)
{
    const Protocol& p = GetParam();
    Servers s(p);
    ASSERT_TRUE(wait_for_tcp(s.theirs_port, 20s)) << s.logs();
    ASSERT_TRUE(wait_for_tcp(s.ours_port, 20s)) << s.logs();
    for (std::string protocol : {"HTTP/1.1", "HTTP/1.0"}) {
        SCOPED_TRACE(protocol);
        Vars vars{{"CONTENT_LENGTH", "0"},      {"SCGI", "1"},         {"REQUEST_METHOD", "GET"},
                  {"REQUEST_URI", "/x"},        {"PATH_INFO", "/x"},   {"QUERY_STRING", ""},
                  {"SERVER_NAME", "localhost"}, {"SERVER_PORT", "80"}, {"REMOTE_ADDR", "127.0.0.1"},
                  {"SERVER_PROTOCOL", protocol}};
        auto request = std::string(p.name) == "uwsgi" ? uwsgi_packet(vars) : scgi_netstring(vars);
        auto theirs = raw_exchange(s.theirs_port, request);
        auto ours = raw_exchange(s.ours_port, request);
        ASSERT_NE(theirs.find("made\n"), std::string::npos) << theirs << s.logs();
        EXPECT_EQ(head_of(ours), head_of(theirs)) << s.logs();
        EXPECT_EQ(ours.find("\r\nDate:"), std::string::npos) << ours;
        EXPECT_EQ(ours.find("\r\nConnection:"), std::string::npos) << ours;
        EXPECT_TRUE(ours.ends_with("\r\n\r\nmade\n")) << ours;
    }
}

INSTANTIATE_TEST_SUITE_P(Protocols, StreamHeads,
                         testing::Values(Protocol{"uwsgi", "wsgi-uwsgi"},
                                         Protocol{"scgi", "wsgi-scgi"}),
                         protocol_label);
