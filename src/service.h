#pragma once
// The systemd service protocol through libsystemd: sd_notify (READY=1,
// STATUS=, STOPPING=1, WATCHDOG=1) and the watchdog interval. Every call is
// a no-op when not started by systemd (no NOTIFY_SOCKET).

#include <cstdint>
#include <string>

namespace ringhttpd {

class ServiceNotifier {
 public:
  ServiceNotifier();

  void ready(const std::string& status);
  void status(const std::string& status);
  void stopping();
  void watchdog();
  // 0 when systemd expects no watchdog pings.
  uint64_t watchdog_interval_us() const { return _watchdog_us; }

 private:
  uint64_t _watchdog_us = 0;
};

}  // namespace ringhttpd
