// Helpers shared by the fuzz targets: a failed invariant aborts with a message (libFuzzer then
// saves the input as crash-*), and inputs are cut into pieces at positions derived from the data
// itself, so a crash reproduces from its input file alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace chaja::fuzz {

// Not assert(): it must hold in RelWithDebInfo (NDEBUG) builds too.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

// FNV-1a: a seed for the piece sizes that depends on every byte.
inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Cuts `s` into pieces of 1..64 bytes (mostly 1..4, so that CRLF pairs, UTF-8 sequences and BOMs
// are split) with sizes drawn from an xorshift generator seeded by the data. Empty pieces are
// included now and then: a network read can deliver nothing.
inline std::vector<std::string_view> split_pieces(std::string_view s) {
  std::vector<std::string_view> pieces;
  uint64_t x = hash_bytes(s) | 1;
  size_t pos = 0;
  while (pos < s.size()) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t len = (x & 3) == 0 ? 1 + (x >> 8) % 64 : (x >> 8) % 5;
    if (len > s.size() - pos) len = s.size() - pos;
    pieces.push_back(s.substr(pos, len));
    pos += len;
  }
  return pieces;
}

}  // namespace chaja::fuzz
