// Internal: the kernel table of each ISA file, for dispatch.cpp only. Each table is built from
// code compiled with that ISA's flags; call it only after checking the CPU supports the ISA.
#pragma once

#include "index/simd/simd.h"

namespace chaja::simd {

const Kernels& scalar_kernels();
const Kernels& avx2_kernels();
const Kernels& avx512_kernels();

}  // namespace chaja::simd
