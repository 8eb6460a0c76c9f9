// Apache mod_authnz_fcgi → a standalone wsgi-fcgi in the FastCGI AUTHORIZER role
// (FastCGI 1.0 §6.3): 200 allows, Variable-* headers are exported to the request, the authorizer's
// body is discarded; the protected application is the same wsgi-fcgi behind
// mod_proxy_fcgi. mod_authnz_fcgi sends no FCGI_STDIN at all to an authorizer.
#include "fcgi_common.hpp"

#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {
const char* app_text = R"(def application(environ, start_response):
    if environ.get("FCGI_ROLE") == "AUTHORIZER":
        # authentication (REMOTE_PASSWD given) and authorization in one provider
        user, password = environ.get("REMOTE_USER"), environ.get("REMOTE_PASSWD")
        if user == "bob" and password in (None, "secret"):
            start_response("200 OK", [("Content-Type", "text/plain"),
                                      ("Variable-AUTHZ_USER", "bob")])
            return [b"authorizer body, discarded\n"]
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"denied\n"]
    body = "".join("%s=%s\n" % (k, environ.get(k))
                   for k in ("FCGI_ROLE", "AUTHZ_USER", "REMOTE_USER", "PATH_INFO"))
    body += "body=%s\n" % environ["wsgi.input"].read().decode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
)";
} // namespace

TEST(FcgiApacheAuthnz, AuthorizerRoleAllowsDeniesAndExportsVariables)
{
    auto apache = find_program({"/usr/sbin/apache2"});
    if (apache.empty() || wsgi_fcgi_path().empty() ||
        ::access("/usr/lib/apache2/modules/mod_authnz_fcgi.so", R_OK) != 0 ||
        ::access("/usr/lib/apache2/modules/mod_proxy_fcgi.so", R_OK) != 0)
        GTEST_FAIL() << "apache2, mod_authnz_fcgi, mod_proxy_fcgi or wsgi-fcgi missing "
                        "(scripts/lib.sh installs it)";
    TempDir dir;
    write_file(dir / "app.py", app_text);
    auto fcgi_port = free_tcp_port();
    auto log = dir / "wsgi-fcgi.log";
    SpawnOptions fo;
    fo.stderr_file = log;
    ChildProcess app({wsgi_fcgi_path(), "--allow-root", "--app", (dir / "app.py").string(),
                      "--bind", "127.0.0.1:" + std::to_string(fcgi_port), "--mount", "/app"},
                     fo);
    ASSERT_TRUE(wait_for_tcp(fcgi_port)) << read_file(log);
    auto port = free_tcp_port();
    ChildProcess server = start_apache(apache, dir.path(), "fcgi_apache_authnz.conf.in", port,
                                       {{"FCGI_PORT", std::to_string(fcgi_port)}});
    ASSERT_TRUE(wait_for_tcp(port)) << apache_logs(dir.path());
    std::string url = "http://127.0.0.1:" + std::to_string(port) + "/app/env";

    auto ok = curl({"-u", "bob:secret", url}, 8s);
    EXPECT_NE(ok.out.find("HTTP/1.1 200 OK"), std::string::npos)
        << ok.out << read_file(dir / "error.log") << read_file(log);
    EXPECT_NE(ok.out.find("AUTHZ_USER=bob\n"), std::string::npos) << "Variable-AUTHZ_USER exported";
    EXPECT_NE(ok.out.find("FCGI_ROLE=RESPONDER\n"), std::string::npos) << ok.out;
    EXPECT_NE(ok.out.find("REMOTE_USER=bob\n"), std::string::npos) << ok.out;
    EXPECT_EQ(ok.out.find("authorizer body"), std::string::npos) << "discarded: " << ok.out;

    // The protected request's own body still reaches the application.
    auto post = curl({"-u", "bob:secret", "--data-binary", "payload", url}, 8s);
    EXPECT_NE(post.out.find("body=payload\n"), std::string::npos) << post.out;

    auto denied = curl({"-u", "bob:wrong", url}, 8s);
    EXPECT_NE(denied.out.find("HTTP/1.1 401"), std::string::npos) << denied.out;
    EXPECT_EQ(denied.out.find("AUTHZ_USER"), std::string::npos) << denied.out;
    auto anonymous = curl({url}, 8s);
    EXPECT_NE(anonymous.out.find("HTTP/1.1 401"), std::string::npos) << anonymous.out;
    EXPECT_EQ(read_file(dir / "error.log").find("AH02497"), std::string::npos)
        << "Apache could not read the authorizer's answer: " << read_file(dir / "error.log");
    server.stop(15, 5s);
}
