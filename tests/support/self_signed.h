#pragma once
// Self-signed certificates made in-process with OpenSSL, for the TLS unit
// tests, the TLS fuzz target and the TLS microbenchmarks (the integration
// tests use a test CA and the openssl command instead: tests/integration).

#include <memory>
#include <string>

#include "src/tls/context_set.h"
#include "src/tls/ticket_keys.h"

namespace ringhttpd::test {

struct CertPair {
  std::string cert, key;  // PEM files
};

// A self-signed P-256 certificate for `name` (its CN and DNS name), valid
// for a day, written as DIR/FILE.pem and DIR/FILE.key.
CertPair write_self_signed(const std::string& dir, const std::string& file, const std::string& name);

// The contexts of a fresh self-signed certificate for `name`, its files
// made in a temporary directory and removed once loaded. Aborts with a
// line on stderr if a file cannot be made.
std::shared_ptr<const tls::ContextSet> self_signed_contexts(const std::string& name,
                                                            tls::TicketKeys& keys);

}  // namespace ringhttpd::test
