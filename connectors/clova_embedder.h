// Embeddings from NAVER CLOVA Studio, for `clova:MODEL` embedders ("clova:v2").
//
// API: CLOVA Studio embedding v2, POST {CLOVASTUDIO_BASE_URL}/v1/api-tools/embedding/v2
// (kClovaEmbeddingPath; 1024 dimensions, up to about 8192 tokens of text), with the headers of
// the chat API (ClovaCodec::add_headers: `Authorization: Bearer <key>`, a fresh random
// `X-NCP-CLOVASTUDIO-REQUEST-ID` per text, JSON content type). The older embedding models take
// the same request and answer under /v1/api-tools/embedding/{model} (clir-emb-dolphin,
// clir-sts-dolphin; 1024 dimensions, up to 500 tokens): the model name is that path segment,
// with "v2" (and "bge-m3", the name the OpenAI-compatible surface gives the v2 model) meaning
// embedding v2. A legacy "/testapp" prefix belongs in the base URL.
//
// The API takes one text per request ({"text": ...}, clova_embedding_body): embed() sends each
// text on its own, at most `concurrency` at a time (and within the provider's limiter), and
// puts the rows back in input order. The answer is the status envelope
// {"status":{"code","message"},"result":{"embedding","inputTokens"}} (clova_parse_embedding).
// Rows are checked (one dimension, finite values) and L2-normalised (a zero vector stays zero).
// EmbedKind is ignored (the API has no query/document distinction). An empty text is sent as a
// single space (the API wants at least one character).
// Dimension: the configured one, else 1024 for the models above, else learnt from the first
// response (dimension() probes with one call when asked before any embed()). A response of
// another dimension is kUpstream.
// Errors: a failing status code inside a 2xx is an error (not retried); HTTP 429 and codes 429xx
// are kRateLimited (HTTP 429 and 5xx retried by send_with_retries first); 401/403 kUpstream
// naming CLOVASTUDIO_API_KEY; everything else kUpstream quoting status.message; the first
// failing text (in input order) decides the error, and no new text is sent after a failure.
// The key never appears in a message.
// Thread-safe (each request leases its own HTTP client).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/clova_codec.h"
#include "connectors/http_call.h"
#include "index/embedder.h"

namespace chaja {

class ClovaEmbedder : public Embedder {
 public:
  struct Config {
    std::string model = "v2";  // "v2" (embedding v2), "clir-emb-dolphin", ...
    std::string base_url;      // the CLOVA Studio root, "https://clovastudio.stream.ntruss.com"
    std::string api_key;       // the Bearer key (CLOVASTUDIO_API_KEY)
    HttpCallOptions call;      // call.provider "clova", call.key_variable "CLOVASTUDIO_API_KEY"
    std::shared_ptr<const ClovaCodec> codec;  // headers and error mapping; null: a default one
    size_t dimension = 0;                     // 0: 1024 for the known models, else learnt
    size_t concurrency = 4;                   // texts in flight per embed() call (>= 1)
  };

  explicit ClovaEmbedder(Config config);

  std::string name() const override { return "clova:" + config_.model; }
  // 0 when the dimension is unknown and the probe call failed.
  size_t dimension() const override;
  Result<std::vector<float>> embed(const std::vector<std::string>& texts,
                                   EmbedKind kind) const override;

 private:
  Result<std::vector<float>> embed_one(const std::string& text) const;

  Config config_;
  std::string path_;
  mutable HttpClientPool pool_;
  mutable std::mutex mu_;
  mutable size_t dimension_ = 0;  // guarded by mu_
};

// The request path for an embedding model: kClovaEmbeddingPath for "v2" (or "bge-m3"), else
// "/v1/api-tools/embedding/" + the model as one %-encoded path segment.
std::string clova_embedding_path(std::string_view model);

// 1024 for the documented CLOVA embedding models (v2, bge-m3, clir-emb-dolphin,
// clir-sts-dolphin), else 0.
size_t clova_embedding_dimension(std::string_view model);

}  // namespace chaja
