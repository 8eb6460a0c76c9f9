// Apache mod_fcgid → wsgi-fcgi started by mod_fcgid (fd 0 mode), through a .fcgi script.
#include "fcgi_common.hpp"

#include <sys/stat.h>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

TEST(FcgiApacheFcgid, WrapperScriptOnFdZero)
{
    auto apache = find_program({"/usr/sbin/apache2"});
    if (apache.empty() || wsgi_fcgi_path().empty() ||
        ::access("/usr/lib/apache2/modules/mod_fcgid.so", R_OK) != 0)
        GTEST_FAIL() << "apache2, mod_fcgid or wsgi-fcgi missing (scripts/lib.sh installs it)";
    TempDir dir;
    auto port = free_tcp_port();
    auto log = dir / "wsgi-fcgi.log";
    write_file(log, "");
    ::chmod(log.c_str(), 0666);
    write_file(dir / "wsgi-app.conf",
               example_with("apache-fcgid/wsgi-app.conf",
                            {{"\"/srv/app/htdocs\"", "\"" + (dir / "htdocs").string() + "\""}}));
    write_file(dir / "htdocs/app.fcgi", example_fcgi_wrapper(log), true);
    ChildProcess server = start_apache(apache, dir.path(), "fcgi_apache_fcgid.conf.in", port);
    ASSERT_TRUE(wait_for_tcp(port)) << apache_logs(dir.path());

    check_http_front(port, "/app.fcgi");

    auto r = curl({"http://127.0.0.1:" + std::to_string(port) + "/app.fcgi/env"});
    EXPECT_NE(r.out.find("SCRIPT_NAME='/app.fcgi'"), std::string::npos)
        << r.out << read_file(dir / "error.log");
    EXPECT_NE(r.out.find("PATH_INFO='/env'"), std::string::npos);
    // fd-0 mode: one thread, mod_fcgid runs several processes
    EXPECT_NE(r.out.find("wsgi.multithread=False"), std::string::npos);
    EXPECT_NE(r.out.find("wsgi.multiprocess=True"), std::string::npos);
    server.stop(15, 5s);
}
