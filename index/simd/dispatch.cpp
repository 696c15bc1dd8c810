// CPU probing and the choice of kernels; compiled for the baseline target like the rest.
#include <cpuid.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "index/simd/kernels.h"

namespace chaja::simd {
namespace {

uint64_t xgetbv0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

Level probe() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Level::kScalar;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28), fma = c & (1u << 12);
  if (!osxsave || !avx) return Level::kScalar;
  const uint64_t xcr0 = xgetbv0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;    // SSE and AVX state saved
  const bool os_zmm = (xcr0 & 0xE6) == 0xE6;  // plus opmask, ZMM_Hi256, Hi16_ZMM
  if (!os_ymm || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Level::kScalar;
  const bool avx2 = b & (1u << 5);
  const bool avx512 = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) &&
                      (b & (1u << 31));  // F, DQ, BW, VL
  if (avx512 && fma && os_zmm) return Level::kAvx512;
  if (avx2 && fma) return Level::kAvx2;
  return Level::kScalar;
}

bool probe_vnni() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return detected_level() == Level::kAvx512 && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
         (c & (1u << 11));  // AVX512_VNNI
}

// The AVX-512 table, with the VNNI int8 scan when the CPU has it.
const Kernels& avx512_table() {
  static const Kernels k = [] {
    Kernels t = avx512_kernels();
    if (has_vnni()) {
      t.scan_ip_int8 = avx512_vnni_scan_ip_int8;
      t.int8_quantizes_query = true;
    }
    return t;
  }();
  return k;
}

Level choose() {
  const Level detected = detected_level();
  const char* env = std::getenv("CHAJA_SIMD");
  if (env == nullptr || *env == '\0') return detected;
  const std::string_view want(env);
  Level level = detected;
  if (want == "scalar") {
    level = Level::kScalar;
  } else if (want == "avx2") {
    level = Level::kAvx2;
  } else if (want == "avx512") {
    level = Level::kAvx512;
  } else {
    std::fprintf(stderr, "warning: CHAJA_SIMD=%s is not scalar, avx2 or avx512; using %s\n", env,
                 level_name(detected));
  }
  // An override can only lower the level: asking for more than the CPU has keeps what it has.
  return static_cast<int>(level) < static_cast<int>(detected) ? level : detected;
}

}  // namespace

const char* level_name(Level level) {
  switch (level) {
    case Level::kScalar:
      return "scalar";
    case Level::kAvx2:
      return "avx2";
    case Level::kAvx512:
      return "avx512";
  }
  return "scalar";
}

Level detected_level() {
  static const Level level = probe();
  return level;
}

bool has_vnni() {
  static const bool vnni = probe_vnni();
  return vnni;
}

Level active_level() {
  static const Level level = choose();
  return level;
}

const Kernels* kernels_for(Level level) {
  if (static_cast<int>(level) > static_cast<int>(detected_level())) return nullptr;
  switch (level) {
    case Level::kScalar:
      return &scalar_kernels();
    case Level::kAvx2:
      return &avx2_kernels();
    case Level::kAvx512:
      return &avx512_table();
  }
  return &scalar_kernels();
}

const Kernels& kernels() {
  static const Kernels* k = kernels_for(active_level());
  return *k;
}

float dot(const float* a, const float* b, size_t d) {
  return kernels().dot(a, b, d);
}
float l2_squared(const float* a, const float* b, size_t d) {
  return kernels().l2_squared(a, b, d);
}

float cosine(const float* a, const float* b, size_t d) {
  const Kernels& k = kernels();
  const float na = k.dot(a, a, d), nb = k.dot(b, b, d);
  if (na <= 0 || nb <= 0) return 0;
  return k.dot(a, b, d) / std::sqrt(na * nb);
}

std::vector<Hit> top_k_ip(const float* q, const float* base, size_t n, size_t d, size_t k) {
  std::vector<Hit> out(k < n ? k : n);
  out.resize(kernels().scan_ip(q, base, n, d, out.size(), out.data()));
  return out;
}

uint16_t to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  if (std::isnan(x)) return static_cast<uint16_t>((bits >> 16) | 0x40);  // stay a NaN
  bits += 0x7FFF + ((bits >> 16) & 1);  // round to nearest, ties to even
  return static_cast<uint16_t>(bits >> 16);
}

float from_bf16(uint16_t x) {
  const uint32_t bits = static_cast<uint32_t>(x) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

void to_bf16(const float* in, size_t count, uint16_t* out) {
  for (size_t i = 0; i < count; ++i) out[i] = to_bf16(in[i]);
}

void to_int8(const float* row, size_t d, int8_t* out, float* scale) {
  float max_abs = 0;
  for (size_t i = 0; i < d; ++i) max_abs = std::fmax(max_abs, std::fabs(row[i]));
  if (max_abs == 0) {
    std::memset(out, 0, d);
    *scale = 0;
    return;
  }
  const float s = max_abs / 127.0f;
  for (size_t i = 0; i < d; ++i) out[i] = static_cast<int8_t>(std::lrint(row[i] / s));
  *scale = s;
}

}  // namespace chaja::simd
