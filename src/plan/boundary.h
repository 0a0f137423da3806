#pragma once
// Multipart boundaries no client can predict: SipHash-2-4 (Aumasson and
// Bernstein's keyed hash) of a counter under a random per-worker key, so
// seeing one response's boundary tells nothing of the next (a raw
// generator state would: it is the next state's input). RFC 9110 §14.6
// asks only that the boundary not occur in the parts; an unpredictable one
// also keeps a client from shaping a file to break the framing.

#include <sys/random.h>

#include <array>
#include <cstdint>

namespace ringhttpd {

class BoundaryMaker {
 public:
  BoundaryMaker() {
    if (getrandom(_key.data(), sizeof _key, 0) != static_cast<ssize_t>(sizeof _key)) {
      _key = {0x736f6d6570736575ULL, 0x646f72616e646f6dULL};  // never seen: getrandom does not fail after boot
    }
  }
  explicit BoundaryMaker(std::array<uint64_t, 2> key) : _key(key) {}

  uint64_t next() { return siphash_2_4(_counter++); }

  // SipHash-2-4 of one 8-byte message.
  uint64_t siphash_2_4(uint64_t message) const {
    uint64_t v0 = 0x736f6d6570736575ULL ^ _key[0];
    uint64_t v1 = 0x646f72616e646f6dULL ^ _key[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ _key[0];
    uint64_t v3 = 0x7465646279746573ULL ^ _key[1];
    auto round = [&] {
      v0 += v1; v1 = rotate(v1, 13); v1 ^= v0; v0 = rotate(v0, 32);
      v2 += v3; v3 = rotate(v3, 16); v3 ^= v2;
      v0 += v3; v3 = rotate(v3, 21); v3 ^= v0;
      v2 += v1; v1 = rotate(v1, 17); v1 ^= v2; v2 = rotate(v2, 32);
    };
    v3 ^= message;
    round();
    round();
    v0 ^= message;
    uint64_t last = uint64_t{8} << 56;  // the length byte, no tail
    v3 ^= last;
    round();
    round();
    v0 ^= last;
    v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) {
      round();
    }
    return v0 ^ v1 ^ v2 ^ v3;
  }

 private:
  static uint64_t rotate(uint64_t x, int bits) { return (x << bits) | (x >> (64 - bits)); }

  std::array<uint64_t, 2> _key{};
  uint64_t _counter = 0;
};

}  // namespace ringhttpd
