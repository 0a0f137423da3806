#include "src/service.h"

#include <systemd/sd-daemon.h>

namespace ringhttpd {

ServiceNotifier::ServiceNotifier() {
  uint64_t interval = 0;
  if (sd_watchdog_enabled(0, &interval) > 0) {
    _watchdog_us = interval;
  }
}

void ServiceNotifier::ready(const std::string& status) {
  sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
}

void ServiceNotifier::status(const std::string& status) { sd_notify(0, ("STATUS=" + status).c_str()); }

void ServiceNotifier::stopping() { sd_notify(0, "STOPPING=1\nSTATUS=stopping"); }

void ServiceNotifier::watchdog() { sd_notify(0, "WATCHDOG=1"); }

}  // namespace ringhttpd
