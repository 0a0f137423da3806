#pragma once
// The process's TLS: the ticket keys, the contexts every worker's
// handshakes start from (loaded at start, loaded again on SIGHUP), and
// whether records can go to the kernel. Workers read the current contexts
// on their tick when the version moved; a connection keeps the contexts
// it started with, so a reload drops none.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "conf/config.h"
#include "src/tls/context_set.h"
#include "src/tls/ticket_keys.h"

namespace ringhttpd {

// Where a connection's records are sealed, once its handshake is done.
enum class RecordSealing : uint8_t {
  user,    // in user space (src/tls/record_sealer.h), file bytes read into records
  kernel,  // by the kernel's tls ULP: file bytes spliced, as for cleartext
};

class TlsContexts {
 public:
  explicit TlsContexts(const Config& config);
  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;

  // At start: loads every pair and runs the self-test. Throws
  // tls::CredentialError (a file: exit 2) or std::runtime_error (OpenSSL
  // cannot serve: exit 1), each one line.
  void load();
  // SIGHUP: the pairs read again. A bad new pair keeps the old set; the
  // line says why. Returns the line to log.
  std::string reload();

  std::shared_ptr<const tls::ContextSet> current() const;
  std::shared_ptr<const tls::ContextSet> current(uint64_t& version) const;
  uint64_t version() const { return _version.load(std::memory_order_acquire); }

  // kTLS: the kernel takes records (its tls ULP answers), and --ktls allows it.
  bool kernel_records() const { return _kernel_records; }
  // One line for the start-up and --check: the pairs, and where records are
  // sealed and why.
  std::string describe() const;

 private:
  std::shared_ptr<const tls::ContextSet> load_set();

  const Config& _config;
  tls::TicketKeys _keys;
  mutable std::mutex _mutex;
  std::shared_ptr<const tls::ContextSet> _current;
  std::atomic<uint64_t> _version{0};
  bool _kernel_records = false;
  std::string _kernel_reason;  // why records are not the kernel's
};

// Whether this kernel's TCP sockets take the tls ULP and a TLS 1.3
// AES-GCM key: "" when they do, else why not.
std::string probe_kernel_tls();

}  // namespace ringhttpd
