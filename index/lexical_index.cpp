#include "index/lexical_index.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace chaja {

std::vector<size_t> useful_term_indexes(const std::vector<int64_t>& df, int64_t rows) {
  constexpr size_t kMaxTerms = 12;
  constexpr size_t kKeepWhenAllCommon = 3;
  std::vector<size_t> order(df.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (df.size() <= 1) return order;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return df[a] < df[b]; });
  std::vector<size_t> out;
  for (const size_t i : order) {
    if (out.size() == kMaxTerms) break;
    if (df[i] * 5 > rows && out.size() >= kKeepWhenAllCommon) break;
    out.push_back(i);
  }
  return out;
}

void LexicalIndex::add(int64_t chunk_id, int64_t doc_id,
                       const std::vector<std::string>& title_terms,
                       const std::vector<std::string>& body_terms) {
  remove(chunk_id);
  const auto slot = static_cast<uint32_t>(chunk_of_.size());
  // Weighted frequency per distinct term of the row, in first-seen order.
  std::vector<std::pair<uint32_t, float>> row;
  std::unordered_map<uint32_t, size_t> at;
  auto count = [&](const std::vector<std::string>& terms, double weight) {
    for (const std::string& t : terms) {
      auto [it, fresh] = term_id_.try_emplace(t, static_cast<uint32_t>(postings_.size()));
      if (fresh) postings_.emplace_back();
      auto [pos, first] = at.try_emplace(it->second, row.size());
      if (first) row.emplace_back(it->second, 0.0f);
      row[pos->second].second += static_cast<float>(weight);
    }
  };
  count(title_terms, options_.title_weight);
  count(body_terms, options_.body_weight);
  std::vector<uint32_t> ids;
  ids.reserve(row.size());
  for (const auto& [term, freq] : row) {
    Postings& p = postings_[term];
    p.slots.push_back(slot);
    p.freq.push_back(freq);
    ++p.live;
    ids.push_back(term);
  }
  const auto length = static_cast<uint32_t>(title_terms.size() + body_terms.size());
  chunk_of_.push_back(chunk_id);
  doc_of_.push_back(doc_id);
  length_.push_back(length);
  terms_of_.push_back(std::move(ids));
  alive_.push_back(true);
  slot_of_[chunk_id] = slot;
  total_length_ += length;
}

bool LexicalIndex::remove(int64_t chunk_id) {
  auto it = slot_of_.find(chunk_id);
  if (it == slot_of_.end()) return false;
  const uint32_t slot = it->second;
  slot_of_.erase(it);
  alive_[slot] = false;
  total_length_ -= length_[slot];
  for (const uint32_t term : terms_of_[slot]) --postings_[term].live;
  terms_of_[slot].clear();
  terms_of_[slot].shrink_to_fit();
  ++dead_;
  if (dead_ * 4 > chunk_of_.size()) purge();
  return true;
}

// Renumbers the live rows densely, in their order, and drops the dead ones from every list.
void LexicalIndex::purge() {
  std::vector<uint32_t> renumber(chunk_of_.size(), UINT32_MAX);
  uint32_t next = 0;
  for (size_t s = 0; s < chunk_of_.size(); ++s) {
    if (!alive_[s]) continue;
    renumber[s] = next;
    chunk_of_[next] = chunk_of_[s];
    doc_of_[next] = doc_of_[s];
    length_[next] = length_[s];
    if (next != s) terms_of_[next] = std::move(terms_of_[s]);  // a self-move would empty it
    slot_of_[chunk_of_[next]] = next;
    ++next;
  }
  chunk_of_.resize(next);
  doc_of_.resize(next);
  length_.resize(next);
  terms_of_.resize(next);
  alive_.assign(next, true);
  for (Postings& p : postings_) {
    size_t out = 0;
    for (size_t i = 0; i < p.slots.size(); ++i) {
      const uint32_t to = renumber[p.slots[i]];
      if (to == UINT32_MAX) continue;
      p.slots[out] = to;
      p.freq[out] = p.freq[i];
      ++out;
    }
    p.slots.resize(out);
    p.freq.resize(out);
  }
  dead_ = 0;
}

int64_t LexicalIndex::document_frequency(std::string_view term) const {
  auto it = term_id_.find(std::string(term));
  return it == term_id_.end() ? 0 : postings_[it->second].live;
}

std::vector<LexicalHit> LexicalIndex::search(
    const std::vector<std::string>& terms, size_t n, size_t per_document_cap,
    const std::unordered_set<int64_t>* allowed_docs) const {
  std::vector<LexicalHit> out;
  const auto rows = static_cast<int64_t>(slot_of_.size());
  if (rows == 0 || n == 0) return out;
  std::vector<const Postings*> lists;
  std::vector<int64_t> df;
  for (const std::string& t : terms) {
    // Terms no live row holds score nothing: they must not count against the term limits.
    auto it = term_id_.find(t);
    if (it == term_id_.end() || postings_[it->second].live == 0) continue;
    lists.push_back(&postings_[it->second]);
    df.push_back(postings_[it->second].live);
  }
  // FTS5's bm25: idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6; per row and term,
  // idf * f * (k1 + 1) / (f + k1 * (1 - b + b * D / avgdl)) with f the weighted frequency and
  // D the row's length in tokens, both columns together.
  const double avgdl = static_cast<double>(total_length_) / static_cast<double>(rows);
  const double k1 = options_.k1, b = options_.b;
  std::vector<double> score(chunk_of_.size(), 0.0);
  std::vector<uint32_t> touched;
  for (const size_t i : useful_term_indexes(df, rows)) {
    const Postings* p = lists[i];
    if (p == nullptr || p->live == 0) continue;
    const auto nd = static_cast<double>(p->live);
    double idf = std::log((static_cast<double>(rows) - nd + 0.5) / (nd + 0.5));
    if (idf <= 0.0) idf = 1e-6;
    for (size_t j = 0; j < p->slots.size(); ++j) {
      const uint32_t s = p->slots[j];
      if (!alive_[s]) continue;
      const double f = p->freq[j];
      const double norm = k1 * (1.0 - b + b * static_cast<double>(length_[s]) / avgdl);
      if (score[s] == 0.0) touched.push_back(s);
      score[s] += idf * (f * (k1 + 1.0)) / (f + norm);
    }
  }
  if (allowed_docs != nullptr)
    touched.erase(std::remove_if(touched.begin(), touched.end(),
                                 [&](uint32_t s) { return allowed_docs->count(doc_of_[s]) == 0; }),
                  touched.end());
  auto better = [&](uint32_t a, uint32_t c) {
    return score[a] != score[c] ? score[a] > score[c] : chunk_of_[a] < chunk_of_[c];
  };
  // Usually the best few times n suffice, even under a cap; otherwise everything is ordered.
  size_t window = std::min(touched.size(), std::max<size_t>(n * 4, 64));
  for (;;) {
    std::nth_element(touched.begin(), touched.begin() + static_cast<std::ptrdiff_t>(window),
                     touched.end(), better);
    std::sort(touched.begin(), touched.begin() + static_cast<std::ptrdiff_t>(window), better);
    out.clear();
    std::unordered_map<int64_t, size_t> per_doc;
    for (size_t i = 0; i < window && out.size() < n; ++i) {
      const uint32_t s = touched[i];
      if (per_document_cap > 0 && per_doc[doc_of_[s]]++ >= per_document_cap) continue;
      out.push_back({chunk_of_[s], doc_of_[s], score[s]});
    }
    if (out.size() == n || window == touched.size()) return out;
    window = touched.size();
  }
}

}  // namespace chaja
