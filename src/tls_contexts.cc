#include "src/tls_contexts.h"

#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "src/tls/self_test.h"

namespace ringhttpd {
namespace {

// A ticket key encrypts new tickets this long, then only opens old ones for
// as long again (src/tls/ticket_keys.h).
constexpr std::chrono::hours ticket_key_lifetime{1};

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) {
      close(fd);
    }
  }
};

}  // namespace

std::string probe_kernel_tls() {
  Fd listener{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener.fd < 0 || bind(listener.fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listener.fd, 1) != 0 ||
      getsockname(listener.fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return std::string("cannot probe it: a loopback socket: ") + std::strerror(errno);
  }
  Fd client{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (client.fd < 0 || connect(client.fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    return std::string("cannot probe it: a loopback connection: ") + std::strerror(errno);
  }
  Fd accepted{accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC)};
  if (setsockopt(accepted.fd, SOL_TCP, TCP_ULP, "tls", sizeof "tls") != 0) {
    return std::string("the kernel has no tls ULP (setsockopt TCP_ULP: ") + std::strerror(errno) + ")";
  }
  tls12_crypto_info_aes_gcm_128 keys{};
  keys.info.version = TLS_1_3_VERSION;
  keys.info.cipher_type = TLS_CIPHER_AES_GCM_128;
  if (setsockopt(accepted.fd, SOL_TLS, TLS_TX, &keys, sizeof keys) != 0) {
    return std::string("the kernel's tls ULP refuses a TLS 1.3 AES-GCM key (") + std::strerror(errno) + ")";
  }
  return "";
}

TlsContexts::TlsContexts(const Config& config) : _config(config), _keys(ticket_key_lifetime) {}

std::shared_ptr<const tls::ContextSet> TlsContexts::load_set() {
  return tls::ContextSet::load({_config.tls_cert, _config.tls_key, _config.tls_dir}, _keys);
}

void TlsContexts::load() {
  std::shared_ptr<const tls::ContextSet> set = load_set();
  if (std::string problem = tls::self_test(set); !problem.empty()) {
    throw std::runtime_error(problem);
  }
  {
    std::lock_guard lock(_mutex);
    _current = std::move(set);
  }
  _version.fetch_add(1, std::memory_order_release);
  if (!_config.ktls) {
    _kernel_reason = "--ktls off";
  } else {
    _kernel_reason = probe_kernel_tls();
  }
  _kernel_records = _kernel_reason.empty();
}

std::string TlsContexts::reload() {
  std::shared_ptr<const tls::ContextSet> set;
  try {
    set = load_set();
  } catch (const std::exception& error) {
    return std::string(error.what()) + "; keeping the certificates in use";
  }
  size_t hosts = set->host_count();
  {
    std::lock_guard lock(_mutex);
    _current = std::move(set);
  }
  _version.fetch_add(1, std::memory_order_release);
  return "ringhttpd: TLS: certificates reloaded (" + std::to_string(hosts + 1) + " pairs)";
}

std::shared_ptr<const tls::ContextSet> TlsContexts::current() const {
  std::lock_guard lock(_mutex);
  return _current;
}

std::shared_ptr<const tls::ContextSet> TlsContexts::current(uint64_t& version) const {
  std::lock_guard lock(_mutex);
  version = _version.load(std::memory_order_acquire);
  return _current;
}

std::string TlsContexts::describe() const {
  std::shared_ptr<const tls::ContextSet> set = current();
  std::string text = "TLS 1.2 and 1.3, " + std::to_string(set->host_count() + 1) + " certificate pair" +
                     (set->host_count() > 0 ? "s" : "") + "; records sealed ";
  if (_kernel_records) {
    text += "by the kernel (kTLS)";
  } else {
    text += "in user space (kTLS off: " + _kernel_reason + ")";
  }
  return text;
}

}  // namespace ringhttpd
