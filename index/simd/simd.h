// Chaja's similarity core: exact inner product, L2 and cosine over fp32, compressed scans (bf16,
// int8 with a per-vector scale) and fused scans that keep the top k in one pass, for each ISA
// (scalar, AVX2+FMA, AVX-512) with runtime dispatch.
//
// Dispatch: the CPU is probed once (cpuid and XCR0, so the OS must save the wide registers too);
// CHAJA_SIMD=scalar|avx2|avx512 lowers the level (never raises it past what the CPU can run).
// Every kernel table is safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace chaja::simd {

enum class Level { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

const char* level_name(Level level);

struct Hit {
  float score = 0;
  int64_t id = 0;  // row number in the scanned block
};

// One ISA's kernels. Vectors are dense rows of d values. Scans write at most k hits to out,
// best (highest score) first, and return how many they wrote; ties keep the lower row first.
struct Kernels {
  Level level;
  bool int8_quantizes_query;
  float (*dot)(const float* a, const float* b, size_t d);
  float (*l2_squared)(const float* a, const float* b, size_t d);
  size_t (*scan_ip)(const float* q, const float* base, size_t n, size_t d, size_t k, Hit* out);
  // Scores q against nq queries at once (queries row-major, nq x d); out holds nq x k hits and
  // counts nq counts. The base is read once per block for all queries.
  void (*scan_ip_batch)(const float* queries, size_t nq, const float* base, size_t n, size_t d,
                        size_t k, Hit* out, size_t* counts);
  // bf16 rows (the upper 16 bits of each fp32), scored against an fp32 query.
  size_t (*scan_ip_bf16)(const float* q, const uint16_t* base, size_t n, size_t d, size_t k,
                         Hit* out);
  // int8 rows with one scale each (value = scale * int8), scored against the query; exact
  // (in fp32) unless int8_quantizes_query, when the query is rounded to int8 too (AVX-512
  // VNNI) and the scores are approximate: re-score the candidates exactly.
  size_t (*scan_ip_int8)(const float* q, const int8_t* base, const float* scales, size_t n,
                         size_t d, size_t k, Hit* out);
};

// The best level this CPU and OS support.
Level detected_level();
// True when the CPU has AVX512_VNNI (the AVX-512 int8 scan then uses it).
bool has_vnni();
// The level in use: detected_level(), lowered by CHAJA_SIMD. Decided once.
Level active_level();
// The kernels in use.
const Kernels& kernels();
// The kernels of a level, or nullptr when this CPU cannot run them (tests, benchmarks).
const Kernels* kernels_for(Level level);

// Conveniences over kernels().
float dot(const float* a, const float* b, size_t d);
float l2_squared(const float* a, const float* b, size_t d);
float cosine(const float* a, const float* b, size_t d);
std::vector<Hit> top_k_ip(const float* q, const float* base, size_t n, size_t d, size_t k);

// Compression of fp32 rows, done once when vectors are stored.
uint16_t to_bf16(float x);  // round to nearest even
float from_bf16(uint16_t x);
void to_bf16(const float* in, size_t count, uint16_t* out);
// Per-row symmetric int8: scale = max|x| / 127, value = round(x / scale).
void to_int8(const float* row, size_t d, int8_t* out, float* scale);

}  // namespace chaja::simd
