// Helpers shared by the benchmarks.
#pragma once

#include <cstdint>

namespace chaja::bench {

// splitmix64: fast and deterministic; good enough for benchmark data.
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }
};

}  // namespace chaja::bench
