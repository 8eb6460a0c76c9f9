// What libwsgibridge.so exports. The library is built with hidden visibility
// (-fvisibility=hidden): only declarations marked WSGIBRIDGE_API are part of its ABI;
// Boost, the interpreter glue and the front ends' internals stay inside the .so.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define WSGIBRIDGE_API __attribute__((visibility("default")))
#else
#define WSGIBRIDGE_API
#endif
