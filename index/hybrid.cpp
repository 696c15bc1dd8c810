#include "index/hybrid.h"

#include <algorithm>
#include <unordered_map>

namespace chaja {

std::vector<RankedCandidate> fuse(std::vector<RankedCandidate> candidates,
                                  const HybridOptions& options, size_t k) {
  std::sort(candidates.begin(), candidates.end(),
            [](const RankedCandidate& a, const RankedCandidate& b) {
              return a.dense_score > b.dense_score ||
                     (a.dense_score == b.dense_score && a.chunk_id < b.chunk_id);
            });
  for (size_t i = 0; i < candidates.size(); ++i) {
    RankedCandidate& c = candidates[i];
    c.dense_rank = i + 1;
    c.fused = options.dense_weight / (options.rrf_k + static_cast<double>(c.dense_rank));
    if (c.bm25_rank > 0)
      c.fused += options.bm25_weight / (options.rrf_k + static_cast<double>(c.bm25_rank));
  }
  std::stable_sort(
      candidates.begin(), candidates.end(),
      [](const RankedCandidate& a, const RankedCandidate& b) { return a.fused > b.fused; });
  std::vector<RankedCandidate> out;
  std::unordered_map<int64_t, size_t> per_doc;
  for (const RankedCandidate& c : candidates) {
    if (out.size() == k) break;
    if (options.per_document_cap > 0 && per_doc[c.doc_id] >= options.per_document_cap) continue;
    ++per_doc[c.doc_id];
    out.push_back(c);
  }
  return out;
}

}  // namespace chaja
