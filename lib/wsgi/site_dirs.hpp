// What the standard `site` module adds to sys.path, for an interpreter started without
// it (wsgi-cgi: importing `site` costs a few ms of every CGI request).
#pragma once

#include "wsgibridge/interpreter.hpp"

namespace wsgibridge::py {

/// GIL held. Appends, in `site`'s order: the user site-packages of the user we run as
/// (when options.user_site, no virtualenv, and the directory exists), then Debian's
/// /usr/local/lib/python3.X/dist-packages and /usr/lib/python3/dist-packages; each
/// followed by the directories its .pth files name. Throws std::runtime_error when
/// sys.path cannot be extended.
void add_site_directories(const PythonOptions& options);

/// The user site-packages `site` would use: <base>/lib/python3.X/site-packages, with
/// <base> = options.user_base, else ~/.local where ~ is $HOME, else the home directory
/// of the real uid in the user database (suexec and most CGI servers pass no HOME).
/// Empty when the process is set-uid or set-gid (site's check_enableusersite).
std::string user_site_packages(const PythonOptions& options);

} // namespace wsgibridge::py
