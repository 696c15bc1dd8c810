// The dense-vector index of one collection, over FAISS (the only module that includes faiss).
// Inner product on L2-normalised vectors (= cosine). The index type follows size: exact
// (IDMap2 over IndexFlatIP) while small; an inverted file (IndexIVFFlat, with a hash-table
// direct map so that ids can be removed and vectors reconstructed) once it holds more than
// `ivf_threshold` vectors. Ids are chunk ids.
//
// The exact search is Chaja's SIMD core over FAISS's rows; above 16k rows it first scans an int8
// copy (a quarter of the bytes) for 2k candidates, then re-scores those exactly in fp32.
//
// Thread safety: const methods may run concurrently; add/remove/save need exclusive access.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "index/result.h"

namespace chaja {

struct VectorIndexOptions {
  size_t ivf_threshold = 200'000;  // more vectors than this: train an inverted file
  size_t ivf_nprobe = 32;          // lists searched per query in IVF mode
};

struct VectorHit {
  int64_t id = 0;
  float score = 0;  // inner product
};

class VectorIndex {
 public:
  static Result<std::unique_ptr<VectorIndex>> create(size_t dimension,
                                                     VectorIndexOptions options = {});
  // Reads a saved index; kConflict when its dimension is not the expected one.
  static Result<std::unique_ptr<VectorIndex>> load(const std::filesystem::path& file,
                                                   size_t dimension,
                                                   VectorIndexOptions options = {});
  ~VectorIndex();

  // Writes to a temporary file beside `file`, syncs it, then renames it over `file`: a crash
  // leaves the old index or the new one, never half of one.
  Status save(const std::filesystem::path& file) const;

  // Adds n vectors (n x dimension floats) under the given ids; re-adding an id replaces it.
  // Crossing ivf_threshold retrains into an inverted file.
  Status add(const int64_t* ids, const float* vectors, size_t n);
  // Removes ids that are present; absent ones are ignored. Returns how many were removed.
  Result<size_t> remove(const std::vector<int64_t>& ids);
  std::vector<VectorHit> search(const float* query, size_t k) const;
  // The best k among these ids only, by exact inner product (absent ids are skipped): a
  // filtered search over a small allowed set, where the ANN would have to over-fetch blindly.
  // Ties: lower id. Cost: one dot product per id.
  std::vector<VectorHit> search_among(const float* query, const std::vector<int64_t>& ids,
                                      size_t k) const;
  // The stored vector of an id into out[0, dimension()); false when the id is absent.
  bool reconstruct(int64_t id, float* out) const;

  // Every id held, in no particular order.
  std::vector<int64_t> ids() const;
  size_t size() const;
  size_t dimension() const { return dimension_; }
  const char* kind() const;  // "flat" or "ivf"

  struct Impl;

 private:
  VectorIndex(size_t dimension, VectorIndexOptions options, std::unique_ptr<Impl> impl);
  size_t dimension_;
  VectorIndexOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaja
