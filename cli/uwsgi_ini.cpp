#include "uwsgi_ini.hpp"

#include "options.hpp"

#include <array>
#include <boost/program_options.hpp>
#include <fstream>
#include <optional>
#include <sstream>

namespace wsgibridge::cli {
namespace po = boost::program_options;

namespace {

// uWSGI key -> our option; the value passes through unchanged (both count seconds,
// megabytes and bytes the same way). socket, http-socket, module, wsgi-file, callable and
// mount are translated below.
struct Direct
{
    const char* key;
    const char* option;
};
constexpr std::array direct_keys{
    Direct{"chdir", "--chdir"},
    Direct{"pythonpath", "--pythonpath"},
    Direct{"virtualenv", "--virtualenv"},
    Direct{"home", "--virtualenv"}, // uWSGI's aliases of virtualenv
    Direct{"venv", "--virtualenv"},
    Direct{"processes", "--workers"},
    Direct{"workers", "--workers"}, // uWSGI's alias of processes
    Direct{"threads", "--threads"},
    Direct{"harakiri", "--timeout"},
    Direct{"max-requests", "--max-requests"},
    Direct{"reload-on-rss", "--reload-on-rss"},
    Direct{"buffer-size", "--max-header-bytes"},
    Direct{"uid", "--user"}, // uWSGI's uid/gid take a name or a number, as ours do
    Direct{"gid", "--group"},
};
constexpr std::array special_keys{"socket", "http-socket", "https",    "https-socket",
                                  "module", "wsgi-file",   "callable", "mount"};

/// "a,b,,c" -> {"a", "b", "", "c"}.
std::vector<std::string> split_commas(std::string_view text)
{
    std::vector<std::string> fields;
    for (;;) {
        auto comma = text.find(',');
        fields.emplace_back(text.substr(0, comma));
        if (comma == std::string_view::npos) return fields;
        text.remove_prefix(comma + 1);
    }
}

// uWSGI comments are whole lines starting with ';' or '#' (Program_options only knows '#').
std::string without_comment_lines(std::istream& in)
{
    std::string text, line;
    while (std::getline(in, line)) {
        auto first = line.find_first_not_of(" \t");
        if (first != std::string::npos && (line[first] == ';' || line[first] == '#')) line.clear();
        text += line + '\n';
    }
    return text;
}

} // namespace

std::string_view uwsgi_ini_keys()
{
    return "socket, http-socket, https (https-socket), module, wsgi-file, callable, mount, "
           "chdir, pythonpath, virtualenv (home, venv), processes (workers), threads, "
           "harakiri, max-requests, reload-on-rss, buffer-size, uid, gid";
}

std::vector<IniSetting> read_uwsgi_ini(const std::string& path, std::string_view program)
{
    std::ifstream file(path);
    if (!file) throw UsageError(concat("--ini ", path, ": cannot read the file"));
    std::istringstream text(without_comment_lines(file));

    po::options_description table;
    for (const auto& d : direct_keys)
        table.add_options()((std::string("uwsgi.") + d.key).c_str(), po::value<std::string>());
    for (const char* key : special_keys)
        table.add_options()((std::string("uwsgi.") + key).c_str(), po::value<std::string>());
    std::vector<po::option> options;
    try {
        options = po::parse_config_file(text, table, /*allow_unregistered=*/true).options;
    } catch (const po::error& e) {
        throw UsageError(concat("--ini ", path, ": ", e.what()));
    }

    std::vector<IniSetting> out;
    std::optional<std::string> module, wsgi_file, callable, mount;
    std::string socket_key; ///< the key that named the socket
    bool http = program == "wsgi-http";
    for (const auto& o : options) {
        if (!o.string_key.starts_with("uwsgi.")) continue; // uWSGI reads [uwsgi] only
        std::string key = o.string_key.substr(6);
        const std::string value = o.value.empty() ? std::string() : o.value.front();
        auto unsupported = [&](std::string_view why) {
            return UsageError(concat("--ini ", path, ": [uwsgi] ", key, " ", why));
        };
        if (o.unregistered)
            throw unsupported(concat("is not supported; wsgi-bridge reads ", uwsgi_ini_keys()));
        bool names_socket = key == "socket" || key.starts_with("http"); // http(s)-socket, https
        if (names_socket && program == "wsgi-cgi")
            throw unsupported("names a socket: wsgi-cgi serves the one CGI request it is "
                              "started for and binds none");
        if (names_socket && !socket_key.empty())
            throw unsupported(concat("and ", socket_key,
                                     " both name a socket: a program serves one (HTTP or "
                                     "HTTPS); run one program per socket"));
        if (names_socket) socket_key = key;
        if (key == "socket") {
            // uWSGI's socket speaks the uwsgi protocol; our protocol programs bind it.
            if (http)
                throw unsupported("is a uwsgi-protocol socket: wsgi-http takes http-socket "
                                  "(or run wsgi-uwsgi)");
            out.push_back({key, "--bind", value});
        } else if (key == "http-socket") {
            if (!http) throw unsupported(concat("is wsgi-http's; ", program, " takes socket"));
            out.push_back({key, "--bind", value});
        } else if (key == "https" || key == "https-socket") {
            // uWSGI's ADDRESS,CERT,KEY[,CIPHERS[,CLIENT_CA]] (its HTTPS router and its
            // native HTTPS socket take the same value): wsgi-http serves TLS itself.
            if (!http) throw unsupported(concat("is wsgi-http's; ", program, " takes socket"));
            auto fields = split_commas(value);
            if (fields.size() < 2 || fields[0].empty() || fields[1].empty())
                throw unsupported(concat("= '", value,
                                         "': expected ADDRESS,CERT,KEY (uWSGI's form; KEY may "
                                         "be left out when CERT holds the key)"));
            if (fields[0].starts_with('='))
                throw unsupported(concat("= ", fields[0],
                                         ",...: a shared-socket number, which wsgi-bridge does "
                                         "not read; give the address (wsgi-http binds it as "
                                         "root, before uid drops privileges)"));
            if (fields.size() > 3 && !fields[3].empty())
                throw unsupported(
                    concat("ciphers '", fields[3],
                           "': wsgi-http has no cipher option (TLS 1.2 and 1.3 with OpenSSL's "
                           "default cipher list); remove the fourth field"));
            if (fields.size() > 4 && !fields[4].empty())
                throw unsupported(concat("client CA '", fields[4],
                                         "': wsgi-http does not verify client certificates; "
                                         "remove the fifth field"));
            if (fields.size() > 5)
                throw unsupported(concat("= '", value, "': more fields than uWSGI's five"));
            out.push_back({key, "--bind", fields[0]});
            out.push_back({key, "--certfile", fields[1]});
            if (fields.size() > 2 && !fields[2].empty())
                out.push_back({key, "--keyfile", fields[2]});
        } else if (key == "module") {
            module = value;
        } else if (key == "wsgi-file") {
            wsgi_file = value;
        } else if (key == "callable") {
            callable = value;
        } else if (key == "mount") {
            if (mount) throw unsupported("is given twice: one application per program");
            mount = value;
        } else {
            for (const auto& d : direct_keys)
                if (key == d.key) out.push_back({key, d.option, value});
        }
    }

    // module = pkg.mod[:callable], wsgi-file = app.py, mount = /prefix=app: one application.
    std::optional<std::string> app;
    std::string app_key;
    auto set_app = [&](std::string_view key, const std::string& spec) {
        if (app)
            throw UsageError(concat("--ini ", path, ": [uwsgi] ", app_key, " and ", key,
                                    " both name the application; one program serves one"));
        app = spec;
        app_key = key;
    };
    if (module) set_app("module", *module);
    if (wsgi_file) set_app("wsgi-file", *wsgi_file);
    if (mount) {
        auto eq = mount->find('=');
        if (eq == std::string::npos || eq == 0 || !mount->starts_with("/"))
            throw UsageError(concat("--ini ", path, ": [uwsgi] mount: expected /prefix=app, got '",
                                    *mount, "'"));
        set_app("mount", mount->substr(eq + 1));
        out.push_back({"mount", "--mount", mount->substr(0, eq)});
    }
    if (callable && !app)
        throw UsageError(
            concat("--ini ", path, ": [uwsgi] callable needs module, wsgi-file or mount"));
    if (app) {
        if (callable && app->find(':') == std::string::npos) *app += ":" + *callable;
        out.push_back({app_key, "--app", *app});
    }
    return out;
}

} // namespace wsgibridge::cli
