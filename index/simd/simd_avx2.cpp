// AVX2 + FMA kernels: 8 floats per step, two accumulators, scalar tails.
// Compiled with -mavx2 -mfma (index/CMakeLists.txt); reached only when the CPU has both.
#include <immintrin.h>

#include "index/simd/kernels.h"
#include "index/simd/topk.h"

namespace chaja::simd {
namespace {
namespace isa {  // apart from the public chaja::simd::dot & co.

inline float hsum(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v);
  const __m128 hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

float dot(const float* a, const float* b, size_t d) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= d; i += 8)
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float s = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < d; ++i) s += a[i] * b[i];
  return s;
}

float l2_squared(const float* a, const float* b, size_t d) {
  __m256 acc = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= d; i += 8) {
    const __m256 t = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    acc = _mm256_fmadd_ps(t, t, acc);
  }
  float s = hsum(acc);
  for (; i < d; ++i) {
    const float t = a[i] - b[i];
    s += t * t;
  }
  return s;
}

size_t scan_ip(const float* q, const float* base, size_t n, size_t d, size_t k, Hit* out) {
  return scan_rows(n, k, out, [&](size_t i) { return dot(q, base + i * d, d); });
}

// 2 rows x 4 queries: 8 accumulators and 4 query registers (of 16), 6 loads per 8 FMAs; the
// loops are fully unrolled so the accumulators stay in registers.
void tile_2x4(const float* const* rows, const float* const* qs, size_t d, float* scores) {
  __m256 acc[8];
#pragma GCC unroll 8
  for (auto& a : acc) a = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= d; i += 8) {
    __m256 q[4];
#pragma GCC unroll 4
    for (size_t t = 0; t < 4; ++t) q[t] = _mm256_loadu_ps(qs[t] + i);
#pragma GCC unroll 2
    for (size_t r = 0; r < 2; ++r) {
      const __m256 row = _mm256_loadu_ps(rows[r] + i);
#pragma GCC unroll 4
      for (size_t t = 0; t < 4; ++t) acc[r * 4 + t] = _mm256_fmadd_ps(row, q[t], acc[r * 4 + t]);
    }
  }
  for (size_t r = 0; r < 2; ++r)
    for (size_t t = 0; t < 4; ++t) {
      float s = hsum(acc[r * 4 + t]);
      for (size_t j = i; j < d; ++j) s += rows[r][j] * qs[t][j];
      scores[r * 4 + t] = s;
    }
}

void scan_ip_batch(const float* queries, size_t nq, const float* base, size_t n, size_t d, size_t k,
                   Hit* out, size_t* counts) {
  scan_batch_rows<2, 4>(queries, nq, base, n, d, k, out, counts, tile_2x4, dot);
}

size_t scan_ip_bf16(const float* q, const uint16_t* base, size_t n, size_t d, size_t k, Hit* out) {
  return scan_rows(n, k, out, [&](size_t r) {
    const uint16_t* row = base + r * d;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i));
      const __m256 lo = _mm256_castsi256_ps(
          _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(raw)), 16));
      const __m256 hi = _mm256_castsi256_ps(
          _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(raw, 1)), 16));
      acc0 = _mm256_fmadd_ps(lo, _mm256_loadu_ps(q + i), acc0);
      acc1 = _mm256_fmadd_ps(hi, _mm256_loadu_ps(q + i + 8), acc1);
    }
    float s = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < d; ++i) {
      const uint32_t bits = static_cast<uint32_t>(row[i]) << 16;
      float f;
      __builtin_memcpy(&f, &bits, sizeof f);
      s += q[i] * f;
    }
    return s;
  });
}

size_t scan_ip_int8(const float* q, const int8_t* base, const float* scales, size_t n, size_t d,
                    size_t k, Hit* out) {
  return scan_rows(n, k, out, [&](size_t r) {
    const int8_t* row = base + r * d;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i));
      const __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(raw));
      const __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(raw, 8)));
      acc0 = _mm256_fmadd_ps(lo, _mm256_loadu_ps(q + i), acc0);
      acc1 = _mm256_fmadd_ps(hi, _mm256_loadu_ps(q + i + 8), acc1);
    }
    float s = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < d; ++i) s += q[i] * static_cast<float>(row[i]);
    return s * scales[r];
  });
}

}  // namespace isa
}  // namespace

const Kernels& avx2_kernels() {
  static const Kernels k{Level::kAvx2,      false,
                         isa::dot,          isa::l2_squared,
                         isa::scan_ip,      isa::scan_ip_batch,
                         isa::scan_ip_bf16, isa::scan_ip_int8};
  return k;
}

}  // namespace chaja::simd
