// wsgi-cgi: runs a WSGI application as a CGI script, one request per process.
//
//   Shebang mode: app.cgi starts with "#!/usr/bin/wsgi-cgi" and defines `application`;
//   the server runs "wsgi-cgi /path/app.cgi" and the file is the application.
//   Wrapper mode: a script runs "exec wsgi-cgi --app module:app".
//
// Every request pays the start-up, so nothing is done that the request does not need:
// no `site` module (the user's and Debian's package directories are added directly), byte code
// cached, and the response is closed before the interpreter is finalised.
#include "options.hpp"
#include "wsgibridge/cgi_gateway.hpp"
#include "wsgibridge/wsgi_app.hpp"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <system_error>
#include <unistd.h>

using namespace wsgibridge;

namespace {

constexpr const char* local_test_help =
    "wsgi-cgi serves one CGI request described by its environment, but REQUEST_METHOD is\n"
    "not set: this is not a CGI request. To try the application from a terminal:\n"
    "  REQUEST_METHOD=GET PATH_INFO=/ QUERY_STRING='a=1' wsgi-cgi app.cgi\n"
    "  printf 'x=1' | REQUEST_METHOD=POST CONTENT_LENGTH=3 \\\n"
    "      CONTENT_TYPE=application/x-www-form-urlencoded wsgi-cgi --app app.py\n\n";

struct Settings
{
    cli::CommonOptions common;
    CgiOptions cgi;
};

// The kernel passes everything after the interpreter on a shebang line as one argument
// ("#!/usr/bin/wsgi-cgi --max-body 10M" gives argv[1] = "--max-body 10M"): split it.
std::vector<std::string> shebang_split(int argc, char** argv)
{
    std::vector<std::string> args{argv, argv + argc};
    if (argc >= 3 && args[1].starts_with("--") && args[1].find(' ') != std::string::npos) {
        std::vector<std::string> split{args[0]};
        std::string word;
        for (char c : args[1] + ' ') {
            if (c != ' ' && c != '\t')
                word += c;
            else if (!word.empty())
                split.push_back(std::move(word)), word.clear();
        }
        split.insert(split.end(), args.begin() + 2, args.end());
        return split;
    }
    return args;
}

// In a CGI request the argument list ends at the script: Apache appends the words of a
// query string without '=' (RFC 3875 §4.4, "?--app%3Dx" becomes "--app=x"), so nothing
// after the first positional argument may be read as an option.
std::vector<std::string> trusted_arguments(std::vector<std::string> args, bool cgi_request)
{
    if (!cgi_request) return args;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (!args[i].starts_with("--")) {
            args.resize(i + 1);
            break;
        }
        // An option's value is the next argument unless it is written --name=value.
        if (args[i].find('=') == std::string::npos && args[i] != "--nph" &&
            args[i] != "--promote-redirect-authorization")
            ++i;
    }
    return args;
}

void add_cgi_options(cli::ArgParser& p, Settings& s)
{
    cli::add_common_options(p, s.common, /*with_access_log=*/false);
    cli::add_limit_options(p, s.common.limits);
    p.flag("--nph",
           "non-parsed headers: write the HTTP status line, Date and Connection "
           "(also on when the script name starts with nph-)",
           [&s] { s.cgi.nph = true; });
    p.flag(
        "--promote-redirect-authorization",
        "pass REDIRECT_HTTP_AUTHORIZATION (Apache rewrite workaround) as the Authorization header",
        [&s] { s.cgi.promote_redirect_authorization = true; });
    p.option("--pass-env", "NAME",
             "also pass the environment variable NAME (or NAME* prefix) to "
             "the application's environ (repeatable)",
             [&s](std::string_view v) { s.cgi.pass_env.emplace_back(v); });
}

// WSGI_CGI_PYTHONPATH (':'-separated) and WSGI_CGI_VIRTUALENV, for shebang scripts that
// cannot take more than one argument (set them with Apache's SetEnv).
void options_from_environment(cli::CommonOptions& o)
{
    if (const char* path = std::getenv("WSGI_CGI_PYTHONPATH")) {
        std::string_view rest = path;
        while (!rest.empty()) {
            auto colon = rest.find(':');
            if (colon != 0) o.python_path.emplace_back(rest.substr(0, colon));
            if (colon == std::string_view::npos) break;
            rest.remove_prefix(colon + 1);
        }
    }
    if (const char* venv = std::getenv("WSGI_CGI_VIRTUALENV"); venv && o.virtualenv.empty())
        o.virtualenv = venv;
}

int serve(Settings& s, const std::vector<std::string>& positionals)
{
    std::string spec_text = s.common.app;
    if (spec_text.empty() && !positionals.empty()) {
        // Shebang mode: the script is the app, and its name may ask for NPH (nph-*).
        spec_text = positionals.front();
        s.cgi.script_path = spec_text;
    }
    Logger log = cli::open_error_log(s.common);
    // fd 1 belongs to the response: print() and children must not write there (RFC 3875 §6.1:
    // stdout is the response).
    if (auto ec = prepare_cgi_process(s.cgi))
        throw std::system_error(ec, "cannot set up stdin/stdout");
    if (spec_text.empty()) {
        log.error("no application: run wsgi-cgi as the #! line of the app file, or give --app");
        return answer_cgi_error(s.cgi, 500, log) == 0 ? 3 : 1;
    }
    auto spec = AppSpec::parse(spec_text);
    if (!spec) {
        log.error(concat("bad application spec '", spec_text, "': ", spec.error().message()));
        return answer_cgi_error(s.cgi, 500, log) == 0 ? 3 : 1;
    }
    PythonOptions py = cli::prepare_python(s.common);
    py.program_name = "wsgi-cgi";
    py.import_site = false;
    // What `site` gives `python3` on a shared host: the user's `pip install --user`
    // packages. The interpreter is isolated (PYTHONUSERBASE is not read, as no PYTHON*
    // variable is); WSGI_CGI_PYTHONUSERBASE moves the base like WSGI_CGI_PYTHONPATH.
    py.user_site = true;
    if (const char* base = std::getenv("WSGI_CGI_PYTHONUSERBASE"); base && *base)
        py.user_base = base;
    py.write_bytecode = true;
    std::optional<Interpreter> interpreter;
    std::optional<WsgiApp> app;
    try {
        interpreter.emplace(py);
        WsgiOptions w;
        w.multithread = false;
        w.multiprocess = true;
        w.run_once = true;
        w.redirect_stdout = true;
        app.emplace(*interpreter, *spec, w, log);
    } catch (const std::exception& e) {
        // The traceback is in the error log already; the client gets a short 500.
        log.error(concat("cannot load the application ", spec_text, ": ", e.what()));
        int rc = answer_cgi_error(s.cgi, 500, log);
        ::close(s.cgi.output_fd);
        return rc == 0 ? 3 : 1;
    }
    int rc = run_cgi(s.cgi, *app, log);
    // The response ends when stdout closes, not when the interpreter has finalised.
    ::close(s.cgi.output_fd);
    // The web server reaps us before it takes the next request on some setups (mod_cgid
    // waits for the exit): skip the interpreter's teardown, keep its atexit callbacks.
    interpreter->exit_process(rc);
}

} // namespace

int main(int argc, char** argv)
{
    // httpoxy: before the interpreter (os.environ) or any child can see it.
    scrub_cgi_environment();
    bool cgi_request = cgi_request_present();
    auto args = trusted_arguments(shebang_split(argc, argv), cgi_request);
    std::vector<char*> cargs;
    for (auto& a : args)
        cargs.push_back(a.data());

    Settings s;
    cli::ArgParser parser("wsgi-cgi", "Serve one CGI request with a Python WSGI application.\n"
                                      "usage in a script: #!/usr/bin/wsgi-cgi as the first line "
                                      "of the app file, or exec wsgi-cgi --app SPEC");
    add_cgi_options(parser, s);
    return cli::run_main(parser, [&] {
        if (cgi_request) {
            // A broken #! line must still answer the client, not leave it a bare 500.
            try {
                parser.parse(static_cast<int>(cargs.size()), cargs.data());
            } catch (const cli::UsageError& e) {
                Logger log;
                log.error(concat("bad wsgi-cgi arguments: ", e.what()));
                return answer_cgi_error(s.cgi, 500, log) == 0 ? 2 : 1;
            }
        } else if (!parser.parse(static_cast<int>(cargs.size()), cargs.data())) {
            return 0;
        }
        if (!cgi_request) {
            std::fputs(local_test_help, stderr);
            std::fputs(parser.usage().c_str(), stderr);
            return 2;
        }
        options_from_environment(s.common);
        s.cgi.limits = s.common.limits;
        return serve(s, parser.positionals());
    });
}
