// Interpreter configuration (lib/wsgi/interpreter.cpp). One interpreter per process,
// so this executable has its own main and runs once per mode (tests/unit/wsgi/
// meson.build): WSGIBRIDGE_INTERP_MODE=nosite (the CGI fast start: no `site`, Debian's
// dist-packages added by us) or venv (site on, a virtualenv, stdout redirected).
#include "memory_sink.hpp"
#include "process.hpp"
#include "wsgibridge/wsgi_app.hpp"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <memory>
#include <nlohmann/json.hpp>

namespace wsgibridge::test {
namespace {

std::string mode;
Interpreter* the_interpreter = nullptr;
std::filesystem::path venv_dir, extra_dir;

std::filesystem::path apps()
{
    return source_root() / "tests" / "apps";
}

nlohmann::json sysinfo(const std::string& query = "", WsgiOptions options = {})
{
    LogCapture log;
    auto spec = AppSpec::parse("sysinfo");
    WsgiApp app(*the_interpreter, *spec, options, log.logger());
    RequestBuilder rb("GET", "/?" + query);
    MemoryBody body;
    MemorySink sink;
    app.handle(rb.request(), body, sink);
    EXPECT_EQ(sink.status_code, 200) << log.text();
    return nlohmann::json::parse(sink.body);
}

std::ptrdiff_t index_of(const nlohmann::json& path, const std::string& dir)
{
    for (std::size_t i = 0; i < path.size(); ++i)
        if (path[i] == dir) return static_cast<std::ptrdiff_t>(i);
    return -1;
}

TEST(Interpreter, IsolatedFromTheEnvironment)
{
    auto info = sysinfo();
    EXPECT_EQ(info["isolated"], 1);
    EXPECT_EQ(info["ignore_environment"], 1);
    EXPECT_EQ(index_of(info["path"], "/bogus/from/PYTHONPATH"), -1) << "PYTHONPATH is ignored";
    // PYTHONDONTWRITEBYTECODE=1 is set in the test environment: ignored on purpose.
    EXPECT_EQ(info["dont_write_bytecode"], mode == "nosite");
    EXPECT_EQ(info["version"], "3.11");
    EXPECT_EQ(info["executable"], "/usr/bin/python3.11") << "for multiprocessing and subprocess";
    // UTF-8 whatever LANG says (tests run with LANG unset or C): open() of a UTF-8
    // template must not raise UnicodeDecodeError.
    EXPECT_EQ(info["utf8_mode"], 1);
    EXPECT_EQ(info["fs_encoding"], "utf-8");
    EXPECT_EQ(info["open_encoding"], "utf-8");
}

TEST(Interpreter, PathOrder)
{
    auto info = sysinfo();
    auto path = info["path"];
    EXPECT_EQ(path[0], apps().string()) << "--pythonpath first";
    EXPECT_EQ(path[1], info["cwd"]) << "then the current directory (module:app in cwd)";
}

TEST(Interpreter, OnlyOne)
{
    EXPECT_THROW(Interpreter(PythonOptions{}), std::runtime_error);
}

TEST(Interpreter, NoSiteStillFindsDebianPackages)
{
    if (mode != "nosite") GTEST_SKIP() << "nosite mode only";
    // markupsafe (python3-markupsafe, pulled in by python3-flask): importing flask itself
    // loads OpenSSL, whose allocations LeakSanitizer reports at exit.
    auto info = sysinfo("import=json,markupsafe");
    EXPECT_EQ(info["site_imported"], false);
    EXPECT_NE(index_of(info["path"], "/usr/lib/python3/dist-packages"), -1);
    EXPECT_EQ(info["imports"]["json"].get<std::string>().find("error"), std::string::npos);
    EXPECT_EQ(info["imports"]["markupsafe"].get<std::string>().rfind(
                  "/usr/lib/python3/dist-packages/markupsafe", 0),
              0u)
        << info["imports"]["markupsafe"];
}

TEST(Interpreter, VirtualenvAndSite)
{
    if (mode != "venv") GTEST_SKIP() << "venv mode only";
    auto info = sysinfo("import=venv_only_module,pth_only_module");
    EXPECT_EQ(info["site_imported"], true);
    auto site_packages = (venv_dir / "lib/python3.11/site-packages").string();
    auto at = index_of(info["path"], site_packages);
    ASSERT_NE(at, -1) << info["path"];
    auto system = index_of(info["path"], "/usr/lib/python3/dist-packages");
    if (system != -1) {
        EXPECT_LT(at, system) << "the virtualenv wins over system packages";
    }
    EXPECT_EQ(info["imports"]["venv_only_module"], site_packages + "/venv_only_module.py");
    EXPECT_EQ(info["imports"]["pth_only_module"], (extra_dir / "pth_only_module.py").string())
        << "the virtualenv's .pth files are processed";
}

TEST(Interpreter, RedirectStdout)
{
    if (mode != "venv") GTEST_SKIP() << "venv mode only (it changes sys.stdout for good)";
    WsgiOptions options;
    options.redirect_stdout = true;
    EXPECT_EQ(sysinfo("", options)["stdout_is_stderr"], true);
}

} // namespace
} // namespace wsgibridge::test

int main(int argc, char** argv)
{
    using namespace wsgibridge::test;
    ::testing::InitGoogleTest(&argc, argv);
    const char* m = std::getenv("WSGIBRIDGE_INTERP_MODE");
    mode = m ? m : "nosite";
    ::setenv("PYTHONPATH", "/bogus/from/PYTHONPATH", 1);

    TempDir tmp;
    wsgibridge::PythonOptions options;
    // Relative on purpose: it becomes absolute on sys.path.
    options.python_path.push_back(std::filesystem::relative(apps()).string());
    if (mode == "nosite") {
        options.import_site = false;
        options.write_bytecode = false;
    } else {
        venv_dir = tmp / "venv";
        extra_dir = tmp / "extra";
        auto sp = venv_dir / "lib/python3.11/site-packages";
        std::filesystem::create_directories(sp);
        std::filesystem::create_directories(extra_dir);
        write_file(sp / "venv_only_module.py", "X = 1\n");
        write_file(sp / "extra.pth", extra_dir.string() + "\n");
        write_file(extra_dir / "pth_only_module.py", "Y = 2\n");
        options.virtualenv = venv_dir.string();
        options.write_bytecode = true; // into the temp dir only
    }
    auto interpreter = std::make_unique<wsgibridge::Interpreter>(options);
    the_interpreter = interpreter.get();
    int status = RUN_ALL_TESTS();
    interpreter.reset();
    return status;
}
