// AVX-512 kernels (F, BW, VL, DQ): 16 floats per step, masked loads for the tails, so any
// dimension runs without a scalar loop. Compiled with the AVX-512 flags of index/CMakeLists.txt;
// reached only when cpuid and XCR0 say the CPU and OS support them.
// GCC 12 warns inside its own AVX-512 headers (_mm512_undefined_* placeholders, GCC bug
// 105593, fixed in GCC 13); the warnings point into the system header, not at this code.
#if !defined(__clang__)  // GCC only: clang has no -Wmaybe-uninitialized and no such bug
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "index/simd/kernels.h"
#include "index/simd/topk.h"

namespace chaja::simd {
namespace {
namespace isa {  // apart from the public chaja::simd::dot & co.

inline __mmask16 tail_mask(size_t left) {
  return static_cast<__mmask16>((1u << left) - 1u);
}

float dot(const float* a, const float* b, size_t d) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= d; i += 64) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
  }
  for (; i + 16 <= d; i += 16)
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < d) {
    const __mmask16 m = tail_mask(d - i);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

float l2_squared(const float* a, const float* b, size_t d) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= d; i += 32) {
    const __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    const __m512 t1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
    acc0 = _mm512_fmadd_ps(t0, t0, acc0);
    acc1 = _mm512_fmadd_ps(t1, t1, acc1);
  }
  for (; i < d; i += 16) {
    const __mmask16 m = d - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(d - i);
    const __m512 t =
        _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
    acc0 = _mm512_fmadd_ps(t, t, acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// The scan's row kernel: two accumulators, 32 floats a step. The scan is bound by memory (one
// sequential stream); more accumulators only add work at the end of each row.
inline float dot_row(const float* a, const float* b, size_t d) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= d; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i < d; i += 16) {
    const __mmask16 m = d - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(d - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

size_t scan_ip(const float* q, const float* base, size_t n, size_t d, size_t k, Hit* out) {
  return scan_rows(n, k, out, [&](size_t i) { return dot_row(q, base + i * d, d); });
}

// The batched scan, with no horizontal sums: sixteen queries are packed dimension-major as a
// panel (panel[i * 16 + t] = query t's value i), and each base row's values are broadcast
// against it (an FMA with an embedded broadcast load), so lane t of a row's accumulator is that
// row's score for query t. R rows at a time share each panel load; every base value is read
// once per sixteen queries, in order.
constexpr size_t kPanel = 16;

// R rows against P panels (P x 16 queries): R * P accumulators. Each row value is broadcast
// once into a register and used by P FMAs; R stays at 12 so that the row pointers fit in
// general registers (24 spilled them to the stack).
template <size_t R, size_t P>
inline void panel_rows(const float* rows, size_t d, const float* panels, size_t panel_stride,
                       float* scores) {
  __m512 acc[R * P];
#pragma GCC unroll 32
  for (size_t j = 0; j < R * P; ++j) acc[j] = _mm512_setzero_ps();
  for (size_t i = 0; i < d; ++i) {
    __m512 q[P];
#pragma GCC unroll 4
    for (size_t p = 0; p < P; ++p) q[p] = _mm512_loadu_ps(panels + p * panel_stride + i * kPanel);
#pragma GCC unroll 32
    for (size_t r = 0; r < R; ++r) {
      const __m512 v = _mm512_set1_ps(rows[r * d + i]);
#pragma GCC unroll 4
      for (size_t p = 0; p < P; ++p) acc[r * P + p] = _mm512_fmadd_ps(v, q[p], acc[r * P + p]);
    }
  }
  // scores[(p * R + r) * 16 + t]: panel p's scores for row r.
#pragma GCC unroll 32
  for (size_t r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (size_t p = 0; p < P; ++p) _mm512_storeu_ps(scores + (p * R + r) * kPanel, acc[r * P + p]);
}

void scan_ip_batch(const float* queries, size_t nq, const float* base, size_t n, size_t d, size_t k,
                   Hit* out, size_t* counts) {
  constexpr size_t R = 12;
  constexpr size_t kBlockBytes = 512 * 1024;  // rows kept in L2 while every panel passes
  if (nq == 0) return;
  const size_t panels = (nq + kPanel - 1) / kPanel;
  const size_t stride = d * kPanel;
  float* packed = new float[panels * stride]();  // zero lanes past nq score nothing
  for (size_t t = 0; t < nq; ++t)
    for (size_t i = 0; i < d; ++i)
      packed[(t / kPanel) * stride + i * kPanel + t % kPanel] = queries[t * d + i];
  auto* tops = static_cast<TopK*>(::operator new(sizeof(TopK) * nq));
  for (size_t t = 0; t < nq; ++t) new (&tops[t]) TopK(out + t * k, k);
  size_t block = kBlockBytes / (d * sizeof(float));
  block = block < R ? R : block - block % R;
  alignas(64) float scores[2 * R * kPanel];
  // Scores of `count` rows from `first` against panels p0 and on (np of them) into the heaps.
  auto keep = [&](size_t first, size_t count, size_t rows_per_panel, size_t p0, size_t np) {
    for (size_t p = 0; p < np; ++p) {
      const size_t t0 = (p0 + p) * kPanel;
      const size_t tn = nq - t0 < kPanel ? nq - t0 : kPanel;
      for (size_t r = 0; r < count; ++r)
        for (size_t t = 0; t < tn; ++t) {
          TopK& top = tops[t0 + t];
          const float s = scores[(p * rows_per_panel + r) * kPanel + t];
          if (!top.full() || s > top.threshold()) top.push(s, static_cast<int64_t>(first + r));
        }
    }
  };
  for (size_t b0 = 0; b0 < n; b0 += block) {
    const size_t b1 = b0 + block < n ? b0 + block : n;
    for (size_t p = 0; p < panels; p += 2) {
      const float* panel = packed + p * stride;
      const bool two = p + 1 < panels;
      size_t i = b0;
      for (; i + R <= b1; i += R) {
        if (two) {
          panel_rows<R, 2>(base + i * d, d, panel, stride, scores);
        } else {
          panel_rows<R, 1>(base + i * d, d, panel, stride, scores);
        }
        keep(i, R, R, p, two ? 2 : 1);
      }
      for (; i < b1; ++i) {
        if (two) {
          panel_rows<1, 2>(base + i * d, d, panel, stride, scores);
        } else {
          panel_rows<1, 1>(base + i * d, d, panel, stride, scores);
        }
        keep(i, 1, 1, p, two ? 2 : 1);
      }
    }
  }
  for (size_t t = 0; t < nq; ++t) counts[t] = tops[t].finish();
  ::operator delete(tops);
  delete[] packed;
}

inline __m512 bf16_to_ps(__m256i raw) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
}

size_t scan_ip_bf16(const float* q, const uint16_t* base, size_t n, size_t d, size_t k, Hit* out) {
  return scan_rows(n, k, out, [&](size_t r) {
    const uint16_t* row = base + r * d;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
      const __m256i r0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i));
      const __m256i r1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i + 16));
      acc0 = _mm512_fmadd_ps(bf16_to_ps(r0), _mm512_loadu_ps(q + i), acc0);
      acc1 = _mm512_fmadd_ps(bf16_to_ps(r1), _mm512_loadu_ps(q + i + 16), acc1);
    }
    for (; i < d; i += 16) {
      const __mmask16 m = d - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(d - i);
      const __m256i raw = _mm256_maskz_loadu_epi16(m, row + i);
      acc0 = _mm512_fmadd_ps(bf16_to_ps(raw), _mm512_maskz_loadu_ps(m, q + i), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  });
}

size_t scan_ip_int8(const float* q, const int8_t* base, const float* scales, size_t n, size_t d,
                    size_t k, Hit* out) {
  return scan_rows(n, k, out, [&](size_t r) {
    const int8_t* row = base + r * d;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i));
      const __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(raw)));
      const __m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(raw, 1)));
      acc0 = _mm512_fmadd_ps(lo, _mm512_loadu_ps(q + i), acc0);
      acc1 = _mm512_fmadd_ps(hi, _mm512_loadu_ps(q + i + 16), acc1);
    }
    for (; i < d; i += 16) {
      const __mmask16 m = d - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(d - i);
      const __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, row + i)));
      acc0 = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m, q + i), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) * scales[r];
  });
}

}  // namespace isa
}  // namespace

const Kernels& avx512_kernels() {
  static const Kernels k{Level::kAvx512,    false,
                         isa::dot,          isa::l2_squared,
                         isa::scan_ip,      isa::scan_ip_batch,
                         isa::scan_ip_bf16, isa::scan_ip_int8};
  return k;
}

}  // namespace chaja::simd
