// Embeddings from a local (or proxied) Ollama server: POST {OLLAMA_HOST}/api/embed, for
// `ollama:MODEL` embedders ("ollama:nomic-embed-text").
//
// Request: {"model", "input": [texts...]} (ollama_embed_body), in batches of at most batch_size
// texts and about max_batch_bytes of text. Response: `embeddings`, one row per input in input
// order (ollama_parse_embed), checked (row count, one dimension, finite values) and
// L2-normalised (a zero vector stays zero). Ollama truncates an input longer than the model's
// context window silently (the API's `truncate` defaults to true).
// Instruction prefixes: models trained with them get them by EmbedKind (Ollama adds none), from
// a small table unless configured: nomic-embed-text and nomic-embed-text-v2-moe "search_query: "
// / "search_document: ", mxbai-embed-large "Represent this sentence for searching relevant
// passages: " for queries only. Other models get the text as it is. An empty text (after the
// prefix) is sent as a single space: Ollama answers an empty input with no row.
// Dimension: the configured one, else learnt from the first response; dimension() makes a
// one-text probe call when asked before any embed(). A response of another dimension is
// kUpstream.
// Errors (as chat.h lists them): no server at the address (connection refused, unknown host) is
// kUnavailable naming OLLAMA_HOST and its value; an unknown model (404) kUpstream quoting the
// server and naming the pull command; 401/403 (a proxy) kUpstream naming OLLAMA_API_KEY; 429
// kRateLimited; 5xx kUpstream; an {"error"} or malformed body kUpstream. 429, 5xx and failed
// connections are retried by send_with_retries. The key never appears in a message.
// Thread-safe (each call leases its own HTTP client).
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http_call.h"
#include "index/embedder.h"

namespace chaja {

struct OllamaEmbedPrefixes {
  std::string query;
  std::string document;
};

// The instruction prefixes a well-known embedding model expects, by its name with any tag
// (":latest", ":v1.5") or namespace ("library/") dropped; empty for other models.
OllamaEmbedPrefixes ollama_embed_prefixes(std::string_view model);

class OllamaEmbedder : public Embedder {
 public:
  struct Config {
    std::string model;     // as Ollama names it ("nomic-embed-text", "bge-m3:latest")
    std::string base_url;  // the Ollama root, "http://127.0.0.1:11434" (no /api)
    std::string api_key;   // "" unless a proxy in front of Ollama wants a Bearer token
    std::string host_variable = "OLLAMA_HOST";  // named when nothing answers at base_url
    HttpCallOptions call;  // call.provider "ollama", call.key_variable "OLLAMA_API_KEY"
    size_t dimension = 0;  // 0: learnt from the first response
    size_t batch_size = 32;
    size_t max_batch_bytes = size_t{128} << 10;
    // Instruction prefixes by EmbedKind; nullopt: the known table (ollama_embed_prefixes).
    std::optional<OllamaEmbedPrefixes> prefixes;
  };

  explicit OllamaEmbedder(Config config);

  std::string name() const override { return "ollama:" + config_.model; }
  // 0 when the dimension is unknown and the probe call failed.
  size_t dimension() const override;
  Result<std::vector<float>> embed(const std::vector<std::string>& texts,
                                   EmbedKind kind) const override;

 private:
  Result<std::vector<float>> embed_batch(const std::vector<std::string>& inputs, size_t& dim) const;
  Error transport_error(Error e) const;

  Config config_;
  mutable HttpClientPool pool_;
  mutable std::mutex mu_;
  mutable size_t dimension_ = 0;  // guarded by mu_
};

}  // namespace chaja
