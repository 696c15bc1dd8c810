#include "index/vector_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_io.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "index/fs_util.h"
#include "index/simd/simd.h"

namespace chaja {
namespace fs = std::filesystem;

namespace {

using idx_t = faiss::Index::idx_t;

// Below this many rows the fp32 scan is already fast (under half a millisecond at d = 384).
constexpr size_t kInt8MinRows = 16'384;

// FAISS reports errors by exception; none may leave this module.
template <typename F>
Status guarded(const char* what, F&& f) {
  try {
    f();
    return {};
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kInternal, std::string(what) + ": " + e.what());
  }
}

// FAISS parallelises with OpenMP; with several threads GOMP spin-waits between calls (slower
// here, see DEPS.md), and request threads already run in parallel. Each call runs on its thread.
void single_thread() {
  omp_set_num_threads(1);
}

}  // namespace

struct VectorIndex::Impl {
  std::unique_ptr<faiss::Index> index;      // IndexIDMap2(IndexFlatIP) or IndexIVFFlat
  std::unique_ptr<faiss::Index> quantizer;  // owned for IVF
  bool ivf = false;
  // Flat mode: an int8 copy of every row (same order as FAISS's), scanned first; the best
  // candidates are then re-scored exactly from FAISS's fp32 rows. A quarter of the bytes to read.
  std::vector<int8_t> codes;
  std::vector<float> scales;

  const faiss::IndexIDMap2* idmap() const {
    return static_cast<const faiss::IndexIDMap2*>(index.get());
  }
  const float* rows() const {
    return static_cast<const faiss::IndexFlat*>(idmap()->index)->get_xb();
  }
  void append_codes(const float* vectors, size_t n, size_t d) {
    const size_t at = scales.size();
    codes.resize((at + n) * d);
    scales.resize(at + n);
    for (size_t i = 0; i < n; ++i)
      simd::to_int8(vectors + i * d, d, codes.data() + (at + i) * d, &scales[at + i]);
  }

  faiss::IndexIVFFlat* as_ivf() const { return static_cast<faiss::IndexIVFFlat*>(index.get()); }

  // Both index kinds keep an id -> position map: IDMap2's rev_map, the IVF's hash-table map.
  bool contains(int64_t id) const {
    if (ivf) return as_ivf()->direct_map.hashtable.count(id) > 0;
    return static_cast<const faiss::IndexIDMap2*>(index.get())->rev_map.count(id) > 0;
  }

  static std::unique_ptr<Impl> flat(size_t d) {
    auto impl = std::make_unique<Impl>();
    auto* idmap = new faiss::IndexIDMap2(new faiss::IndexFlatIP(static_cast<idx_t>(d)));
    idmap->own_fields = true;
    impl->index.reset(idmap);
    return impl;
  }
};

VectorIndex::VectorIndex(size_t dimension, VectorIndexOptions options, std::unique_ptr<Impl> impl)
    : dimension_(dimension), options_(options), impl_(std::move(impl)) {}

VectorIndex::~VectorIndex() = default;

Result<std::unique_ptr<VectorIndex>> VectorIndex::create(size_t dimension,
                                                         VectorIndexOptions options) {
  if (dimension == 0 || dimension > 65536)
    return make_error(ErrorKind::kInvalidInput, "a vector dimension is 1 to 65536");
  return std::unique_ptr<VectorIndex>(new VectorIndex(dimension, options, Impl::flat(dimension)));
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::load(const fs::path& file, size_t dimension,
                                                       VectorIndexOptions options) {
  std::unique_ptr<faiss::Index> index;
  Status s =
      guarded("reading the vector index", [&] { index.reset(faiss::read_index(file.c_str())); });
  if (!s) return make_error(ErrorKind::kIo, s.error().message);
  if (!index) return make_error(ErrorKind::kIo, "no index in " + file.string());
  if (static_cast<size_t>(index->d) != dimension)
    return make_error(ErrorKind::kConflict, "the vector index " + file.string() +
                                                " has dimension " + std::to_string(index->d) +
                                                ", expected " + std::to_string(dimension));
  auto impl = std::make_unique<Impl>();
  if (auto* ivf = dynamic_cast<faiss::IndexIVFFlat*>(index.get())) {  // NOLINT: FAISS's own API
    impl->ivf = true;
    ivf->own_fields = true;  // the quantizer read with it belongs to it
    ivf->nprobe = options.ivf_nprobe;
  } else if (dynamic_cast<faiss::IndexIDMap2*>(index.get()) == nullptr) {
    return make_error(ErrorKind::kConflict, file.string() + " is not a Chaja vector index");
  }
  impl->index = std::move(index);
  if (!impl->ivf)
    impl->append_codes(impl->rows(), static_cast<size_t>(impl->index->ntotal), dimension);
  return std::unique_ptr<VectorIndex>(new VectorIndex(dimension, options, std::move(impl)));
}

Status VectorIndex::save(const fs::path& file) const {
  // FAISS writes the file itself: to a temporary name, then the same sync-and-rename as
  // write_file_atomic.
  const fs::path tmp = file.string() + ".tmp";
  if (Status s = guarded("writing the vector index",
                         [&] { faiss::write_index(impl_->index.get(), tmp.c_str()); });
      !s)
    return make_error(ErrorKind::kIo, s.error().message);
  if (Status s = sync_path(tmp, false); !s) return s;
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) return make_error(ErrorKind::kIo, "cannot rename " + tmp.string() + ": " + ec.message());
  return sync_path(file.parent_path().empty() ? fs::path(".") : file.parent_path(), true);
}

Status VectorIndex::add(const int64_t* ids, const float* vectors, size_t n) {
  if (n == 0) return {};
  single_thread();
  // Re-adding an id replaces it: remove those already present first (FAISS would keep both).
  // Only present ids go to remove(): a removal scans the whole flat index, and a bulk load of
  // new ids in batches would otherwise rescan it once per batch.
  std::vector<int64_t> present;
  for (size_t i = 0; i < n; ++i)
    if (impl_->contains(ids[i])) present.push_back(ids[i]);
  if (Result<size_t> r = remove(present); !r) return r.error();
  if (!impl_->ivf && size() + n > options_.ivf_threshold) {
    // Retrain as an inverted file over everything: the old vectors and the new ones.
    const size_t old = size();
    std::vector<float> all((old + n) * dimension_);
    std::vector<int64_t> all_ids(old + n);
    auto* idmap = static_cast<faiss::IndexIDMap2*>(impl_->index.get());
    for (size_t i = 0; i < old; ++i) {
      all_ids[i] = idmap->id_map[i];
      idmap->index->reconstruct(static_cast<idx_t>(i), all.data() + i * dimension_);
    }
    std::copy(ids, ids + n, all_ids.begin() + static_cast<std::ptrdiff_t>(old));
    std::copy(vectors, vectors + n * dimension_,
              all.begin() + static_cast<std::ptrdiff_t>(old * dimension_));
    const size_t total = old + n;
    // About 4 sqrt(n) lists, each trained on at least 39 points as FAISS asks.
    const size_t nlist = std::clamp<size_t>(
        static_cast<size_t>(4 * std::sqrt(static_cast<double>(total))), 1, total / 39);
    auto quantizer = std::make_unique<faiss::IndexFlatIP>(static_cast<idx_t>(dimension_));
    auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), dimension_, nlist,
                                                     faiss::METRIC_INNER_PRODUCT);
    Status s = guarded("training the inverted file", [&] {
      ivf->train(static_cast<idx_t>(total), all.data());
      ivf->set_direct_map_type(faiss::DirectMap::Hashtable);
      ivf->add_with_ids(static_cast<idx_t>(total), all.data(), all_ids.data());
    });
    if (!s) return s;
    ivf->nprobe = options_.ivf_nprobe;
    ivf->own_fields = true;
    (void)quantizer.release();  // owned by the IVF index now (own_fields)
    impl_->index = std::move(ivf);
    impl_->ivf = true;
    impl_->codes = {};
    impl_->scales = {};
    return {};
  }
  Status s = guarded("adding vectors",
                     [&] { impl_->index->add_with_ids(static_cast<idx_t>(n), vectors, ids); });
  if (s && !impl_->ivf) impl_->append_codes(vectors, n, dimension_);
  return s;
}

Result<size_t> VectorIndex::remove(const std::vector<int64_t>& ids) {
  if (ids.empty() || size() == 0) return size_t{0};
  // FAISS's hash-table direct map (IVF) accepts only an array selector; the flat map a batch.
  faiss::IDSelectorBatch batch(ids.size(), ids.data());
  faiss::IDSelectorArray array(ids.size(), ids.data());
  const faiss::IDSelector& selector =
      impl_->ivf ? static_cast<const faiss::IDSelector&>(array) : batch;
  // FAISS compacts the flat rows in order; the int8 copy follows the same way.
  std::vector<bool> keep;
  if (!impl_->ivf) {
    const auto& id_map = impl_->idmap()->id_map;
    keep.resize(id_map.size());
    for (size_t i = 0; i < id_map.size(); ++i) keep[i] = !batch.is_member(id_map[i]);
  }
  size_t removed = 0;
  Status s = guarded("removing vectors", [&] { removed = impl_->index->remove_ids(selector); });
  if (!s) return s.error();
  if (!impl_->ivf && removed > 0) {
    size_t out = 0;
    for (size_t i = 0; i < keep.size(); ++i) {
      if (!keep[i]) continue;
      std::copy_n(impl_->codes.begin() + static_cast<std::ptrdiff_t>(i * dimension_), dimension_,
                  impl_->codes.begin() + static_cast<std::ptrdiff_t>(out * dimension_));
      impl_->scales[out++] = impl_->scales[i];
    }
    impl_->codes.resize(out * dimension_);
    impl_->scales.resize(out);
  }
  return removed;
}

std::vector<VectorHit> VectorIndex::search(const float* query, size_t k) const {
  std::vector<VectorHit> out;
  if (k == 0 || size() == 0) return out;
  k = std::min(k, size());
  if (!impl_->ivf) {
    // Exact search: FAISS holds the vectors, Chaja's SIMD core scans them (FAISS's own flat
    // scan is an SSE2 build here, several times slower; see docs/benchmarks.md).
    const auto& id_map = impl_->idmap()->id_map;
    const float* rows = impl_->rows();
    const size_t n = size();
    // The int8 copy is used only when it is whole (a failed add could leave it short).
    if (n < kInt8MinRows || impl_->scales.size() != n) {
      for (const simd::Hit& h : simd::top_k_ip(query, rows, n, dimension_, k))
        out.push_back({id_map[static_cast<size_t>(h.id)], h.score});
      return out;
    }
    // Large: the int8 scan picks a few times k candidates, fp32 re-scores them exactly.
    const size_t pool = std::min(n, std::max(k * 2, k + 32));
    std::vector<simd::Hit> rough(pool);
    rough.resize(simd::kernels().scan_ip_int8(query, impl_->codes.data(), impl_->scales.data(), n,
                                              dimension_, pool, rough.data()));
    for (simd::Hit& h : rough)
      h.score = simd::dot(query, rows + static_cast<size_t>(h.id) * dimension_, dimension_);
    std::sort(rough.begin(), rough.end(), [](const simd::Hit& a, const simd::Hit& b) {
      return a.score != b.score ? a.score > b.score : a.id < b.id;
    });
    for (size_t i = 0; i < rough.size() && i < k; ++i)
      out.push_back({id_map[static_cast<size_t>(rough[i].id)], rough[i].score});
    return out;
  }
  single_thread();
  std::vector<float> scores(k);
  std::vector<idx_t> labels(k);
  Status s = guarded("searching vectors", [&] {
    impl_->index->search(1, query, static_cast<idx_t>(k), scores.data(), labels.data());
  });
  if (!s) return out;
  for (size_t i = 0; i < k; ++i)
    if (labels[i] >= 0) out.push_back({labels[i], scores[i]});
  return out;
}

std::vector<VectorHit> VectorIndex::search_among(const float* query,
                                                 const std::vector<int64_t>& ids, size_t k) const {
  std::vector<VectorHit> out;
  if (k == 0 || size() == 0) return out;
  out.reserve(ids.size());
  if (!impl_->ivf) {
    // Flat: each row read in place through IDMap2's id -> position map.
    const auto& rev = impl_->idmap()->rev_map;
    const float* rows = impl_->rows();
    for (const int64_t id : ids) {
      auto it = rev.find(id);
      if (it == rev.end()) continue;
      out.push_back(
          {id, simd::dot(query, rows + static_cast<size_t>(it->second) * dimension_, dimension_)});
    }
  } else {
    std::vector<float> row(dimension_);
    for (const int64_t id : ids)
      if (impl_->contains(id) && reconstruct(id, row.data()))
        out.push_back({id, simd::dot(query, row.data(), dimension_)});
  }
  auto better = [](const VectorHit& a, const VectorHit& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  };
  if (out.size() > k) {
    std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), better);
    out.resize(k);
  }
  std::sort(out.begin(), out.end(), better);
  return out;
}

bool VectorIndex::reconstruct(int64_t id, float* out) const {
  return guarded("reconstructing a vector", [&] { impl_->index->reconstruct(id, out); }).ok();
}

std::vector<int64_t> VectorIndex::ids() const {
  std::vector<int64_t> out;
  if (impl_->ivf) {
    for (const auto& [id, pos] : impl_->as_ivf()->direct_map.hashtable) out.push_back(id);
  } else {
    const auto& id_map = impl_->idmap()->id_map;
    out.assign(id_map.begin(), id_map.end());
  }
  return out;
}

size_t VectorIndex::size() const {
  return static_cast<size_t>(impl_->index->ntotal);
}

const char* VectorIndex::kind() const {
  return impl_->ivf ? "ivf" : "flat";
}

}  // namespace chaja
