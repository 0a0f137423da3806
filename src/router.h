#pragma once
// From a parsed request to what answers it: a status (framing, method,
// path), OPTIONS, an endpoint, or a file path for the resolver. Also keeps
// the connection in step: the keep-alive decision, --keepalive-requests,
// and the request body to skip.

#include <cstdint>

#include "conf/config.h"
#include "conf/vhost_table.h"
#include "src/connection.h"

namespace ringhttpd {

enum class RouteKind : uint8_t {
  status,   // answer `status` with its small body
  options,  // 204 with Allow
  health,   // --health-path
  metrics,  // --metrics-path, the client allowed
  file,     // resolve the path written into scratch (exchange.resolve)
};

struct Route {
  RouteKind kind = RouteKind::status;
  uint16_t status = 0;
};

class Router {
 public:
  Router(const Config& config, const VhostTable* vhosts) : _config(config), _vhosts(vhosts) {}

  // The vhost table's newest listing (a copy, so requests never lock).
  void refresh_hosts();
  Route route(Connection& connection, bool stopping);

 private:
  Route route_file(Exchange& exchange);
  std::string_view host_directory_for(const Request& request, char* buffer) const;

  const Config& _config;
  const VhostTable* _vhosts;  // --vhosts, else null
  HostListing _hosts;
  uint64_t _hosts_version = UINT64_MAX;
};

}  // namespace ringhttpd
