#include "src/http/accept_encoding.h"

#include "conf/text.h"

namespace ringhttpd {
namespace {

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in
// thousandths. A malformed weight counts as 0: not acceptable.
uint16_t weight_of(std::string_view parameters) {
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
      return 0;
    }
    uint16_t thousandths = q[0] == '1' ? 1000 : 0;
    uint16_t scale = 100;
    for (char c : q.substr(q.size() > 1 ? 2 : 1)) {
      if (!is_digit(static_cast<unsigned char>(c)) || (q[0] == '1' && c != '0')) {
        return 0;
      }
      thousandths = static_cast<uint16_t>(thousandths + (c - '0') * scale);
      scale /= 10;
    }
    return thousandths;
  }
  return 1000;  // no weight: q=1
}

}  // namespace

CodingWeights coding_weights(std::string_view accept_encoding) {
  CodingWeights weights;
  bool named[3] = {false, false, false};
  uint16_t wildcard = 0;
  for_each_list_element(accept_encoding, [&](std::string_view element) {
    size_t semicolon = element.find(';');
    std::string_view name = trim_ows(element.substr(0, semicolon));
    uint16_t weight = weight_of(semicolon == std::string_view::npos ? std::string_view()
                                                                      : element.substr(semicolon + 1));
    int coding = -1;
    if (iequals(name, "br")) {
      coding = static_cast<int>(ContentCoding::br);
    } else if (iequals(name, "zstd")) {
      coding = static_cast<int>(ContentCoding::zstd);
    } else if (iequals(name, "gzip") || iequals(name, "x-gzip")) {
      coding = static_cast<int>(ContentCoding::gzip);
    } else if (name == "*") {
      wildcard = weight;
      return;
    } else {
      return;
    }
    named[coding] = true;
    weights.q[coding] = weight;  // a later mention replaces an earlier one
  });
  for (int coding = 0; coding < 3; ++coding) {
    if (!named[coding]) {
      weights.q[coding] = wildcard;  // "*" covers what is not named
    }
  }
  return weights;
}

uint8_t accepted_codings(std::string_view accept_encoding) {
  CodingWeights weights = coding_weights(accept_encoding);
  uint8_t accepted = 0;
  for (int coding = 0; coding < 3; ++coding) {
    if (weights.q[coding] > 0) {
      accepted = static_cast<uint8_t>(accepted | (1u << coding));
    }
  }
  return accepted;
}

}  // namespace ringhttpd
