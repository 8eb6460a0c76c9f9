// wsgi-http --static-map on its own, driven by curl: files answered by the C++ side
// (RFC 9110 §13 validators, §14 ranges, precompressed variants), nothing outside the
// directory, and every other path still reaches the application.
#include "http_server.hpp"

#include <cctype>
#include <filesystem>
#include <sys/stat.h>

using namespace wsgibridge::test;

namespace {

std::string header_value(const std::string& raw, const std::string& name)
{
    auto pos = raw.find("\r\n" + name + ": ");
    if (pos == std::string::npos) return {};
    pos += name.size() + 4;
    return raw.substr(pos, raw.find("\r\n", pos) - pos);
}

struct StaticSite
{
    TempDir files;
    std::filesystem::path root = files / "www";
    std::string big;

    StaticSite()
    {
        std::filesystem::create_directories(root / "css");
        write_file(root / "css/site.css", "body { color: red }\n");
        big.resize(3 * 1024 * 1024);
        for (std::size_t i = 0; i < big.size(); ++i)
            big[i] = static_cast<char>('a' + i % 26);
        write_file(root / "big.bin", big);
        write_file(root / "app.js", "console.log('plain')\n");
        write_file(root / "app.js.gz", "GZIP-ENCODED");
        write_file(files / "secret.py", "SECRET = 1\n");
        std::filesystem::create_symlink(files / "secret.py", root / "escape.txt");
    }
};

} // namespace

TEST(WsgiHttpStatic, ServesFilesWithoutThePythonApp)
{
    StaticSite site;
    WsgiHttpProcess s({"--app", "examples/hello.py", "--static-map",
                       "/static=" + site.root.string(), "--access-log", "@DIR@/access.log"});
    ASSERT_TRUE(s.ready()) << s.error_log();

    auto css = curl({s.url("/static/css/site.css")});
    EXPECT_EQ(response_status(css.out), "HTTP/1.1 200 OK") << css.out;
    EXPECT_EQ(response_body(css.out), "body { color: red }\n");
    EXPECT_EQ(header_value(css.out, "Content-Type"), "text/css; charset=utf-8");
    auto etag = header_value(css.out, "ETag");
    auto modified = header_value(css.out, "Last-Modified");
    ASSERT_FALSE(etag.empty()) << css.out;

    // 3 MiB through sendfile, byte for byte
    auto big = curl({s.url("/static/big.bin")});
    EXPECT_TRUE(response_body(big.out) == site.big) << "big.bin differs";

    EXPECT_EQ(
        response_status(curl({"-H", "If-None-Match: " + etag, s.url("/static/css/site.css")}).out),
        "HTTP/1.1 304 Not Modified");
    EXPECT_EQ(
        response_status(
            curl({"-H", "If-Modified-Since: " + modified, s.url("/static/css/site.css")}).out),
        "HTTP/1.1 304 Not Modified");

    auto part = curl({"-H", "Range: bytes=1000-1009", s.url("/static/big.bin")});
    EXPECT_EQ(response_status(part.out), "HTTP/1.1 206 Partial Content");
    EXPECT_EQ(response_body(part.out), site.big.substr(1000, 10));
    EXPECT_EQ(header_value(part.out, "Content-Range"), "bytes 1000-1009/3145728");
    auto beyond = curl({"-H", "Range: bytes=4000000-", s.url("/static/big.bin")});
    EXPECT_EQ(response_status(beyond.out), "HTTP/1.1 416 Range Not Satisfiable");
    EXPECT_EQ(header_value(beyond.out, "Content-Range"), "bytes */3145728");

    auto head = curl({"-I", s.url("/static/big.bin")});
    EXPECT_EQ(header_value(head.out, "Content-Length"), "3145728");
    EXPECT_EQ(response_body(head.out), "");

    auto gz = curl({"-H", "Accept-Encoding: gzip", s.url("/static/app.js")});
    EXPECT_EQ(response_body(gz.out), "GZIP-ENCODED");
    EXPECT_EQ(header_value(gz.out, "Content-Encoding"), "gzip");
    EXPECT_EQ(header_value(gz.out, "Vary"), "Accept-Encoding");
    auto plain = curl({s.url("/static/app.js")});
    EXPECT_EQ(response_body(plain.out), "console.log('plain')\n");

    // Nothing outside the directory, however the path is spelled (curl --path-as-is
    // sends the dots as written).
    for (const char* path :
         {"/static/../tests/apps/echo.py", "/static/%2e%2e/secret.py", "/static/%2E%2E%2Fsecret.py",
          "/static/%252e%252e/secret.py", "/static/..%5Csecret.py", "/static/css%00.css",
          "/static/escape.txt", "/static/css", "/static/", "/static/nope.css"}) {
        auto r = curl({"--path-as-is", s.url(path)});
        EXPECT_EQ(response_status(r.out), "HTTP/1.1 404 Not Found") << path << "\n" << r.out;
        EXPECT_EQ(r.out.find("SECRET"), std::string::npos) << path;
    }
    EXPECT_NE(s.error_log().find("--static-map"), std::string::npos) << s.error_log();

    // Other paths are the application's; the server is still serving after all that.
    EXPECT_EQ(response_body(curl({s.url("/staticx")}).out), "Hello, World!\n");
    EXPECT_EQ(response_body(curl({s.url("/")}).out), "Hello, World!\n");
    auto access = read_file(s.dir() / "access.log");
    EXPECT_NE(access.find("\"GET /static/css/site.css HTTP/1.1\" 200 20"), std::string::npos)
        << access;
}

// The cases the first test leaves out: a .br variant and Vary on every representation, the
// unknown extension, validators on HEAD, a suffix range, and the ways out of DIR that are
// not in the request line's dots: a symlinked directory, a precompressed variant that is a
// symlink out, a raw backslash, a FIFO (open(2) of a FIFO waits for a writer: it must not
// hold the serving thread).
TEST(WsgiHttpStatic, EveryRepresentationAndNoWayOut)
{
    StaticSite site;
    write_file(site.root / "app.js.br", "BROTLI-ENCODED");
    write_file(site.root / "data.unknownext", "raw");
    write_file(site.root / "page.html", "<p>page</p>\n");
    std::filesystem::create_symlink(site.files.path(), site.root / "outside");
    std::filesystem::create_symlink(site.files / "secret.py", site.root / "page.html.gz");
    ASSERT_EQ(::mkfifo((site.root / "pipe.txt").c_str(), 0644), 0);
    // One thread: a request stuck on the FIFO would leave every later request unanswered.
    WsgiHttpProcess s({"--app", "examples/hello.py", "--threads", "1", "--static-map",
                       "/static=" + site.root.string()});
    ASSERT_TRUE(s.ready()) << s.error_log();

    auto br = curl({"-H", "Accept-Encoding: gzip, br", s.url("/static/app.js")});
    EXPECT_EQ(response_body(br.out), "BROTLI-ENCODED");
    EXPECT_EQ(header_value(br.out, "Content-Encoding"), "br");
    EXPECT_EQ(header_value(br.out, "Content-Type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(header_value(br.out, "Vary"), "Accept-Encoding");
    auto gz = curl({"-H", "Accept-Encoding: br;q=0, gzip", s.url("/static/app.js")});
    EXPECT_EQ(response_body(gz.out), "GZIP-ENCODED");
    // The identity representation varies too, so a cache never hands it to every client.
    auto plain = curl({s.url("/static/app.js")});
    EXPECT_EQ(header_value(plain.out, "Vary"), "Accept-Encoding");
    EXPECT_EQ(header_value(plain.out, "Content-Encoding"), "");
    EXPECT_NE(header_value(plain.out, "ETag"), header_value(br.out, "ETag"));

    auto unknown = curl({s.url("/static/data.unknownext")});
    EXPECT_EQ(header_value(unknown.out, "Content-Type"), "application/octet-stream");
    auto html = curl({s.url("/static/page.html")});
    EXPECT_EQ(header_value(html.out, "Content-Type"), "text/html; charset=utf-8");

    // RFC 9110 §13.2.1: a HEAD is evaluated like a GET; §13.1.3: an older date is modified.
    auto etag = header_value(html.out, "ETag");
    auto head304 = curl({"-I", "-H", "If-None-Match: " + etag, s.url("/static/page.html")});
    EXPECT_EQ(response_status(head304.out), "HTTP/1.1 304 Not Modified");
    EXPECT_EQ(header_value(head304.out, "ETag"), etag);
    auto old = curl(
        {"-H", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT", s.url("/static/page.html")});
    EXPECT_EQ(response_status(old.out), "HTTP/1.1 200 OK");
    auto suffix = curl({"-H", "Range: bytes=-5", s.url("/static/big.bin")});
    EXPECT_EQ(response_status(suffix.out), "HTTP/1.1 206 Partial Content");
    EXPECT_EQ(response_body(suffix.out), site.big.substr(site.big.size() - 5));

    // The variant beside page.html is a symlink out of DIR: the plain file is served.
    auto linked_variant = curl({"-H", "Accept-Encoding: gzip", s.url("/static/page.html")});
    EXPECT_EQ(response_body(linked_variant.out), "<p>page</p>\n");
    EXPECT_EQ(linked_variant.out.find("SECRET"), std::string::npos);

    for (const char* path :
         {"/static/outside/secret.py", "/static/outside/www/css/site.css",
          "/static/css/../../secret.py", "/static/.%2e/secret.py", "/static/%2e./secret.py",
          "/static/%252e%252e%252fsecret.py", "/static/%2e%2e%5csecret.py", "/static",
          "/static/css/", "/static/pipe.txt"}) {
        auto r = curl({"--path-as-is", "--max-time", "10", s.url(path)});
        EXPECT_EQ(response_status(r.out), "HTTP/1.1 404 Not Found") << path << "\n" << r.out;
        EXPECT_EQ(r.out.find("SECRET"), std::string::npos) << path;
    }
    // A backslash as sent, not percent-encoded (curl would keep it, but say it plainly).
    auto backslash = raw_exchange(
        s.port(), "GET /static/..\\secret.py HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(backslash.starts_with("HTTP/1.1 404 ")) << backslash;
    EXPECT_EQ(backslash.find("SECRET"), std::string::npos);

    EXPECT_EQ(response_body(curl({s.url("/")}).out), "Hello, World!\n");
}
