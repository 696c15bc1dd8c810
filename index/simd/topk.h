// A bounded min-heap of the k best hits, for the per-ISA kernel files.
//
// Everything here has internal linkage (an anonymous namespace) and uses no standard-library
// templates: each ISA file is compiled with its own -m flags, and a shared inline or template
// function could be emitted with AVX-512 instructions and then picked by the linker for the
// scalar path, which would crash on an older CPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "index/simd/simd.h"

namespace chaja::simd {
namespace {

// Worse = lower score, or the same score and a later row.
inline bool worse(const Hit& a, const Hit& b) {
  return a.score < b.score || (a.score == b.score && a.id > b.id);
}

class TopK {
 public:
  TopK(Hit* storage, size_t k) : heap_(storage), k_(k) {}

  // The score a new hit must beat once the heap is full (kept in a register by the scan loops).
  float threshold() const { return size_ == k_ ? heap_[0].score : -3.4e38f; }
  bool full() const { return size_ == k_; }

  void push(float score, int64_t id) {
    if (k_ == 0) return;
    const Hit h{score, id};
    if (size_ < k_) {
      size_t i = size_++;
      while (i > 0) {
        const size_t parent = (i - 1) / 2;
        if (!worse(h, heap_[parent])) break;
        heap_[i] = heap_[parent];
        i = parent;
      }
      heap_[i] = h;
      return;
    }
    if (!worse(heap_[0], h)) return;
    sift_down(h, size_);
  }

  // Sorts in place, best first; returns the count.
  size_t finish() {
    const size_t n = size_;
    for (size_t end = n; end > 1; --end) {
      const Hit top = heap_[0];
      const Hit last = heap_[end - 1];
      sift_down(last, end - 1);
      heap_[end - 1] = top;
    }
    return n;
  }

 private:
  void sift_down(const Hit& h, size_t size) {
    size_t i = 0;
    for (;;) {
      const size_t l = 2 * i + 1;
      if (l >= size) break;
      size_t c = l;
      if (l + 1 < size && worse(heap_[l + 1], heap_[l])) c = l + 1;
      if (!worse(heap_[c], h)) break;
      heap_[i] = heap_[c];
      i = c;
    }
    heap_[i] = h;
  }

  Hit* heap_;
  size_t k_;
  size_t size_ = 0;
};

}  // namespace
}  // namespace chaja::simd

namespace chaja::simd {
namespace {

// The fused scan: scores every row with row_score(i) and keeps the k best in one pass.
template <typename RowScore>
size_t scan_rows(size_t n, size_t k, Hit* out, RowScore row_score) {
  TopK top(out, k);
  float threshold = top.threshold();
  for (size_t i = 0; i < n; ++i) {
    const float s = row_score(i);
    if (s > threshold || !top.full()) {
      top.push(s, static_cast<int64_t>(i));
      threshold = top.threshold();
    }
  }
  return top.finish();
}

// Batched scan driver: rows in blocks that stay in cache, each block scored against every query
// with an R-rows-by-Q-queries register tile (tile(rows, queries, d, scores[R * Q])), remainders
// with dot(). One TopK per query, in out[qi * k ...].
template <size_t R, size_t Q, typename Tile, typename Dot>
void scan_batch_rows(const float* queries, size_t nq, const float* base, size_t n, size_t d,
                     size_t k, Hit* out, size_t* counts, Tile tile, Dot dot) {
  constexpr size_t kMaxQueries = 256;
  constexpr size_t kBlockBytes = 256 * 1024;
  for (size_t q0 = 0; q0 < nq; q0 += kMaxQueries) {
    const size_t qn = nq - q0 < kMaxQueries ? nq - q0 : kMaxQueries;
    // Heaps live in out; TopK objects are rebuilt per block from their saved sizes.
    TopK* tops = static_cast<TopK*>(__builtin_alloca(sizeof(TopK) * qn));
    for (size_t j = 0; j < qn; ++j) new (&tops[j]) TopK(out + (q0 + j) * k, k);
    size_t block = kBlockBytes / (d * sizeof(float) + 1);
    if (block < R) block = R;
    for (size_t b0 = 0; b0 < n; b0 += block) {
      const size_t b1 = b0 + block < n ? b0 + block : n;
      size_t j = 0;
      for (; j + Q <= qn; j += Q) {
        const float* qs[Q];
        for (size_t t = 0; t < Q; ++t) qs[t] = queries + (q0 + j + t) * d;
        size_t i = b0;
        for (; i + R <= b1; i += R) {
          const float* rows[R];
          for (size_t r = 0; r < R; ++r) rows[r] = base + (i + r) * d;
          float scores[R * Q];
          tile(rows, qs, d, scores);
          for (size_t r = 0; r < R; ++r)
            for (size_t t = 0; t < Q; ++t) {
              TopK& top = tops[j + t];
              const float s = scores[r * Q + t];
              if (!top.full() || s > top.threshold()) top.push(s, static_cast<int64_t>(i + r));
            }
        }
        for (; i < b1; ++i)
          for (size_t t = 0; t < Q; ++t) {
            const float s = dot(qs[t], base + i * d, d);
            if (!tops[j + t].full() || s > tops[j + t].threshold())
              tops[j + t].push(s, static_cast<int64_t>(i));
          }
      }
      for (; j < qn; ++j) {
        const float* q = queries + (q0 + j) * d;
        for (size_t i = b0; i < b1; ++i) {
          const float s = dot(q, base + i * d, d);
          if (!tops[j].full() || s > tops[j].threshold()) tops[j].push(s, static_cast<int64_t>(i));
        }
      }
    }
    for (size_t j = 0; j < qn; ++j) counts[q0 + j] = tops[j].finish();
  }
}

}  // namespace
}  // namespace chaja::simd
