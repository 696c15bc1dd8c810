// The scalar reference kernels: plain loops, compiled for the baseline x86-64 (or any) target.
// Every other ISA is tested against these.
#include "index/simd/kernels.h"
#include "index/simd/topk.h"

namespace chaja::simd {
namespace {
namespace isa {  // apart from the public chaja::simd::dot & co.

float dot(const float* a, const float* b, size_t d) {
  float s = 0;
  for (size_t i = 0; i < d; ++i) s += a[i] * b[i];
  return s;
}

float l2_squared(const float* a, const float* b, size_t d) {
  float s = 0;
  for (size_t i = 0; i < d; ++i) {
    const float t = a[i] - b[i];
    s += t * t;
  }
  return s;
}

float bf16_value(uint16_t x) {
  const uint32_t bits = static_cast<uint32_t>(x) << 16;
  float f;
  __builtin_memcpy(&f, &bits, sizeof f);
  return f;
}

size_t scan_ip(const float* q, const float* base, size_t n, size_t d, size_t k, Hit* out) {
  return scan_rows(n, k, out, [&](size_t i) { return dot(q, base + i * d, d); });
}

void scan_ip_batch(const float* queries, size_t nq, const float* base, size_t n, size_t d, size_t k,
                   Hit* out, size_t* counts) {
  auto tile = [](const float* const* rows, const float* const* qs, size_t dim, float* scores) {
    scores[0] = dot(qs[0], rows[0], dim);
  };
  scan_batch_rows<1, 1>(queries, nq, base, n, d, k, out, counts, tile, dot);
}

size_t scan_ip_bf16(const float* q, const uint16_t* base, size_t n, size_t d, size_t k, Hit* out) {
  return scan_rows(n, k, out, [&](size_t i) {
    const uint16_t* row = base + i * d;
    float s = 0;
    for (size_t j = 0; j < d; ++j) s += q[j] * bf16_value(row[j]);
    return s;
  });
}

size_t scan_ip_int8(const float* q, const int8_t* base, const float* scales, size_t n, size_t d,
                    size_t k, Hit* out) {
  return scan_rows(n, k, out, [&](size_t i) {
    const int8_t* row = base + i * d;
    float s = 0;
    for (size_t j = 0; j < d; ++j) s += q[j] * static_cast<float>(row[j]);
    return s * scales[i];
  });
}

}  // namespace isa
}  // namespace

const Kernels& scalar_kernels() {
  static const Kernels k{Level::kScalar,    false,
                         isa::dot,          isa::l2_squared,
                         isa::scan_ip,      isa::scan_ip_batch,
                         isa::scan_ip_bf16, isa::scan_ip_int8};
  return k;
}

}  // namespace chaja::simd
