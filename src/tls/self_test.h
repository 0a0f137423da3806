#pragma once
// What start-up (and --check) proves before a TLS listener opens: the
// installed OpenSSL hands a session's write keys to its BIO (session.h),
// for TLS 1.2 and 1.3, and records sealed with them decrypt on OpenSSL's
// own client. Both sides in memory; nothing touches the network.

#include <memory>
#include <string>

#include "src/tls/context_set.h"

namespace ringhttpd::tls {

// Empty when all is well, else one line saying what is wrong.
std::string self_test(const std::shared_ptr<const ContextSet>& contexts);

}  // namespace ringhttpd::tls
