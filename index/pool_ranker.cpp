#include "index/pool_ranker.h"

#include <algorithm>
#include <memory>
#include <unordered_set>

#include "index/builtin_embedder.h"
#include "index/lexical_index.h"
#include "index/simd/simd.h"
#include "index/tokenizer.h"

namespace chaja {

std::string pool_embedding_text(const PoolPassage& p) {
  return p.title + "\n" + p.text;
}

EmbedFn pool_builtin_embedder(const std::vector<PoolPassage>& pool) {
  auto stats = std::make_shared<FeatureStats>();
  for (const PoolPassage& p : pool) stats->add_document(pool_embedding_text(p));
  auto embedder =
      std::make_shared<const BuiltinEmbedder>(BuiltinEmbedder::kDefaultDimension, std::move(stats));
  return [embedder](const std::vector<std::string>& texts, EmbedKind kind) {
    return embedder->embed(texts, kind);
  };
}

PoolRanking rank_pool(std::string_view query, const std::vector<PoolPassage>& pool,
                      Store::TermCutter& cutter, const EmbedFn& embed,
                      const PoolRankOptions& options, size_t k) {
  PoolRanking out;
  if (pool.empty() || k == 0) return out;

  // BM25 over the pool, with the pool's statistics.
  LexicalIndex lexical;
  std::vector<std::string> title_terms, body_terms;
  for (size_t i = 0; i < pool.size(); ++i) {
    title_terms.clear();
    body_terms.clear();
    cutter.cut(pool[i].title, title_terms);
    cutter.cut(pool[i].text, body_terms);
    lexical.add(static_cast<int64_t>(i + 1), pool[i].group, title_terms, body_terms);
  }
  std::vector<std::string> terms;
  for (const std::string& t : query_terms(query)) cutter.cut(t, terms);
  std::unordered_set<std::string> seen;
  terms.erase(std::remove_if(terms.begin(), terms.end(),
                             [&](const std::string& t) { return !seen.insert(t).second; }),
              terms.end());
  std::vector<RankedCandidate> candidates(pool.size());
  for (size_t i = 0; i < pool.size(); ++i) {
    candidates[i].chunk_id = static_cast<int64_t>(i + 1);
    candidates[i].doc_id = pool[i].group;
  }
  const std::vector<LexicalHit> hits = lexical.search(terms, pool.size(), 0);
  for (size_t r = 0; r < hits.size(); ++r) {
    RankedCandidate& c = candidates[static_cast<size_t>(hits[r].chunk_id - 1)];
    c.bm25_rank = r + 1;
    c.bm25_score = hits[r].score;
  }

  // Cosine with the query under one embedder; the passages that lack it are embedded at once.
  if (embed) {
    std::vector<std::string> texts;
    std::vector<size_t> missing;
    for (size_t i = 0; i < pool.size(); ++i)
      if (!pool[i].dense_score) {
        missing.push_back(i);
        texts.push_back(pool_embedding_text(pool[i]));
      }
    auto q = embed({std::string(query)}, EmbedKind::kQuery);
    Result<std::vector<float>> rows = std::vector<float>{};
    if (q && !texts.empty()) rows = embed(texts, EmbedKind::kDocument);
    if (!q) {
      out.dense_error = q.error();
    } else if (!rows) {
      out.dense_error = rows.error();
    } else {
      const size_t d = q->size();
      if (d == 0 || rows->size() != texts.size() * d) {
        out.dense_error =
            make_error(ErrorKind::kUpstream, "the embedder returned vectors of another dimension");
      } else {
        out.dense = true;
        for (size_t i = 0; i < pool.size(); ++i)
          if (pool[i].dense_score) candidates[i].dense_score = *pool[i].dense_score;
        for (size_t m = 0; m < missing.size(); ++m)
          candidates[missing[m]].dense_score = simd::dot(q->data(), rows->data() + m * d, d);
      }
    }
  }

  std::vector<RankedCandidate> list;
  for (const RankedCandidate& c : candidates)
    if (c.bm25_rank > 0 || (out.dense && c.dense_score >= options.min_dense_only_score))
      list.push_back(c);
  HybridOptions hybrid = options.hybrid;
  if (!out.dense) {
    hybrid.dense_weight = 0;
    for (RankedCandidate& c : list) c.dense_score = 0;
  }
  out.ranked = fuse(std::move(list), hybrid, k);
  if (!out.dense)
    for (RankedCandidate& c : out.ranked) c.dense_rank = 0;
  return out;
}

}  // namespace chaja
