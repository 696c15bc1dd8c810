#include "connectors/clova_embedder.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

namespace chaja {
namespace {

Error dimension_mismatch(size_t got, size_t expected) {
  return make_error(ErrorKind::kUpstream, "clova: embedding of " + std::to_string(got) +
                                              " dimensions where " + std::to_string(expected) +
                                              " were expected");
}

bool is_v2(std::string_view model) {
  return model == "v2" || model == "bge-m3";
}

}  // namespace

std::string clova_embedding_path(std::string_view model) {
  if (is_v2(model)) return kClovaEmbeddingPath;
  return "/v1/api-tools/embedding/" + url_path_segment(model);
}

size_t clova_embedding_dimension(std::string_view model) {
  if (is_v2(model) || model == "clir-emb-dolphin" || model == "clir-sts-dolphin") return 1024;
  return 0;
}

ClovaEmbedder::ClovaEmbedder(Config config) : config_(std::move(config)) {
  if (config_.call.provider.empty()) config_.call.provider = "clova";
  if (!config_.codec) config_.codec = std::make_shared<ClovaCodec>();
  if (config_.concurrency == 0) config_.concurrency = 1;
  path_ = clova_embedding_path(config_.model);
  dimension_ =
      config_.dimension != 0 ? config_.dimension : clova_embedding_dimension(config_.model);
}

size_t ClovaEmbedder::dimension() const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dimension_ != 0) return dimension_;
  }
  auto probe = embed({"dimension probe"}, EmbedKind::kQuery);
  if (!probe.ok()) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  return dimension_;
}

Result<std::vector<float>> ClovaEmbedder::embed_one(const std::string& text) const {
  HttpRequest http;
  http.method = "POST";
  http.url = join_url(config_.base_url, path_);
  http.headers.set("Accept", "application/json");
  config_.codec->add_headers(http.headers, config_.api_key);  // Bearer, request id, JSON
  http.body = clova_embedding_body(text.empty() ? " " : text);
  http.timeouts = config_.call.timeouts;
  http.max_body_bytes = config_.call.max_response_bytes;

  int attempts = 0;
  auto res = send_with_retries(pool_, http, config_.call, nullptr, attempts);
  if (!res.ok()) {
    Error e = res.error();
    if (e.kind == ErrorKind::kTooLarge) e.kind = ErrorKind::kUpstream;
    e.message = "clova: " + e.message;
    return scrub_key(std::move(e), config_.api_key);
  }
  if (res->status < 200 || res->status > 299) {
    Error e = config_.codec->parse_error(res->status, res->body);
    if ((res->status == 401 || res->status == 403) && !config_.call.key_variable.empty())
      e.message += " (check " + config_.call.key_variable + ")";
    return scrub_key(std::move(e), config_.api_key);
  }
  auto parsed = clova_parse_embedding(res->body);
  if (!parsed.ok()) return scrub_key(parsed.error(), config_.api_key);  // incl. 2xx envelopes
  return std::move(parsed->vector);
}

Result<std::vector<float>> ClovaEmbedder::embed(const std::vector<std::string>& texts,
                                                EmbedKind) const {
  std::vector<float> out;
  if (texts.empty()) return out;
  const size_t n = texts.size();
  std::vector<std::vector<float>> rows(n);

  // Workers take the next text in input order; after a failure no new text is started, and the
  // failure of the earliest text wins (so the error does not depend on timing).
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::optional<std::pair<size_t, Error>> first_error;
  auto work = [&] {
    while (!failed.load()) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      auto row = embed_one(texts[i]);
      if (!row.ok()) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!first_error || i < first_error->first) first_error.emplace(i, row.error());
        failed = true;
        return;
      }
      rows[i] = std::move(row.value());
    }
  };
  {
    const size_t workers = std::min(config_.concurrency, n);
    std::vector<std::jthread> helpers;
    helpers.reserve(workers - 1);
    try {
      for (size_t w = 1; w < workers; ++w) helpers.emplace_back(work);
    } catch (const std::system_error&) {
      // No more threads to be had: the ones made, and this one, do the work.
    }
    work();
  }  // the helpers join here
  if (first_error) return first_error->second;

  size_t dim = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dim = dimension_;
  }
  if (dim == 0) dim = rows.front().size();
  for (const std::vector<float>& row : rows)
    if (row.size() != dim) return dimension_mismatch(row.size(), dim);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dimension_ == 0) dimension_ = dim;
    if (dimension_ != dim) return dimension_mismatch(dim, dimension_);
  }
  out.resize(n * dim);
  for (size_t r = 0; r < n; ++r) {
    std::memcpy(out.data() + r * dim, rows[r].data(), dim * sizeof(float));
    l2_normalise(out.data() + r * dim, dim);
  }
  return out;
}

}  // namespace chaja
