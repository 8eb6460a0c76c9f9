// wsgi-cgi under Apache suEXEC with per-user directories (~user/public_html/cgi-bin), as
// on a shared host. suexec runs the script as the user with an emptied environment (no
// HOME; PATH = AP_SAFE_PATH), so the user's `pip install --user` packages are found
// only through the user database (getpwuid), as `site` finds them for /usr/bin/python3.
// suexec's compiled-in rules (`/usr/lib/apache2/suexec -V`: AP_HTTPD_USER=www-data,
// AP_UID_MIN/AP_GID_MIN=100, AP_USERDIR_SUFFIX=public_html) shape the set-up: a system
// user created here with useradd (uid >= 1000), owning its home under the test's temp
// dir, with script and directories writable by nobody else. Needs root.
#include "cgi_site.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge::test;
namespace fs = std::filesystem;

namespace {

const std::string py_site = "lib/python3.11/site-packages";

/// A user created for the test and removed (with its group) when the test ends.
class TestUser
{
public:
    TestUser(std::string name, const fs::path& home) : name_(std::move(name))
    {
        userdel(); // left over from a killed run
        auto r = shadow_tool({"/usr/sbin/useradd", "--home-dir", home.string(), "--no-create-home",
                              "--shell", "/usr/sbin/nologin", "--user-group", name_});
        created_ = r.exit_code == 0;
        error_ = r.err;
    }
    ~TestUser()
    {
        if (created_) userdel();
    }
    TestUser(const TestUser&) = delete;
    TestUser& operator=(const TestUser&) = delete;
    bool created() const { return created_; }
    const std::string& error() const { return error_; }
    const std::string& name() const { return name_; }

private:
    /// useradd/userdel fail with "cannot lock /etc/passwd; try again later" when another
    /// one holds the lock (the normal and the sanitizer build test at the same time).
    static CommandResult shadow_tool(const std::vector<std::string>& argv)
    {
        CommandResult r;
        for (int i = 0; i < 50; ++i) {
            r = run_command(argv);
            if (r.exit_code == 0 || r.err.find("try again") == std::string::npos) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return r;
    }
    void userdel() { shadow_tool({"/usr/sbin/userdel", name_}); }

    std::string name_;
    bool created_ = false;
    std::string error_;
};

void chown_tree(const fs::path& root, const std::string& user)
{
    auto r = run_command({"/bin/chown", "-R", user + ":" + user, root.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::string suexec_log_tail()
{
    auto text = read_file("/var/log/apache2/suexec.log");
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

} // namespace

TEST(ApacheSuexec, UserSitePackagesAndPthUnderSuexecUserdir)
{
    if (::geteuid() != 0)
        GTEST_FAIL() << "needs root: useradd, and Apache must start as root for suEXEC";
    if (find_program({"/usr/sbin/apache2"}).empty())
        GTEST_FAIL() << "apache2 is not installed (scripts/lib.sh installs it)";
    if (find_program({"/usr/lib/apache2/suexec"}).empty())
        GTEST_FAIL()
            << "no /usr/lib/apache2/suexec: scripts/lib.sh installs apache2-suexec-pristine";

    TempDir dir;
    fs::create_directories(dir / "htdocs");
    const fs::path home = dir / "home";
    TestUser user("wsgisx" + std::to_string(::getpid() % 100000), home);
    ASSERT_TRUE(user.created()) << user.error();

    // ~/.local/lib/python3.11/site-packages: a package, and a .pth naming a directory
    // outside it and running an import line (as `site` does).
    const fs::path user_site = home / ".local" / py_site;
    write_file(user_site / "sxfakepkg/__init__.py", "VALUE = 'user site package'\n");
    write_file(home / "pthdir/sxpthmod.py", "VALUE = 'added by a .pth file'\n");
    write_file(user_site / "sxtest.pth", "# a comment\n" + (home / "pthdir").string() +
                                             "\n"
                                             "import sys; sys.sx_pth_sitedir = sitedir\n");
    // The app and a sibling module in cgi-bin.
    const fs::path cgi_bin = home / "public_html/cgi-bin";
    write_file(cgi_bin / "sxsibling.py", "VALUE = 'sibling'\n");
    write_file(cgi_bin / "app.cgi",
               "#!" + (build_root() / "cli/wsgi-cgi").string() +
                   "\n"
                   "import json, os, pwd, sys\n"
                   "import sxfakepkg, sxpthmod, sxsibling\n"
                   "def application(environ, start_response):\n"
                   "    start_response('200 OK', [('Content-Type', 'application/json')])\n"
                   "    here = os.path.dirname(__file__)\n"
                   "    return [json.dumps({\n"
                   "        'user': pwd.getpwuid(os.getuid()).pw_name,\n"
                   "        'home_env': os.environ.get('HOME'),\n"
                   "        'package': sxfakepkg.VALUE, 'pth': sxpthmod.VALUE,\n"
                   "        'pth_sitedir': getattr(sys, 'sx_pth_sitedir', None),\n"
                   "        'sibling': sxsibling.VALUE,\n"
                   "        'script_dir_entries': sys.path.count(here),\n"
                   "        'path': sys.path}).encode()]\n",
               /*executable=*/true);
    // The same app under /usr/bin/python3 and the standard library's CGIHandler: the
    // behaviour wsgi-cgi must match.
    write_file(cgi_bin / "ref.cgi",
               "#!/usr/bin/python3\n"
               "import sxfakepkg, sxpthmod\n"
               "from wsgiref.handlers import CGIHandler\n"
               "def application(environ, start_response):\n"
               "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
               "    return [(sxfakepkg.VALUE + '|' + sxpthmod.VALUE).encode()]\n"
               "CGIHandler().run(application)\n",
               /*executable=*/true);
    chown_tree(home, user.name());
    for (const auto& p : fs::recursive_directory_iterator(home))
        if (p.is_directory()) fs::permissions(p.path(), fs::perms(0755));
    fs::permissions(home, fs::perms(0755));

    auto port = free_tcp_port();
    auto conf = substitute(read_file(source_root() / "tests/e2e/conf/cgi_apache_suexec.conf.in"),
                           {{"DIR", dir.path().string()},
                            {"PORT", std::to_string(port)},
                            {"HOME", home.string()},
                            {"USERNAME", user.name()}});
    write_file(dir / "httpd.conf", conf);
    SpawnOptions o;
    o.stderr_file = dir / "server-stderr.log";
    ChildProcess server(
        {"/usr/sbin/apache2", "-f", (dir / "httpd.conf").string(), "-D", "FOREGROUND"}, o);
    ASSERT_TRUE(wait_until_serving(server, port))
        << read_file(dir / "server-stderr.log") << read_file(dir / "error.log");
    auto logs = [&] { return read_file(dir / "error.log") + suexec_log_tail(); };
    EXPECT_NE(read_file(dir / "error.log").find("suEXEC mechanism enabled"), std::string::npos)
        << logs();

    const std::string base = "http://127.0.0.1:" + std::to_string(port) + "/~" + user.name();
    auto ref = parse_curl(curl({base + "/cgi-bin/ref.cgi"}));
    EXPECT_EQ(ref.status, 200) << ref.head << ref.body << logs();
    EXPECT_EQ(ref.body, "user site package|added by a .pth file") << logs();

    auto r = parse_curl(curl({base + "/cgi-bin/app.cgi/x"}));
    ASSERT_EQ(r.status, 200) << r.head << r.body << logs();
    auto j = r.json();
    EXPECT_EQ(j["user"], user.name()) << "suexec ran the script as the user";
    EXPECT_TRUE(j["home_env"].is_null()) << "suexec passes no HOME";
    EXPECT_EQ(j["package"], "user site package");
    EXPECT_EQ(j["pth"], "added by a .pth file");
    EXPECT_EQ(j["pth_sitedir"], user_site.string()) << "the .pth import line ran";
    EXPECT_EQ(j["sibling"], "sibling");
    EXPECT_EQ(j["script_dir_entries"], 1) << j["path"].dump();
    server.stop();
}
