// AVX-512 VNNI int8 scan: the query is quantised to int8 once, then each row costs one masked
// load, one XOR and one VPDPBUSD per 64 values (against sixteen conversions and FMAs in the plain
// AVX-512 int8 kernel). Compiled with the VNNI flag on top of AVX-512; reached only when cpuid
// reports AVX512_VNNI. Scores carry the query's quantisation error (under 0.4% of |q| per value),
// so callers re-score the candidates exactly, as Chaja's search does.
#if !defined(__clang__)  // GCC only: clang has no -Wmaybe-uninitialized and no such bug
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 bug 105593, see simd_avx512.cpp
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cmath>

#include "index/simd/kernels.h"
#include "index/simd/topk.h"

namespace chaja::simd {
namespace {

inline __mmask64 tail_mask64(size_t left) {
  return left >= 64 ? ~0ull : ((1ull << left) - 1ull);
}

}  // namespace

size_t avx512_vnni_scan_ip_int8(const float* q, const int8_t* base, const float* scales, size_t n,
                                size_t d, size_t k, Hit* out) {
  // The quantised query, padded with zeros to whole 64-byte steps (zeros add nothing).
  const size_t padded = (d + 63) / 64 * 64;
  auto* qq = static_cast<int8_t*>(__builtin_alloca(padded));
  float max_abs = 0;
  for (size_t i = 0; i < d; ++i) max_abs = std::fmax(max_abs, std::fabs(q[i]));
  const float q_scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
  int32_t q_sum = 0;
  for (size_t i = 0; i < padded; ++i) {
    qq[i] = i < d ? static_cast<int8_t>(std::lrint(q[i] / q_scale)) : 0;
    q_sum += qq[i];
  }
  // VPDPBUSD multiplies unsigned by signed bytes: rows become unsigned by flipping the sign bit
  // (x + 128), and 128 * sum(query) comes off again.
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const int32_t correction = 128 * q_sum;
  return scan_rows(n, k, out, [&](size_t r) {
    const int8_t* row = base + r * d;
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 128 <= d; i += 128) {
      const __m512i r0 = _mm512_xor_si512(_mm512_loadu_si512(row + i), flip);
      const __m512i r1 = _mm512_xor_si512(_mm512_loadu_si512(row + i + 64), flip);
      acc0 = _mm512_dpbusd_epi32(acc0, r0, _mm512_loadu_si512(qq + i));
      acc1 = _mm512_dpbusd_epi32(acc1, r1, _mm512_loadu_si512(qq + i + 64));
    }
    for (; i < d; i += 64) {
      const __m512i r0 =
          _mm512_xor_si512(_mm512_maskz_loadu_epi8(tail_mask64(d - i), row + i), flip);
      acc0 = _mm512_dpbusd_epi32(acc0, r0, _mm512_loadu_si512(qq + i));
    }
    const int32_t dot = _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1)) - correction;
    return static_cast<float>(dot) * q_scale * scales[r];
  });
}

}  // namespace chaja::simd
