// Internal: the kernel table of each ISA file, for dispatch.cpp only. Each table is built from
// code compiled with that ISA's flags; call it only after checking the CPU supports the ISA.
#pragma once

#include "index/simd/simd.h"

namespace chaja::simd {

const Kernels& scalar_kernels();
const Kernels& avx2_kernels();
const Kernels& avx512_kernels();
// With AVX512_VNNI: the int8 scan of the AVX-512 table, quantising the query (approximate).
size_t avx512_vnni_scan_ip_int8(const float* q, const int8_t* base, const float* scales, size_t n,
                                size_t d, size_t k, Hit* out);

}  // namespace chaja::simd
