// Metadata filters: which documents a search may return, by the metadata (a JSON object) stored
// with each document. A filter is a conjunction of conditions on top-level keys; each condition
// holds when the document's value equals one of the condition's values, compared as JSON values
// (the string "2024" is not the number 2024; 2024 equals 2024.0; true is not 1). A document
// without the key fails the condition.
//
// These are domain types and their limits; the store resolves a filter against a collection to
// document and chunk ids (Store::filter_documents, with SQLite's JSON functions), and every
// retrieval path (BM25, dense, fusion, the agent's searches) takes only those.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "index/result.h"

namespace chaja {

inline constexpr size_t kMaxFilterKeys = 16;
inline constexpr size_t kMaxFilterValues = 32;  // per key ("any of")
inline constexpr size_t kMaxFilterKeyChars = 64;
inline constexpr size_t kMaxFilterStringBytes = 1024;

// A JSON scalar a metadata value is compared with.
struct FilterValue {
  enum class Kind { kString, kInteger, kReal, kBool };
  Kind kind = Kind::kString;
  std::string text;      // kString
  int64_t integer = 0;   // kInteger
  double real = 0;       // kReal
  bool boolean = false;  // kBool

  static FilterValue of_string(std::string s);
  static FilterValue of_integer(int64_t v);
  static FilterValue of_real(double v);
  static FilterValue of_bool(bool v);
};

struct FilterCondition {
  // A top-level key of the metadata object, taken literally: "a.b" is one key, not a path.
  std::string key;
  std::vector<FilterValue> any_of;  // the document's value equals one of these
};

struct MetadataFilter {
  std::vector<FilterCondition> conditions;  // every one must hold; none: every document
  bool empty() const { return conditions.empty(); }
};

// A key: 1 to 64 characters of A-Z a-z 0-9 _ . - (kInvalidInput otherwise, naming it).
Status check_filter_key(std::string_view key);
// Every limit: at most 16 distinct keys, each valid, 1 to 32 values each, strings UTF-8 and at
// most 1 KiB, reals finite.
Status check_metadata_filter(const MetadataFilter& filter);

// A filter resolved against one collection at one moment: the documents it allows and their
// chunks. Shared, read-only, by the searches of one request.
struct AllowedDocuments {
  std::unordered_set<int64_t> docs;
  std::vector<int64_t> chunks;  // every chunk of those documents, ascending
  bool allows(int64_t doc_id) const { return docs.count(doc_id) > 0; }
};

}  // namespace chaja
