#include "connectors/ollama_embedder.h"

#include <cctype>
#include <cmath>
#include <utility>

#include "connectors/ollama_codec.h"

namespace chaja {
namespace {

Error dimension_mismatch(size_t got, size_t expected) {
  return make_error(ErrorKind::kUpstream, "ollama: embedding of " + std::to_string(got) +
                                              " dimensions where " + std::to_string(expected) +
                                              " were expected");
}

}  // namespace

OllamaEmbedPrefixes ollama_embed_prefixes(std::string_view model) {
  if (const size_t slash = model.rfind('/'); slash != std::string_view::npos)
    model.remove_prefix(slash + 1);
  if (const size_t colon = model.find(':'); colon != std::string_view::npos)
    model = model.substr(0, colon);
  std::string base(model);
  for (char& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (base == "nomic-embed-text" || base == "nomic-embed-text-v2-moe")
    return {"search_query: ", "search_document: "};
  if (base == "mxbai-embed-large")
    return {"Represent this sentence for searching relevant passages: ", ""};
  return {};
}

OllamaEmbedder::OllamaEmbedder(Config config) : config_(std::move(config)) {
  if (config_.call.provider.empty()) config_.call.provider = "ollama";
  if (!config_.prefixes) config_.prefixes = ollama_embed_prefixes(config_.model);
  if (config_.batch_size == 0) config_.batch_size = 1;
  dimension_ = config_.dimension;
}

size_t OllamaEmbedder::dimension() const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dimension_ != 0) return dimension_;
  }
  auto probe = embed({"dimension probe"}, EmbedKind::kQuery);
  if (!probe.ok()) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  return dimension_;
}

Error OllamaEmbedder::transport_error(Error e) const {
  if (e.kind == ErrorKind::kTooLarge) e.kind = ErrorKind::kUpstream;
  e.message = "ollama: " + e.message;
  // Nothing listening (or no such host): most likely Ollama is not running there.
  if (e.kind == ErrorKind::kUnavailable ||
      (e.kind == ErrorKind::kTimeout && e.message.find("connect timeout") != std::string::npos))
    e.message += " (is Ollama running? " + config_.host_variable + " is " + config_.base_url + ")";
  return scrub_key(std::move(e), config_.api_key);
}

Result<std::vector<float>> OllamaEmbedder::embed_batch(const std::vector<std::string>& inputs,
                                                       size_t& dim) const {
  HttpRequest http;
  http.method = "POST";
  http.url = join_url(config_.base_url, kOllamaEmbedPath);
  http.headers.set("Accept", "application/json");
  OllamaCodec().add_headers(http.headers, config_.api_key);  // Content-Type; Bearer when a key
  http.body = ollama_embed_body(config_.model, inputs);
  http.timeouts = config_.call.timeouts;
  http.max_body_bytes = config_.call.max_response_bytes;

  int attempts = 0;
  auto res = send_with_retries(pool_, http, config_.call, nullptr, attempts);
  if (!res.ok()) return transport_error(res.error());
  if (res->status < 200 || res->status > 299) {
    Error e = OllamaCodec().parse_error(res->status, res->body);
    if (res->status == 404) {
      const std::string generic = "ollama pull MODEL";
      if (const size_t at = e.message.find(generic); at != std::string::npos)
        e.message.replace(at, generic.size(), "ollama pull " + config_.model);
    }
    if ((res->status == 401 || res->status == 403) && !config_.call.key_variable.empty())
      e.message += " (check " + config_.call.key_variable + ")";
    return scrub_key(std::move(e), config_.api_key);
  }
  auto rows = ollama_parse_embed(res->body, inputs.size());
  if (!rows.ok()) return scrub_key(rows.error(), config_.api_key);
  const size_t got = rows->front().size();  // rows are non-empty and of one length
  if (dim == 0) dim = got;
  if (got != dim) return dimension_mismatch(got, dim);
  std::vector<float> out;
  out.reserve(rows->size() * dim);
  for (const std::vector<float>& row : *rows) out.insert(out.end(), row.begin(), row.end());
  return out;
}

Result<std::vector<float>> OllamaEmbedder::embed(const std::vector<std::string>& texts,
                                                 EmbedKind kind) const {
  std::vector<float> out;
  if (texts.empty()) return out;
  size_t dim = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dim = dimension_;
  }
  const std::string& prefix =
      kind == EmbedKind::kQuery ? config_.prefixes->query : config_.prefixes->document;
  size_t begin = 0;
  while (begin < texts.size()) {
    std::vector<std::string> batch;
    size_t bytes = 0;
    while (begin + batch.size() < texts.size() && batch.size() < config_.batch_size) {
      std::string input = prefix + texts[begin + batch.size()];
      if (!batch.empty() && bytes + input.size() > config_.max_batch_bytes) break;
      if (input.empty()) input = " ";
      bytes += input.size();
      batch.push_back(std::move(input));
    }
    auto rows = embed_batch(batch, dim);
    if (!rows.ok()) return rows.error();
    out.insert(out.end(), rows->begin(), rows->end());
    begin += batch.size();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dimension_ == 0) dimension_ = dim;
    if (dimension_ != dim) return dimension_mismatch(dim, dimension_);
  }
  for (size_t r = 0; r < texts.size(); ++r) l2_normalise(out.data() + r * dim, dim);
  return out;
}

}  // namespace chaja
