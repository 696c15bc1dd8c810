// An in-memory BM25 index of one collection's chunks: the retriever's fast lexical side.
//
// FTS5 scores every row that matches any OR-ed query term, one B-tree lookup of the row's length
// each: about 20 ms per query at 100k chunks. This index holds the same terms (cut by the full
// text index's own tokenizer, see Store::term_cutter) in posting lists in memory and scores them
// term at a time into an array, with FTS5's bm25 formula and column weights, so on a store with
// one collection its scores equal FTS5's bm25(). Statistics (row count, average length, document
// frequency) are the collection's. Derived data: the store stays the source of truth.
//
// Removal marks a row dead and updates the statistics at once; dead rows are purged from the
// posting lists when they reach a quarter of the rows.
//
// Thread safety: const methods may run concurrently; add/remove need exclusive access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace chaja {

struct LexicalOptions {
  double k1 = 1.2;  // FTS5's constants
  double b = 0.75;
  double title_weight = 0.5;  // the title column (document title with the section) counts half
  double body_weight = 1.0;
};

struct LexicalHit {
  int64_t chunk_id = 0;
  int64_t doc_id = 0;
  double score = 0;  // BM25, higher is better
};

// Which query terms are worth scoring, given each one's document frequency among `rows` rows:
// rarest first, at most 12; a term in more than a fifth of the rows is dropped once three rarer
// ones are kept (its BM25 weight there is ln 4 or less, against about 9 for a rare term, and it
// costs the most). Returns indexes into df. Shared with the store's FTS5 path.
std::vector<size_t> useful_term_indexes(const std::vector<int64_t>& df, int64_t rows);

class LexicalIndex {
 public:
  explicit LexicalIndex(LexicalOptions options = {}) : options_(options) {}

  // Adds a chunk with the terms of its two columns. Re-adding an id replaces it.
  void add(int64_t chunk_id, int64_t doc_id, const std::vector<std::string>& title_terms,
           const std::vector<std::string>& body_terms);
  // Removes a chunk; false when it was not there.
  bool remove(int64_t chunk_id);
  bool contains(int64_t chunk_id) const { return slot_of_.count(chunk_id) > 0; }
  size_t size() const { return slot_of_.size(); }

  // Rows containing the term (live ones).
  int64_t document_frequency(std::string_view term) const;

  // The best n chunks for the query terms (already cut like the indexed text, de-duplicated),
  // best first, at most per_document_cap of one document (0: no cap). Ties: lower chunk id.
  // With allowed_docs, only chunks of those documents (scores keep the whole index's statistics).
  std::vector<LexicalHit> search(const std::vector<std::string>& terms, size_t n,
                                 size_t per_document_cap,
                                 const std::unordered_set<int64_t>* allowed_docs = nullptr) const;

 private:
  struct Postings {
    std::vector<uint32_t> slots;
    std::vector<float> freq;  // the term's weighted frequency in the row (FTS5's aFreq)
    int64_t live = 0;         // live rows among slots
  };
  void purge();

  LexicalOptions options_;
  std::unordered_map<std::string, uint32_t> term_id_;
  std::vector<Postings> postings_;
  // Per slot (a row, alive or dead): its chunk, document, length in tokens and terms.
  std::vector<int64_t> chunk_of_;
  std::vector<int64_t> doc_of_;
  std::vector<uint32_t> length_;
  std::vector<std::vector<uint32_t>> terms_of_;
  std::vector<bool> alive_;
  std::unordered_map<int64_t, uint32_t> slot_of_;
  size_t dead_ = 0;
  uint64_t total_length_ = 0;  // live rows only
};

}  // namespace chaja
