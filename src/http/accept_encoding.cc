#include "src/http/accept_encoding.h"

#include "conf/text.h"

namespace ringhttpd {
namespace {

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ): zero when
// every digit is 0. A malformed weight counts as not acceptable.
bool weight_is_positive(std::string_view parameters) {
  size_t at = 0;
  while (at < parameters.size()) {
    size_t semicolon = parameters.find(';', at);
    std::string_view parameter = trim_ows(parameters.substr(at, semicolon - at));
    at = semicolon == std::string_view::npos ? parameters.size() : semicolon + 1;
    if (parameter.size() < 2 || ascii_lower(parameter[0]) != 'q' || parameter[1] != '=') {
      continue;
    }
    std::string_view q = parameter.substr(2);
    if (q.empty() || (q[0] != '0' && q[0] != '1') || q.size() > 5 ||
        (q.size() > 1 && q[1] != '.')) {
      return false;
    }
    for (char c : q) {
      if (c != '.' && !is_digit(static_cast<unsigned char>(c))) {
        return false;
      }
      if (c >= '1' && c <= '9') {
        return true;
      }
    }
    return false;
  }
  return true;  // no weight: q=1
}

}  // namespace

uint8_t accepted_codings(std::string_view accept_encoding) {
  uint8_t named = 0;
  uint8_t accepted = 0;
  bool wildcard = false;
  for_each_list_element(accept_encoding, [&](std::string_view element) {
    size_t semicolon = element.find(';');
    std::string_view name = trim_ows(element.substr(0, semicolon));
    bool positive = weight_is_positive(semicolon == std::string_view::npos ? std::string_view()
                                                                           : element.substr(semicolon + 1));
    uint8_t bit = 0;
    if (iequals(name, "br")) {
      bit = coding_bit(ContentCoding::br);
    } else if (iequals(name, "zstd")) {
      bit = coding_bit(ContentCoding::zstd);
    } else if (iequals(name, "gzip") || iequals(name, "x-gzip")) {
      bit = coding_bit(ContentCoding::gzip);
    } else if (name == "*") {
      wildcard = positive;
      return;
    } else {
      return;
    }
    named |= bit;
    accepted = positive ? static_cast<uint8_t>(accepted | bit) : static_cast<uint8_t>(accepted & ~bit);
  });
  if (wildcard) {
    uint8_t all = coding_bit(ContentCoding::br) | coding_bit(ContentCoding::zstd) |
                  coding_bit(ContentCoding::gzip);
    accepted |= static_cast<uint8_t>(all & ~named);
  }
  return accepted;
}

}  // namespace ringhttpd
