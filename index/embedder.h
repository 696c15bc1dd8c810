// Embedders turn text into dense vectors. One interface for the built-in embedder and for the
// provider embedders of connectors/ (OpenAI, Mistral, Ollama, CLOVA), chosen by name through a
// registry: "builtin", or "provider:model" as in CONTRACT §2. A collection records the name and
// dimension it was built with; the vector index refuses vectors of another dimension.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "index/result.h"

namespace chaja {

// Some models embed queries and documents differently (instruction prefixes, input_type).
enum class EmbedKind { kDocument, kQuery };

class Embedder {
 public:
  virtual ~Embedder() = default;
  // The full name as users write it ("builtin", "openai:text-embedding-3-small").
  virtual std::string name() const = 0;
  virtual size_t dimension() const = 0;
  // Embeds each text into dimension() floats, rows in input order, each L2-normalised.
  // Thread-safe; may block on the network for provider embedders.
  virtual Result<std::vector<float>> embed(const std::vector<std::string>& texts,
                                           EmbedKind kind) const = 0;
};

// Scales v[0, dim) to unit length (a zero vector stays zero). For embedder implementations.
void l2_normalise(float* v, size_t dim);

// Makes embedders by name. A factory is registered per provider ("builtin", "openai", ...) and
// receives the model part of "provider:model" ("" for a bare provider name).
class EmbedderRegistry {
 public:
  using Factory = std::function<Result<std::unique_ptr<Embedder>>(const std::string& model)>;

  void add(const std::string& provider, Factory factory);
  Result<std::unique_ptr<Embedder>> create(const std::string& name) const;
  std::vector<std::string> providers() const;

  // The process-wide registry, with "builtin" registered.
  static EmbedderRegistry& global();

 private:
  mutable std::mutex mu_;
  std::map<std::string, Factory> factories_;
};

}  // namespace chaja
