// The `builtin` embedder: no model file, no network, deterministic. It is lexical-semantic, not a
// neural model: a text becomes the bag of its character n-grams (Hangul/Han/Kana syllable 1-3
// grams; Latin words and their 3-5 character grams), each hashed to a signed coordinate of a
// fixed-size vector (the hashing trick), weighted by sublinear term frequency times an inverse
// document frequency learned from the collection (FeatureStats), then L2-normalised. Texts that
// share rare words or word pieces (반도체의 / 반도체를, connector / connectors) land close;
// paraphrases with no shared pieces do not: for meaning beyond spelling, switch the collection
// to a provider embedder (e.g. openai:text-embedding-3-small, ollama:nomic-embed-text).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "index/embedder.h"

namespace chaja {

// Document frequencies of hashed features, learned from a collection's chunks.
// Not thread-safe to update; share a const one for embedding.
class FeatureStats {
 public:
  static constexpr size_t kBuckets = size_t{1} << 20;

  FeatureStats();
  // Counts each distinct feature of one document (chunk) once.
  void add_document(std::string_view text);
  uint64_t documents() const { return documents_; }
  // Smoothed inverse document frequency: log((N + 1) / (df + 1)) + 1; 1 for every feature when
  // nothing has been learned yet.
  float idf(uint64_t feature_hash) const;

  std::string serialize() const;
  static Result<FeatureStats> deserialize(std::string_view bytes);

 private:
  uint64_t documents_ = 0;
  double log_documents_ = 0;  // log(documents_ + 1), kept with it
  std::vector<uint32_t> df_;
};

class BuiltinEmbedder final : public Embedder {
 public:
  static constexpr size_t kDefaultDimension = 384;

  explicit BuiltinEmbedder(size_t dimension = kDefaultDimension,
                           std::shared_ptr<const FeatureStats> stats = nullptr);
  std::string name() const override { return "builtin"; }
  size_t dimension() const override { return dimension_; }
  Result<std::vector<float>> embed(const std::vector<std::string>& texts,
                                   EmbedKind kind) const override;
  // One text into out[0, dimension()).
  void embed_one(std::string_view text, float* out) const;

 private:
  size_t dimension_;
  std::shared_ptr<const FeatureStats> stats_;
};

// Calls fn(hash) for every feature occurrence of the text (the same hashes FeatureStats counts).
void for_each_feature(std::string_view text, const std::function<void(uint64_t)>& fn);

}  // namespace chaja
