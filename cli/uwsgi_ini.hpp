// --ini FILE: the common keys of a uWSGI ini file's [uwsgi] section, translated into our
// options, so a uWSGI user can try a program with the file they have. Every other key is
// refused by name: silently ignoring, say, `master` or `enable-threads` would run
// something other than what the file asks for.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wsgibridge::cli {

/// One of our options set by an ini key.
struct IniSetting
{
    std::string key;    ///< the uWSGI key, for error messages ("processes")
    std::string option; ///< our option ("--workers")
    std::string value;
};

/// Reads the [uwsgi] section of `path` (other sections are ignored, as uWSGI does) for
/// `program` (wsgi-http takes http-socket or https, the others socket; one socket key).
/// Throws UsageError naming the file and the key for an unreadable file, a syntax error,
/// an unsupported key or an https field wsgi-http has no option for.
std::vector<IniSetting> read_uwsgi_ini(const std::string& path, std::string_view program);

/// The uWSGI keys read_uwsgi_ini understands, for messages and --help.
std::string_view uwsgi_ini_keys();

} // namespace wsgibridge::cli
