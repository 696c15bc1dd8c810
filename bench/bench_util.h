// Helpers shared by the benchmarks: a deterministic generator, a Zipf sampler over a synthetic
// vocabulary of English-like and Korean-like words, percentiles and the process's memory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "index/utf8.h"

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

// Words of 3-9 Latin letters (even indexes) and 2-4 Hangul syllables (odd indexes), so that the
// tokenizer meets both scripts and BM25 sees realistic posting lists.
inline std::vector<std::string> make_vocabulary(size_t size, Rng& rng) {
  static const char* kLatin = "etaoinshrdlcumwfgypbvk";
  std::vector<std::string> words;
  for (size_t i = 0; i < size; ++i) {
    std::string w;
    if (i % 2 == 0) {
      const size_t len = 3 + rng.next() % 7;
      for (size_t j = 0; j < len; ++j) w.push_back(kLatin[rng.next() % 22]);
    } else {
      const size_t len = 2 + rng.next() % 3;
      for (size_t j = 0; j < len; ++j)
        chaja::utf8::append(w, 0xAC00 + static_cast<char32_t>(rng.next() % 600));
    }
    words.push_back(w);
  }
  return words;
}

// Zipf(1) sampling by inverse CDF over precomputed cumulative weights.
struct Zipf {
  std::vector<double> cdf;
  explicit Zipf(size_t n) {
    double sum = 0;
    for (size_t i = 1; i <= n; ++i) cdf.push_back(sum += 1.0 / static_cast<double>(i));
    for (double& c : cdf) c /= sum;
  }
  size_t sample(Rng& rng) const {
    return static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), rng.uniform()) -
                               cdf.begin());
  }
};

// The value at fraction p (0.5: the median) of the sorted samples; 0 for none.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// The process's resident memory in bytes (VmRSS), 0 when /proc is unreadable.
inline uint64_t resident_bytes() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      kb = std::strtoull(line + 6, nullptr, 10);
      break;
    }
  std::fclose(f);
  return kb * 1024;
}

}  // namespace chaja::bench
