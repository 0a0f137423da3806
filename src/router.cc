#include "src/router.h"

#include <cstring>

#include "src/endpoints.h"
#include "src/http/path.h"

namespace ringhttpd {
namespace {

// Room kept after the path in scratch for an --index name (validated at
// most 255 bytes) or a precompressed suffix.
constexpr size_t max_index_name_bytes = 256;

constexpr Route answer(uint16_t status) { return {RouteKind::status, status}; }

}  // namespace

void Router::refresh_hosts() {
  if (_vhosts != nullptr && _vhosts->version() != _hosts_version) {
    _hosts_version = _vhosts->version();
    _hosts = _vhosts->listing();
  }
}

Route Router::route(Connection& connection, bool stopping) {
  Exchange& exchange = *connection.exchange;
  const Request& request = exchange.request;
  // --keepalive-requests: the last one says "Connection: close"; a request
  // already pipelined behind it stays unanswered, as RFC 9112 9.6 allows
  // (the client sees the close and retries it on a new connection).
  ++connection.requests_started;
  bool last_allowed = _config.keepalive_requests != 0 &&
                      connection.requests_started >= _config.keepalive_requests;
  exchange.keep_alive = request.keep_alive() && !stopping && !last_allowed;
  exchange.head_only = request.method == Method::head;
  bool serves_files = request.method == Method::get || request.method == Method::head;

  // Framing first: whatever the answer, the connection must stay in step.
  // A chunked body was read before (input.h), unless the client holds it
  // back for a 100 Continue: a body not waited for (RFC 9110 §10.1.1) is
  // answered at once, and the connection closes after the answer.
  bool body_held_back = request.expect_continue && request.has_body();
  if (body_held_back) {
    exchange.keep_alive = false;
  } else if (!request.has_transfer_encoding) {
    if (request.content_length > max_skipped_body_bytes) {
      exchange.keep_alive = false;
      if (serves_files) {
        return answer(413);
      }
    } else {
      connection.discard_body_bytes = request.content_length;
    }
  }
  if (request.expect_other) {
    exchange.keep_alive = false;
    return answer(417);  // an expectation this server cannot meet
  }
  if (request.method == Method::unknown) {
    return answer(501);
  }
  if (request.method == Method::options) {
    // "OPTIONS *" asks about the server, "OPTIONS /path" about a resource:
    // every resource here allows the same methods.
    return {RouteKind::options, 204};
  }
  if (!serves_files) {
    return answer(405);
  }
  switch (match_endpoint(_config, request.target)) {
    case Endpoint::none:
      break;
    case Endpoint::health:
      return {RouteKind::health};
    case Endpoint::metrics: {
      const PeerAddress& peer = connection.peer;
      bool allowed = peer.family != 0 && _config.metrics_allow.allows(peer.family, peer.bytes);
      return allowed ? Route{RouteKind::metrics} : answer(403);
    }
  }
  return route_file(exchange);
}

// Writes the cache key into scratch: the normalised path, trailing slash
// included ("/docs" is a redirect, "/docs/" its index), after "/host" with
// --vhosts, so keys, opens and siblings work exactly as without.
Route Router::route_file(Exchange& exchange) {
  const Request& request = exchange.request;
  char host_buffer[254];
  std::string_view host;
  ResolveProgress& resolve = exchange.resolve;
  if (_vhosts != nullptr) {
    host = host_directory_for(request, host_buffer);
    if (host.empty()) {
      return answer(404);  // unknown host and no _default
    }
    resolve.host_prefix_length = static_cast<uint32_t>(1 + host.size());
  }
  char* request_path = exchange.scratch + resolve.host_prefix_length;
  NormalizedPath path =
      normalize_target(request.target, request_path,
                       exchange.scratch_capacity - resolve.host_prefix_length - max_index_name_bytes);
  if (path.error_status != 0) {
    return answer(path.error_status);
  }
  if (!_config.allow_dotfiles && has_hidden_segment({request_path, path.length})) {
    return answer(404);  // .git, .env, .htpasswd: as if absent
  }
  if (!host.empty()) {
    exchange.scratch[0] = '/';
    std::memcpy(exchange.scratch + 1, host.data(), host.size());
  }
  resolve.key_length = static_cast<uint32_t>(resolve.host_prefix_length + path.length);
  resolve.purpose = path.trailing_slash ? ResolvePurpose::index : ResolvePurpose::path;
  return {RouteKind::file};
}

// The directory for the request's host: its Host (or the authority of an
// absolute-form target), if the root has that directory; else "_default"
// if it has that; else empty.
std::string_view Router::host_directory_for(const Request& request, char* buffer) const {
  // An absolute-form target names the host itself (RFC 9112 §3.2.2).
  std::string_view host = target_authority(request.target).value_or(request.host);
  std::string_view name = host_directory(host, buffer);  // lower-cased
  if (std::string_view directory = name.empty() ? std::string_view() : _hosts.find(name);
      !directory.empty()) {
    return directory;
  }
  return _hosts.find("_default");
}

}  // namespace ringhttpd
