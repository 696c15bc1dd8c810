// Helpers for the SSE and NDJSON tests: fixture reading and feeding a stream in pieces.
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace chaja::test {

// A file under tests/fixtures, read as bytes; fails the test when it is missing.
inline std::string read_fixture(const std::string& relative) {
  const std::string path = std::string(CHAJA_FIXTURES) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// The stream cut at the given offsets (ascending, each within the stream).
inline std::vector<std::string_view> split_at(std::string_view s, const std::vector<size_t>& cuts) {
  std::vector<std::string_view> pieces;
  size_t prev = 0;
  for (size_t cut : cuts) {
    pieces.push_back(s.substr(prev, cut - prev));
    prev = cut;
  }
  pieces.push_back(s.substr(prev));
  return pieces;
}

inline std::vector<std::string_view> bytewise(std::string_view s) {
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < s.size(); ++i) pieces.push_back(s.substr(i, 1));
  return pieces;
}

// Small deterministic generator (xorshift64*), so failures reproduce.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed ? seed : 1) {}
  uint64_t next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1DULL;
  }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }

 private:
  uint64_t s_;
};

// Random cut points, ascending.
inline std::vector<size_t> random_cuts(size_t size, size_t count, Rng& rng) {
  std::vector<size_t> cuts;
  if (size == 0) return cuts;
  for (size_t i = 0; i < count; ++i) cuts.push_back(rng.below(size + 1));
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

}  // namespace chaja::test
