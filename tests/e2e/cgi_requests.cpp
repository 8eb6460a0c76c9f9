#include "cgi_requests.hpp"

#include <string>

namespace wsgibridge::test {
namespace {

// The body the upload tests send: 1 MiB with every byte value, from a file (curl
// --data-binary @file) so no shell quoting gets in the way.
std::filesystem::path large_body(const CgiSite& site, std::size_t size)
{
    auto path = site.dir() / ("body-" + std::to_string(size) + ".bin");
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        data[i] = static_cast<char>((i * 131 + i / 251) & 0xff);
    write_file(path, data);
    return path;
}

std::uint64_t byte_sum(const std::string& data)
{
    std::uint64_t sum = 0;
    for (unsigned char c : data)
        sum += c;
    return sum;
}

} // namespace

void check_gateway_with_probe(const CgiSite& site, unsigned short port)
{
    site.install_probe();
    auto get = site.request(port, "/probe.cgi/x?y=1");
    ASSERT_EQ(get.status, 200) << get.head << get.body << site.error_log();
    EXPECT_EQ(get.body, "GET /x?y=1");

    auto path = large_body(site, 1 << 20);
    auto echo = site.request(port, "/probe.cgi/echo", {"--data-binary", "@" + path.string()});
    EXPECT_EQ(echo.status, 200) << echo.head << site.error_log();
    EXPECT_EQ(echo.body, "length=1048576 sum=" + std::to_string(byte_sum(read_file(path))));

    auto big = large_body(site, 2 << 20);
    auto ignored = site.request(port, "/probe.cgi/ignore", {"--data-binary", "@" + big.string()});
    EXPECT_EQ(ignored.status, 403) << ignored.head << site.error_log();
    EXPECT_EQ(ignored.body, "forbidden\n");

    auto created = site.request(port, "/probe.cgi/created", {"--data", ""});
    EXPECT_EQ(created.status, 201) << created.head << site.error_log();
    EXPECT_TRUE(created.header("Location").ends_with("/items/5")) << created.head;

    // Over the probe's 4 MiB --max-body: 413 before any handler, and it reaches the client.
    auto huge = large_body(site, 5 << 20);
    auto too_big = site.request(port, "/probe.cgi/echo", {"--data-binary", "@" + huge.string()});
    EXPECT_EQ(too_big.status, 413) << too_big.head << site.error_log();
    EXPECT_NE(site.error_log().find("--max-body"), std::string::npos) << site.error_log();

    auto nph = site.request(port, "/nph-probe.cgi/n");
    EXPECT_EQ(nph.status, 200) << nph.head << site.error_log();
    EXPECT_EQ(nph.body, "GET /n?");
}

void check_routing_query_and_forms(const CgiSite& site, unsigned short port)
{
    auto hello = site.request(port, "/app.cgi/");
    ASSERT_EQ(hello.status, 200) << hello.head << hello.body << site.error_log();
    EXPECT_EQ(hello.body, "hello from flask\n");

    auto q = site.request(port, "/app.cgi/query?a=1&b=x%20y&a=2");
    ASSERT_EQ(q.status, 200) << q.head << q.body;
    EXPECT_EQ(q.json()["args"]["a"], nlohmann::json({"1", "2"}));
    EXPECT_EQ(q.json()["args"]["b"], nlohmann::json({"x y"}));
    EXPECT_EQ(q.json()["raw"], "a=1&b=x%20y&a=2");

    auto f = site.request(port, "/app.cgi/form", {"--data", "name=caf%C3%A9&n=1"});
    ASSERT_EQ(f.status, 200) << f.head << f.body << site.error_log();
    EXPECT_EQ(f.json()["form"]["name"], nlohmann::json({"caf\u00e9"}));
    EXPECT_EQ(f.json()["form"]["n"], nlohmann::json({"1"}));
}

void check_large_and_ignored_bodies(const CgiSite& site, unsigned short port)
{
    const std::size_t mib = 1 << 20;
    auto path = large_body(site, mib);
    auto up = site.request(
        port, "/app.cgi/upload",
        {"--data-binary", "@" + path.string(), "-H", "Content-Type: application/octet-stream"});
    ASSERT_EQ(up.status, 200) << up.head << up.body << site.error_log();
    EXPECT_EQ(up.json()["length"], mib);
    EXPECT_EQ(up.json()["sum"], byte_sum(read_file(path)));

    // The app answers 403 without reading 2 MiB: the response must still arrive whole
    // (under mod_cgid an undrained body resets the connection).
    auto big = large_body(site, 2 * mib);
    auto r = site.request(port, "/app.cgi/ignore-body", {"--data-binary", "@" + big.string()});
    EXPECT_EQ(r.status, 403) << r.head << site.error_log();
    EXPECT_EQ(r.body, "forbidden\n");
}

void check_status_codes(const CgiSite& site, unsigned short port)
{
    auto redirect = site.request(port, "/app.cgi/redirect");
    EXPECT_EQ(redirect.status, 302) << redirect.head << site.error_log();
    EXPECT_TRUE(redirect.header("Location").ends_with("/app.cgi/")) << redirect.head;

    // 201 with a Location must not become a local redirect (RFC 3875 §6.2.2 and §6.3.3).
    auto created = site.request(port, "/app.cgi/create", {"--data", ""});
    EXPECT_EQ(created.status, 201) << created.head << site.error_log();
    EXPECT_TRUE(created.header("Location").ends_with("/items/5")) << created.head;
    EXPECT_EQ(created.body, "created\n");

    auto missing = site.request(port, "/app.cgi/no/such/page");
    EXPECT_EQ(missing.status, 404) << missing.head;
    EXPECT_NE(missing.body.find("Not Found"), std::string::npos);
}

void check_non_ascii_path(const CgiSite& site, unsigned short port)
{
    auto r = site.request(port, "/app.cgi/caf%C3%A9");
    ASSERT_EQ(r.status, 200) << r.head << r.body << site.error_log();
    // PEP 3333: PATH_INFO holds the bytes decoded as latin-1 ("cafÃ©"), Flask routes "/café".
    EXPECT_EQ(r.json()["path_info"], "/caf\u00c3\u00a9");
    EXPECT_EQ(r.json()["path"], "/caf\u00e9");
}

void check_failures(const CgiSite& site, unsigned short port)
{
    auto boom = site.request(port, "/app.cgi/boom");
    EXPECT_EQ(boom.status, 500) << boom.head << site.error_log();
    EXPECT_EQ(boom.body.find("secret detail"), std::string::npos) << boom.body;
    EXPECT_EQ(boom.body.find("Traceback"), std::string::npos) << boom.body;

    auto broken = site.request(port, "/broken.cgi");
    EXPECT_EQ(broken.status, 500) << broken.head << site.error_log();
    EXPECT_EQ(broken.body.find("Traceback"), std::string::npos) << broken.body;

    auto printed = site.request(port, "/app.cgi/print");
    EXPECT_EQ(printed.status, 200) << printed.head << site.error_log();
    EXPECT_EQ(printed.body, "printed\n");

    std::string log = site.error_log();
    EXPECT_NE(log.find("secret detail"), std::string::npos) << "traceback goes to the error log\n"
                                                            << log;
    EXPECT_NE(log.find("module_that_does_not_exist_anywhere"), std::string::npos) << log;
    EXPECT_NE(log.find("a stray print"), std::string::npos) << log;
}

void check_environ_and_httpoxy(const CgiSite& site, unsigned short port)
{
    auto r = site.request(port, "/app.cgi/environ?x=1", {"-H", "Proxy: http://evil.example:1"});
    ASSERT_EQ(r.status, 200) << r.head << r.body << site.error_log();
    auto j = r.json();
    EXPECT_EQ(j["environ"]["HTTP_PROXY"], nullptr);
    EXPECT_EQ(j["os_http_proxy"], nullptr);
    EXPECT_EQ(j["environ"]["wsgi.run_once"], true);
    EXPECT_EQ(j["environ"]["wsgi.multithread"], false);
    EXPECT_EQ(j["environ"]["wsgi.multiprocess"], true);
    EXPECT_EQ(j["environ"]["wsgi.url_scheme"], "http");
    EXPECT_EQ(j["environ"]["SCRIPT_NAME"], "/app.cgi");
    EXPECT_EQ(j["environ"]["PATH_INFO"], "/environ");
    EXPECT_EQ(j["environ"]["REQUEST_URI"], "/app.cgi/environ?x=1");
    EXPECT_EQ(j["environ"]["GATEWAY_INTERFACE"], "CGI/1.1");
    EXPECT_EQ(j["has_path"], false) << "the process environment (PATH) stays out of environ";
}

void check_head_and_nph(const CgiSite& site, unsigned short port)
{
    auto head = site.request(port, "/app.cgi/", {"-I"});
    EXPECT_EQ(head.status, 200) << head.head << site.error_log();
    EXPECT_EQ(head.body, "");

    auto nph = site.request(port, "/nph-hello.cgi");
    EXPECT_EQ(nph.status, 200) << nph.head << site.error_log();
    EXPECT_EQ(nph.body, "non-parsed hello\n");
}

} // namespace wsgibridge::test
