// wsgi-http serving examples/flask_app.py (Debian's python3-flask), mounted and not.
#include "http_server.hpp"

#include <nlohmann/json.hpp>

using namespace wsgibridge::test;
using json = nlohmann::json;

namespace {
bool have_flask()
{
    return run_command({system_python, "-c", "import flask"}).exit_code == 0;
}
} // namespace

TEST(WsgiHttpFlask, Routes)
{
    if (!have_flask())
        GTEST_FAIL() << "python3-flask is not installed (scripts/lib.sh installs it)";
    WsgiHttpProcess s({"--app", "examples/flask_app.py"});
    ASSERT_TRUE(s.ready()) << s.error_log();

    auto index = json::parse(response_body(curl({s.url("/")}).out));
    EXPECT_EQ(index["hello"], "/hello/world");

    auto hello = curl({s.url("/hello/bob")});
    EXPECT_EQ(response_status(hello.out), "HTTP/1.1 200 OK");
    EXPECT_EQ(response_body(hello.out), "Hello, bob!\n");

    auto echo =
        curl({"--data-binary", "ping pong", "-H", "Content-Type: text/plain", s.url("/echo")});
    EXPECT_EQ(response_body(echo.out), "ping pong");

    auto stream = curl({s.url("/stream")});
    EXPECT_EQ(response_body(stream.out), "chunk 0\nchunk 1\nchunk 2\n");
    EXPECT_NE(stream.out.find("Transfer-Encoding: chunked"), std::string::npos);

    EXPECT_EQ(response_status(curl({s.url("/missing")}).out), "HTTP/1.1 404 NOT FOUND");
    EXPECT_EQ(response_status(curl({s.url("/boom")}).out), "HTTP/1.1 500 INTERNAL SERVER ERROR");
    EXPECT_EQ(response_status(curl({s.url("/hello/again")}).out), "HTTP/1.1 200 OK");
    EXPECT_NE(s.error_log().find("boom: this route fails on purpose"), std::string::npos);
}

TEST(WsgiHttpFlask, MountedUrlForIncludesThePrefix)
{
    if (!have_flask())
        GTEST_FAIL() << "python3-flask is not installed (scripts/lib.sh installs it)";
    WsgiHttpProcess s({"--app", "examples/flask_app.py", "--mount", "/app"});
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto index = json::parse(response_body(curl({s.url("/app/")}).out));
    EXPECT_EQ(index["hello"], "/app/hello/world");
    EXPECT_EQ(index["script_name"], "/app");
    EXPECT_EQ(response_status(curl({s.url("/hello/x")}).out), "HTTP/1.1 404 Not Found");
}

// A file named after the framework it imports (--app /srv/site/flask.py): the file is
// loaded under a private module name, so `from flask import Flask` finds Flask, and
// templates/ and static/ next to the file are Flask's (root_path from __file__).
TEST(WsgiHttpFlask, FileNamedFlaskPy)
{
    if (!have_flask())
        GTEST_FAIL() << "python3-flask is not installed (scripts/lib.sh installs it)";
    TempDir site;
    write_file(site / "templates/page.html", "hello {{ who }}");
    write_file(site / "static/s.txt", "static next to flask.py");
    write_file(site / "flask.py", "from flask import Flask, render_template\n"
                                  "app = Flask(__name__)\n"
                                  "@app.route('/')\n"
                                  "def index():\n"
                                  "    return render_template('page.html', who=__name__[:13])\n");
    WsgiHttpProcess s({"--app", (site / "flask.py").string()});
    ASSERT_TRUE(s.ready()) << s.error_log();
    EXPECT_EQ(response_body(curl({s.url("/")}).out), "hello _wsgi_bridge_") << s.error_log();
    EXPECT_EQ(response_body(curl({s.url("/static/s.txt")}).out), "static next to flask.py");
}
