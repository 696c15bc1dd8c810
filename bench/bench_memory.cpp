// bench_memory: resident memory per million vectors, Chaja's vector index against the raw fp32
// payload and FAISS's own IndexFlatIP, measured in the same run.
//
//   bench_memory [--n 1000000] [--d 384] [--no-ivf] [--json]
//
// Each row builds one index from the same random unit vectors, added 65,536 at a time as a
// catch-up would, in a process whose other allocations are freed (and trimmed) first, and reports
// the growth of the process's resident set (VmRSS), scaled to one million vectors:
//   raw fp32            n x d x 4 bytes: the payload itself (computed, the baseline)
//   faiss IndexFlatIP   FAISS's exact index alone, no ids
//   chaja flat          Chaja's exact side: IDMap2 over IndexFlatIP (ids, id → row map) plus
//                       the int8 copy scanned first (a quarter of the fp32 bytes, plus a scale)
//   chaja ivf           above ivf_threshold: IndexIVFFlat with a hash-table direct map
//                       (trained on the first batch; the coarse centroids included)
#include <faiss/IndexFlat.h>
#include <malloc.h>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "index/vector_index.h"

namespace {

using Clock = std::chrono::steady_clock;
using chaja::bench::resident_bytes;
using chaja::bench::Rng;

constexpr size_t kBatch = 65'536;

// Unit vectors of dimension d, batch by batch (the same sequence for every row).
void fill_batch(Rng& rng, size_t count, size_t d, std::vector<float>& out) {
  out.resize(count * d);
  for (size_t i = 0; i < count; ++i) {
    float* v = out.data() + i * d;
    double norm = 0;
    for (size_t j = 0; j < d; ++j) {
      v[j] = static_cast<float>(rng.uniform() * 2 - 1);
      norm += static_cast<double>(v[j]) * v[j];
    }
    const float inv = static_cast<float>(1 / std::sqrt(norm));
    for (size_t j = 0; j < d; ++j) v[j] *= inv;
  }
}

struct Row {
  std::string what;
  double bytes = 0;  // resident growth
  double seconds = 0;
};

// Runs `build` with the batches fed to `add`, and measures the resident growth that remains once
// the scratch batch is freed.
template <class Index>
Row measure(const char* what, size_t n, size_t d, const std::function<Index()>& make,
            const std::function<bool(Index&, const int64_t*, const float*, size_t)>& add) {
  malloc_trim(0);
  const uint64_t before = resident_bytes();
  const auto t0 = Clock::now();
  Index index = make();
  Rng rng{7};
  std::vector<int64_t> ids;
  {
    std::vector<float> batch;
    for (size_t at = 0; at < n; at += kBatch) {
      const size_t count = std::min(kBatch, n - at);
      fill_batch(rng, count, d, batch);
      ids.resize(count);
      for (size_t i = 0; i < count; ++i) ids[i] = static_cast<int64_t>(at + i + 1);
      if (!add(index, ids.data(), batch.data(), count)) {
        std::fprintf(stderr, "bench_memory: adding to %s failed\n", what);
        std::exit(1);
      }
    }
  }
  ids = {};
  malloc_trim(0);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const uint64_t after = resident_bytes();
  return {what, static_cast<double>(after) - static_cast<double>(before), secs};
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 1'000'000, d = 384;
  bool json = false, ivf = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--n" && i + 1 < argc) {
      n = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--d" && i + 1 < argc) {
      d = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--no-ivf") {
      ivf = false;
    } else if (a == "--json") {
      json = true;
    } else {
      std::fprintf(stderr, "usage: bench_memory [--n N] [--d D] [--no-ivf] [--json]\n");
      return 2;
    }
  }
  if (n == 0 || d == 0) return 2;
  omp_set_num_threads(1);
  std::vector<Row> rows;
  rows.push_back({"raw fp32", static_cast<double>(n) * static_cast<double>(d) * 4, 0});

  using Faiss = std::unique_ptr<faiss::IndexFlatIP>;
  rows.push_back(measure<Faiss>(
      "faiss IndexFlatIP", n, d,
      [&] { return std::make_unique<faiss::IndexFlatIP>(static_cast<faiss::Index::idx_t>(d)); },
      [](Faiss& f, const int64_t*, const float* v, size_t count) {
        f->add(static_cast<faiss::Index::idx_t>(count), v);
        return true;
      }));

  using Chaja = std::unique_ptr<chaja::VectorIndex>;
  auto chaja_add = [](Chaja& index, const int64_t* ids, const float* v, size_t count) {
    return static_cast<bool>(index->add(ids, v, count));
  };
  rows.push_back(measure<Chaja>(
      "chaja flat", n, d,
      [&] {
        chaja::VectorIndexOptions o;
        o.ivf_threshold = n + 1;
        return std::move(*chaja::VectorIndex::create(d, o));
      },
      chaja_add));
  if (ivf)
    rows.push_back(measure<Chaja>(
        "chaja ivf", n, d,
        [&] {
          chaja::VectorIndexOptions o;
          o.ivf_threshold = kBatch;  // becomes an inverted file on the second batch
          return std::move(*chaja::VectorIndex::create(d, o));
        },
        chaja_add));

  const double raw = rows[0].bytes;
  const double per_million = 1e6 / static_cast<double>(n);
  if (!json)
    std::printf(
        "bench_memory: %zu vectors of dimension %zu (fp32 %.0f bytes each)\n"
        "%-18s %14s %13s %11s %9s\n",
        n, d, static_cast<double>(d) * 4, "index", "MiB/million", "bytes/vector", "÷ raw fp32",
        "build s");
  for (const Row& r : rows) {
    const double mib = r.bytes * per_million / (1024.0 * 1024.0);
    const double per_vector = r.bytes / static_cast<double>(n);
    if (json)
      std::printf(
          "{\"index\":\"%s\",\"n\":%zu,\"d\":%zu,\"mib_per_million\":%.1f,"
          "\"bytes_per_vector\":%.1f,\"vs_raw\":%.3f,\"build_s\":%.2f}\n",
          r.what.c_str(), n, d, mib, per_vector, r.bytes / raw, r.seconds);
    else
      std::printf("%-18s %14.1f %13.1f %10.2fx %9.2f\n", r.what.c_str(), mib, per_vector,
                  r.bytes / raw, r.seconds);
  }
  return 0;
}
