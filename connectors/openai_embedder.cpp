#include "connectors/openai_embedder.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>

namespace chaja {
namespace {

using nlohmann::json;

constexpr size_t kMaxDimension = 65536;

// Standard base64 (padding optional) → bytes; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

Error malformed(const std::string& provider, const std::string& why) {
  return make_error(ErrorKind::kUpstream, provider + ": malformed embeddings response: " + why);
}

}  // namespace

size_t known_embedding_dimension(std::string_view model) {
  if (model == "text-embedding-3-small" || model == "text-embedding-ada-002") return 1536;
  if (model == "text-embedding-3-large") return 3072;
  if (model == "mistral-embed") return 1024;
  if (model == "codestral-embed" || model == "codestral-embed-2505") return 1536;
  return 0;
}

Result<std::vector<float>> parse_openai_embeddings(std::string_view body, size_t count, size_t& dim,
                                                   const std::string& provider) {
  const json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return malformed(provider, "not a JSON object");
  auto data = j.find("data");
  if (data == j.end() || !data->is_array()) return malformed(provider, "no data list");
  if (data->size() != count)
    return malformed(
        provider, std::to_string(data->size()) + " rows for " + std::to_string(count) + " texts");
  std::vector<float> out;
  std::vector<bool> seen(count, false);
  size_t position = 0;
  for (const json& row : *data) {
    if (!row.is_object()) return malformed(provider, "a row is not an object");
    size_t index = position++;
    if (auto it = row.find("index"); it != row.end()) {
      if (!it->is_number_unsigned() || it->get<uint64_t>() >= count)
        return malformed(provider, "bad row index");
      index = static_cast<size_t>(it->get<uint64_t>());
    }
    if (seen[index]) return malformed(provider, "row index " + std::to_string(index) + " twice");
    seen[index] = true;
    auto emb = row.find("embedding");
    if (emb == row.end()) return malformed(provider, "a row has no embedding");
    std::vector<float> v;
    if (emb->is_array()) {
      v.reserve(emb->size());
      for (const json& x : *emb) {
        if (!x.is_number()) return malformed(provider, "a non-number in an embedding");
        v.push_back(x.get<float>());
      }
    } else if (emb->is_string()) {
      auto bytes = base64_decode(emb->get_ref<const std::string&>());
      if (!bytes || bytes->size() % 4 != 0) return malformed(provider, "bad base64 embedding");
      v.resize(bytes->size() / 4);
      for (size_t i = 0; i < v.size(); ++i) {
        uint32_t u = 0;
        for (int b = 3; b >= 0; --b)
          u = (u << 8) | static_cast<unsigned char>((*bytes)[i * 4 + static_cast<size_t>(b)]);
        std::memcpy(&v[i], &u, sizeof u);
      }
    } else {
      return malformed(provider, "an embedding is neither a list nor base64");
    }
    if (v.empty() || v.size() > kMaxDimension)
      return malformed(provider, "embedding of " + std::to_string(v.size()) + " dimensions");
    if (dim == 0) dim = v.size();
    if (v.size() != dim)
      return make_error(ErrorKind::kUpstream, provider + ": embedding of " +
                                                  std::to_string(v.size()) + " dimensions where " +
                                                  std::to_string(dim) + " were expected");
    for (float x : v)
      if (!std::isfinite(x)) return malformed(provider, "a non-finite value in an embedding");
    if (out.empty()) out.resize(count * dim);
    std::memcpy(out.data() + index * dim, v.data(), dim * sizeof(float));
  }
  return out;
}

OpenAiEmbedder::OpenAiEmbedder(Config config) : config_(std::move(config)) {
  if (!config_.codec) config_.codec = std::make_shared<OpenAiCodec>(OpenAiCodec::Dialect::kCompat);
  dimension_ =
      config_.dimension != 0 ? config_.dimension : known_embedding_dimension(config_.model);
  if (config_.batch_size == 0) config_.batch_size = 1;
}

size_t OpenAiEmbedder::dimension() const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dimension_ != 0) return dimension_;
  }
  auto probe = embed({"dimension probe"}, EmbedKind::kQuery);
  if (!probe.ok()) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  return dimension_;
}

Result<std::vector<float>> OpenAiEmbedder::embed_batch(const std::vector<std::string>& texts,
                                                       size_t begin, size_t end,
                                                       size_t& dim) const {
  const std::string& provider = config_.call.provider;
  json input = json::array();
  for (size_t i = begin; i < end; ++i) input.push_back(texts[i].empty() ? " " : texts[i]);
  const json body = {
      {"model", config_.model}, {"input", std::move(input)}, {"encoding_format", "float"}};
  HttpRequest http;
  http.method = "POST";
  http.url = join_url(config_.base_url, "/embeddings");
  http.headers.set("Content-Type", "application/json");
  http.headers.set("Accept", "application/json");
  config_.codec->add_headers(http.headers, config_.api_key);
  http.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  http.timeouts = config_.call.timeouts;
  http.max_body_bytes = config_.call.max_response_bytes;

  int attempts = 0;
  auto res = send_with_retries(pool_, http, config_.call, nullptr, attempts);
  if (!res.ok()) {
    Error e = res.error();
    if (e.kind == ErrorKind::kTooLarge) e.kind = ErrorKind::kUpstream;
    e.message = provider + ": " + e.message;
    return scrub_key(std::move(e), config_.api_key);
  }
  if (res->status < 200 || res->status > 299) {
    Error e = config_.codec->parse_error(res->status, res->body);
    if ((res->status == 401 || res->status == 403) && !config_.call.key_variable.empty())
      e.message += " (check " + config_.call.key_variable + ")";
    return scrub_key(std::move(e), config_.api_key);
  }
  auto rows = parse_openai_embeddings(res->body, end - begin, dim, provider);
  if (!rows.ok()) return scrub_key(rows.error(), config_.api_key);
  return rows;
}

Result<std::vector<float>> OpenAiEmbedder::embed(const std::vector<std::string>& texts,
                                                 EmbedKind) const {
  std::vector<float> out;
  if (texts.empty()) return out;
  size_t dim = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dim = dimension_;
  }
  size_t begin = 0;
  while (begin < texts.size()) {
    size_t end = begin;
    size_t bytes = 0;
    while (end < texts.size() && end - begin < config_.batch_size &&
           (end == begin || bytes + texts[end].size() <= config_.max_batch_bytes)) {
      bytes += texts[end].size();
      ++end;
    }
    auto rows = embed_batch(texts, begin, end, dim);
    if (!rows.ok()) return rows.error();
    out.insert(out.end(), rows->begin(), rows->end());
    begin = end;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dimension_ == 0) dimension_ = dim;
    if (dimension_ != dim)
      return make_error(ErrorKind::kUpstream, config_.call.provider + ": embeddings of " +
                                                  std::to_string(dim) + " dimensions where " +
                                                  std::to_string(dimension_) + " were expected");
  }
  for (size_t r = 0; r < texts.size(); ++r) l2_normalise(out.data() + r * dim, dim);
  return out;
}

}  // namespace chaja
