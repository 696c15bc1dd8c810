// bench_similarity: Chaja's similarity scans against FAISS's exact IndexFlatIP and against the
// machine's read bandwidth, on the same random unit vectors, k = 10.
//
//   bench_similarity [--quick] [--json] [--runs N] [--n 10000,100000] [--d 384] [--batch 1,32]
//
// Each row: median and min-max of N runs (default 5). gbps = bytes of vectors read per second
// (each batch reads the base once). FAISS runs single-threaded (one OpenMP and one OpenBLAS
// thread, passive waiting), as our scan does; "faiss_flat" is its default configuration
// (BLAS from 20 queries up), "faiss_flat_blas1" sends every batch through BLAS sgemm
// (distance_compute_blas_threshold = 1). The compressed forms ("*_bf16", "*_int8") scan the
// compressed rows for the best 100 and re-score those exactly in fp32; recall@10 is against the
// exact fp32 top 10.
#include <faiss/IndexFlat.h>
#include <faiss/utils/distances.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "index/simd/simd.h"

namespace {

using chaja::simd::Hit;
using chaja::simd::Kernels;
using chaja::simd::Level;
using Clock = std::chrono::steady_clock;

constexpr size_t kK = 10;
constexpr size_t kCandidates = 100;  // compressed scans keep this many for exact re-scoring

struct Options {
  bool json = false;
  bool quick = false;
  int runs = 5;
  std::vector<size_t> ns = {10'000, 100'000, 1'000'000};
  std::vector<size_t> ds = {384, 768, 1024};
  std::vector<size_t> batches = {1, 32};
};

std::vector<size_t> parse_list(const char* s) {
  std::vector<size_t> out;
  for (const char* p = s; *p;) {
    char* end = nullptr;
    out.push_back(std::strtoull(p, &end, 10));
    p = *end == ',' ? end + 1 : end;
    if (end == p && *p) break;
  }
  return out;
}

// splitmix64: fast, deterministic; good enough for benchmark data.
using chaja::bench::Rng;

std::vector<float> unit_vectors(size_t n, size_t d, uint64_t seed) {
  std::vector<float> v(n * d);
  Rng rng{seed};
  for (size_t i = 0; i < n; ++i) {
    float* row = v.data() + i * d;
    double norm = 0;
    for (size_t j = 0; j < d; ++j) {
      // Sum of three uniforms: close enough to Gaussian for direction sampling.
      row[j] = static_cast<float>(rng.uniform() + rng.uniform() + rng.uniform() - 1.5);
      norm += static_cast<double>(row[j]) * row[j];
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (size_t j = 0; j < d; ++j) row[j] *= inv;
  }
  return v;
}

// The read ceiling: a plain streaming sum over the same bytes (integer adds vectorise freely).
uint64_t stream_sum(const void* data, size_t bytes) {
  const auto* p = static_cast<const uint64_t*>(data);
  const size_t words = bytes / 8;
  uint64_t a = 0, b = 0, c = 0, d = 0;
  size_t i = 0;
  for (; i + 4 <= words; i += 4) {
    a += p[i];
    b += p[i + 1];
    c += p[i + 2];
    d += p[i + 3];
  }
  for (; i < words; ++i) a += p[i];
  return a + b + c + d;
}

struct Timing {
  double median = 0, min = 0, max = 0;
};

Timing time_runs(int runs, const std::function<void()>& fn) {
  std::vector<double> ms(static_cast<size_t>(runs));
  fn();  // warm-up: page faults and caches are not what is measured
  for (double& m : ms) {
    const auto t0 = Clock::now();
    fn();
    m = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[0], ms[ms.size() - 1]};
}

struct Row {
  std::string impl;
  size_t n, d, batch;
  Timing t;
  double gbps;
  double recall = -1;  // compressed forms only
};

void print_row(const Row& r, bool json) {
  if (json) {
    std::printf(
        "{\"impl\":\"%s\",\"n\":%zu,\"d\":%zu,\"batch\":%zu,\"k\":%zu,\"ms_median\":%.3f,"
        "\"ms_min\":%.3f,\"ms_max\":%.3f,\"gbps\":%.2f%s}\n",
        r.impl.c_str(), r.n, r.d, r.batch, kK, r.t.median, r.t.min, r.t.max, r.gbps,
        r.recall >= 0 ? (",\"recall_at_10\":" + std::to_string(r.recall)).c_str() : "");
  } else {
    std::printf("%-18s %8zu %5zu %5zu %10.3f %10.3f %10.3f %8.2f %s\n", r.impl.c_str(), r.n, r.d,
                r.batch, r.t.median, r.t.min, r.t.max, r.gbps,
                r.recall >= 0 ? std::to_string(r.recall).substr(0, 5).c_str() : "");
  }
  std::fflush(stdout);
}

// Exact top-10 ids per query, for recall.
std::vector<std::set<int64_t>> exact_ids(const Kernels& k, const std::vector<float>& q, size_t nq,
                                         const std::vector<float>& base, size_t n, size_t d) {
  std::vector<std::set<int64_t>> out(nq);
  std::vector<Hit> hits(kK);
  for (size_t j = 0; j < nq; ++j) {
    const size_t c = k.scan_ip(q.data() + j * d, base.data(), n, d, kK, hits.data());
    for (size_t i = 0; i < c; ++i) out[j].insert(hits[i].id);
  }
  return out;
}

// Re-scores candidate rows exactly in fp32 and keeps the best k.
size_t rescore(const Kernels& k, const float* q, const std::vector<float>& base, size_t d,
               Hit* candidates, size_t count) {
  for (size_t i = 0; i < count; ++i)
    candidates[i].score = k.dot(q, base.data() + static_cast<size_t>(candidates[i].id) * d, d);
  const size_t keep = std::min(kK, count);
  std::partial_sort(candidates, candidates + keep, candidates + count,
                    [](const Hit& a, const Hit& b) { return a.score > b.score; });
  return keep;
}

void bench(const Options& o, size_t n, size_t d, size_t batch) {
  const std::vector<float> base = unit_vectors(n, d, 42 + n + d);
  const std::vector<float> queries = unit_vectors(batch, d, 7 + d);
  const double fp32_bytes = static_cast<double>(n) * d * sizeof(float);
  auto gbps = [&](double bytes, double ms) { return bytes / (ms * 1e6); };
  std::vector<Row> rows;
  auto emit = [&](Row r) {
    print_row(r, o.json);
    rows.push_back(std::move(r));
  };

  volatile uint64_t sink = 0;
  Timing bw = time_runs(
      o.runs, [&] { sink = sink + stream_sum(base.data(), base.size() * sizeof(float)); });
  emit({"bandwidth", n, d, batch, bw, gbps(fp32_bytes, bw.median)});

  std::vector<Hit> hits(batch * kCandidates);
  std::vector<size_t> counts(batch);
  for (Level level : {Level::kScalar, Level::kAvx2, Level::kAvx512}) {
    const Kernels* k = chaja::simd::kernels_for(level);
    if (!k) continue;
    const std::string name = chaja::simd::level_name(level);
    Timing t = time_runs(o.runs, [&] {
      if (batch == 1) {
        k->scan_ip(queries.data(), base.data(), n, d, kK, hits.data());
      } else {
        k->scan_ip_batch(queries.data(), batch, base.data(), n, d, kK, hits.data(), counts.data());
      }
    });
    emit({name, n, d, batch, t, gbps(fp32_bytes, t.median)});
  }

  // Compressed forms, with exact re-scoring of the best 100 and recall against fp32.
  const Kernels& best = chaja::simd::kernels();
  const auto truth = exact_ids(best, queries, batch, base, n, d);
  std::vector<uint16_t> b16(n * d);
  chaja::simd::to_bf16(base.data(), base.size(), b16.data());
  std::vector<int8_t> i8(n * d);
  std::vector<float> scales(n);
  for (size_t i = 0; i < n; ++i)
    chaja::simd::to_int8(base.data() + i * d, d, i8.data() + i * d, &scales[i]);
  for (Level level : {Level::kAvx2, Level::kAvx512}) {
    const Kernels* k = chaja::simd::kernels_for(level);
    if (!k) continue;
    const std::string name = chaja::simd::level_name(level);
    for (int form = 0; form < 2; ++form) {
      double recall_sum = 0;
      auto run = [&](bool measure_recall) {
        for (size_t j = 0; j < batch; ++j) {
          const float* q = queries.data() + j * d;
          Hit* cand = hits.data() + j * kCandidates;
          const size_t c =
              form == 0 ? k->scan_ip_bf16(q, b16.data(), n, d, kCandidates, cand)
                        : k->scan_ip_int8(q, i8.data(), scales.data(), n, d, kCandidates, cand);
          const size_t kept = rescore(best, q, base, d, cand, c);
          if (measure_recall) {
            size_t found = 0;
            for (size_t i = 0; i < kept; ++i) found += truth[j].count(cand[i].id);
            recall_sum += static_cast<double>(found) / static_cast<double>(std::min(kK, n));
          }
        }
      };
      Timing t = time_runs(o.runs, [&] { run(false); });
      run(true);
      const double bytes =
          static_cast<double>(n) * d * (form == 0 ? 2 : 1) + (form == 0 ? 0 : n * 4.0);
      Row r{name + (form == 0 ? "_bf16" : "_int8"), n, d, batch, t, gbps(bytes * batch, t.median)};
      r.recall = recall_sum / static_cast<double>(batch);
      // gbps for compressed forms counts the compressed bytes actually read, per query
      r.gbps = gbps(bytes * static_cast<double>(batch), t.median);
      emit(r);
    }
  }

  // FAISS exact inner product, single-threaded, in both BLAS configurations.
  faiss::IndexFlatIP index(static_cast<faiss::Index::idx_t>(d));
  index.add(static_cast<faiss::Index::idx_t>(n), base.data());
  std::vector<float> distances(batch * kK);
  std::vector<faiss::Index::idx_t> labels(batch * kK);
  for (int threshold : {20, 1}) {
    faiss::distance_compute_blas_threshold = threshold;
    Timing t = time_runs(o.runs, [&] {
      index.search(static_cast<faiss::Index::idx_t>(batch), queries.data(), kK, distances.data(),
                   labels.data());
    });
    emit({threshold == 20 ? "faiss_flat" : "faiss_flat_blas1", n, d, batch, t,
          gbps(fp32_bytes, t.median)});
  }
  faiss::distance_compute_blas_threshold = 20;

  if (!o.json) {
    double faiss_best = 1e300, ours = 0, bw_ms = bw.median;
    for (const Row& r : rows) {
      if (r.impl.rfind("faiss", 0) == 0) faiss_best = std::min(faiss_best, r.t.median);
      if (r.impl == chaja::simd::level_name(chaja::simd::detected_level())) ours = r.t.median;
    }
    std::printf(
        "  -> %s fp32 is %.2fx faster than the best FAISS configuration, at %.0f%% of the "
        "streaming-read bandwidth\n\n",
        chaja::simd::level_name(chaja::simd::detected_level()), faiss_best / ours,
        100.0 * bw_ms / ours);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // FAISS and OpenBLAS read their thread settings when they load: set them and re-exec once.
  if (std::getenv("CHAJA_BENCH_CHILD") == nullptr) {
    setenv("CHAJA_BENCH_CHILD", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    execv("/proc/self/exe", argv);
    std::perror("bench_similarity: re-exec");
    return 1;
  }
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      o.json = true;
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--runs" && i + 1 < argc) {
      o.runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--n" && i + 1 < argc) {
      o.ns = parse_list(argv[++i]);
    } else if (a == "--d" && i + 1 < argc) {
      o.ds = parse_list(argv[++i]);
    } else if (a == "--batch" && i + 1 < argc) {
      o.batches = parse_list(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: bench_similarity [--quick] [--json] [--runs N] [--n LIST] [--d LIST] "
                   "[--batch LIST]\n");
      return 2;
    }
  }
  if (o.quick) o.ds = {384};
  omp_set_num_threads(1);
  if (!o.json) {
    std::printf(
        "similarity scan, k=%zu, single thread, %d runs per row (median, min, max in ms); "
        "CPU level %s\n",
        kK, o.runs, chaja::simd::level_name(chaja::simd::detected_level()));
    std::printf("%-18s %8s %5s %5s %10s %10s %10s %8s %s\n", "impl", "n", "d", "batch", "median",
                "min", "max", "GB/s", "recall@10");
  }
  for (size_t d : o.ds)
    for (size_t n : o.ns)
      for (size_t batch : o.batches) bench(o, n, d, batch);
  return 0;
}
