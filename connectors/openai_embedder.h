// Embeddings over the OpenAI `/embeddings` endpoint, for the openai, mistral and openai-compat
// providers (llama.cpp and vLLM serve the same shape under /v1/embeddings).
//
// Request: {"model", "input": [texts...], "encoding_format": "float"}, in batches (at most
// batch_size texts and about max_batch_bytes of text per request). Response: `data[]` with
// `index` and `embedding` as a float array or a base64 string of little-endian float32 (what the
// official SDKs ask for by default; some servers send it regardless). Rows are put back in input
// order by `index`, checked (count, one dimension, finite values), and L2-normalised (a zero
// vector stays zero).
// Dimension: from the known table (text-embedding-3-small 1536, -3-large 3072, ada-002 1536,
// mistral-embed 1024, codestral-embed 1536) or the configured value; otherwise learnt from the
// first response, and dimension() makes a one-text probe call when asked before any embed().
// A response of another dimension than the one known is kUpstream.
// EmbedKind is ignored: these APIs embed queries and documents alike. An empty text is sent as a
// single space (OpenAI rejects empty inputs).
// Errors: the codec's error mapping (401/403 name the key variable; 429 kRateLimited after the
// retries), malformed bodies kUpstream; the key never appears in a message.
// Thread-safe (each call leases its own HTTP client).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http_call.h"
#include "connectors/openai_codec.h"
#include "index/embedder.h"

namespace chaja {

class OpenAiEmbedder : public Embedder {
 public:
  struct Config {
    std::string model;     // the provider's model name ("text-embedding-3-small")
    std::string base_url;  // e.g. "https://api.openai.com/v1"
    std::string api_key;   // may be empty (local servers)
    HttpCallOptions call;  // call.provider names the provider ("openai")
    std::shared_ptr<const OpenAiCodec> codec;  // error mapping and auth headers
    size_t dimension = 0;                      // 0: the known table, else learnt
    size_t batch_size = 96;
    size_t max_batch_bytes = 256 * 1024;
  };

  explicit OpenAiEmbedder(Config config);

  std::string name() const override { return config_.call.provider + ":" + config_.model; }
  // 0 when the dimension is unknown and the probe call failed.
  size_t dimension() const override;
  Result<std::vector<float>> embed(const std::vector<std::string>& texts,
                                   EmbedKind kind) const override;

 private:
  Result<std::vector<float>> embed_batch(const std::vector<std::string>& texts, size_t begin,
                                         size_t end, size_t& dim) const;

  Config config_;
  mutable HttpClientPool pool_;
  mutable std::mutex mu_;
  mutable size_t dimension_ = 0;  // guarded by mu_
};

// The dimension of a well-known embedding model, or 0.
size_t known_embedding_dimension(std::string_view model);

// Parses an OpenAI-shaped embeddings response holding `count` rows into count x dim floats
// (not normalised). dim: 0 to learn it from the response, else the dimension required.
Result<std::vector<float>> parse_openai_embeddings(std::string_view body, size_t count, size_t& dim,
                                                   const std::string& provider);

}  // namespace chaja
