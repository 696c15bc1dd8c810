// OpenAI-shaped embeddings (openai, mistral, openai-compat) against the replay server: the request
// sent, batching, order by index, L2 normalisation, base64 rows, dimensions, and errors.
#include "connectors/openai_embedder.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "tests/connectors/replay_server.h"

using namespace chaja;
using namespace chaja::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* kPath = "/v1/embeddings";

OpenAiEmbedder::Config config_for(const ReplayServer& server, const std::string& provider,
                                  const std::string& model) {
  OpenAiEmbedder::Config c;
  c.model = model;
  c.base_url = server.base_url() + "/v1";
  c.api_key = "sk-embed-secret-42";
  c.call.provider = provider;
  c.call.key_variable = provider == "mistral" ? "MISTRAL_API_KEY" : "OPENAI_API_KEY";
  c.call.timeouts.connect = 2000ms;
  c.call.timeouts.first_byte = 3000ms;
  c.call.timeouts.total = 5000ms;
  c.call.retry.max_attempts = 3;
  c.call.retry.base_delay = 2ms;
  c.call.retry.max_delay = 5ms;
  c.call.retryable = &OpenAiCodec::retryable_error;
  c.codec = std::make_shared<OpenAiCodec>(provider == "mistral" ? OpenAiCodec::Dialect::kMistral
                                                                : OpenAiCodec::Dialect::kOpenAi);
  return c;
}

double norm(const float* v, size_t dim) {
  double s = 0;
  for (size_t i = 0; i < dim; ++i) s += static_cast<double>(v[i]) * v[i];
  return std::sqrt(s);
}

// An OpenAI-shaped response with rows[i] at index i, listed in reverse order.
std::string response_with(const std::vector<std::vector<float>>& rows) {
  json data = json::array();
  for (size_t i = rows.size(); i-- > 0;)
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", rows[i]}});
  return json{{"object", "list"}, {"data", data}, {"model", "m"}}.dump();
}

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("embeddings: openai fixture, the request sent, normalised row", "[embed][openai]") {
  ReplayServer server;
  server.on(kPath, fixture_reply("openai/embeddings_response.json"));
  OpenAiEmbedder e(config_for(server, "openai", "text-embedding-ada-002"));
  CHECK(e.name() == "openai:text-embedding-ada-002");
  CHECK(e.dimension() == 1536);  // from the table, no call

  OpenAiEmbedder::Config c = config_for(server, "openai", "text-embedding-ada-002");
  c.dimension = 8;  // the fixture is trimmed to 8 of 1536 floats
  OpenAiEmbedder trimmed(c);
  auto v = trimmed.embed({"The food was delicious and the waiter..."}, EmbedKind::kDocument);
  REQUIRE(v.ok());
  REQUIRE(v->size() == 8);
  CHECK(norm(v->data(), 8) == Approx(1.0).epsilon(1e-6));
  const double raw0 = 0.0022756963, raw1 = -0.009305916;
  CHECK((*v)[1] / (*v)[0] == Approx(raw1 / raw0).epsilon(1e-5));

  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].path == kPath);
  CHECK(reqs[0].header("Authorization") == "Bearer sk-embed-secret-42");
  CHECK(json::parse(reqs[0].body) == json{{"model", "text-embedding-ada-002"},
                                          {"input", {"The food was delicious and the waiter..."}},
                                          {"encoding_format", "float"}});
}

TEST_CASE("embeddings: mistral fixture, two rows in order; the known dimension is enforced",
          "[embed][mistral]") {
  ReplayServer server;
  server.on(kPath, fixture_reply("mistral/embeddings_response.json"));
  OpenAiEmbedder::Config c = config_for(server, "mistral", "mistral-embed");
  c.dimension = 8;
  OpenAiEmbedder e(c);
  auto v = e.embed({"Embed this sentence.", "As well as this one."}, EmbedKind::kQuery);
  REQUIRE(v.ok());
  REQUIRE(v->size() == 16);
  CHECK(norm(v->data(), 8) == Approx(1.0).epsilon(1e-6));
  CHECK(norm(v->data() + 8, 8) == Approx(1.0).epsilon(1e-6));
  CHECK((*v)[0] < 0);  // -0.0166 first row
  CHECK((*v)[8] < 0);  // -0.0234 second row
  CHECK((*v)[15] < 0);
  CHECK(json::parse(server.requests().at(0).body)["input"] ==
        json::array({"Embed this sentence.", "As well as this one."}));

  // Without the configured 8, mistral-embed must have 1024 dimensions.
  OpenAiEmbedder strict(config_for(server, "mistral", "mistral-embed"));
  CHECK(strict.dimension() == 1024);
  auto bad = strict.embed({"a", "b"}, EmbedKind::kDocument);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kUpstream);
  CHECK(has(bad.error().message, "8 dimensions where 1024 were expected"));
}

TEST_CASE("embeddings: batches, index order, empty texts, base64 rows", "[embed]") {
  ReplayServer server;
  server.then(kPath, json_reply(200, response_with({{1, 0, 0}, {0, 2, 0}})));
  server.then(kPath, json_reply(200, response_with({{0, 0, 3}, {4, 4, 0}})));
  server.then(kPath, json_reply(200, response_with({{0, 5, 5}})));
  OpenAiEmbedder::Config c = config_for(server, "openai-compat", "local-embed");
  c.batch_size = 2;
  OpenAiEmbedder e(c);
  auto v = e.embed({"a", "", "c", "d", "e"}, EmbedKind::kDocument);
  REQUIRE(v.ok());
  CHECK(e.dimension() == 3);  // learnt from the responses; no probe
  REQUIRE(v->size() == 15);
  const std::vector<float> expected = {
      1, 0, 0, 0, 1, 0, 0, 0, 1, 0.70710678f, 0.70710678f, 0, 0, 0.70710678f, 0.70710678f};
  for (size_t i = 0; i < expected.size(); ++i) CHECK((*v)[i] == Approx(expected[i]));
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(json::parse(reqs[0].body)["input"] == json::array({"a", " "}));
  CHECK(json::parse(reqs[2].body)["input"] == json::array({"e"}));

  SECTION("base64 little-endian float32 rows") {
    const float f[2] = {3.0f, 4.0f};
    unsigned char b[8];
    std::memcpy(b, f, 8);  // little-endian on this machine
    static const char* kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string b64;
    for (size_t i = 0; i < 8; i += 3) {
      const uint32_t n = (uint32_t{b[i]} << 16) | (i + 1 < 8 ? uint32_t{b[i + 1]} << 8 : 0) |
                         (i + 2 < 8 ? uint32_t{b[i + 2]} : 0);
      b64 += kAlphabet[(n >> 18) & 63];
      b64 += kAlphabet[(n >> 12) & 63];
      b64 += i + 1 < 8 ? kAlphabet[(n >> 6) & 63] : '=';
      b64 += i + 2 < 8 ? kAlphabet[n & 63] : '=';
    }
    size_t dim = 0;
    auto rows = parse_openai_embeddings(R"({"data":[{"index":0,"embedding":")" + b64 + R"("}]})", 1,
                                        dim, "openai");
    REQUIRE(rows.ok());
    CHECK(dim == 2);
    CHECK(*rows == std::vector<float>{3.0f, 4.0f});
  }
}

TEST_CASE("embeddings: the dimension of an unknown model is probed once", "[embed]") {
  ReplayServer server;
  server.on(kPath, json_reply(200, response_with({{0.5f, 0.5f, 0.5f, 0.5f}})));
  OpenAiEmbedder e(config_for(server, "openai-compat", "nomic"));
  CHECK(e.dimension() == 4);
  CHECK(e.dimension() == 4);
  CHECK(server.request_count() == 1);
}

TEST_CASE("embeddings: malformed responses and error statuses", "[embed][openai][mistral]") {
  ReplayServer server;
  SECTION("malformed bodies are kUpstream") {
    OpenAiEmbedder::Config c = config_for(server, "openai", "m");
    c.call.retry.max_attempts = 1;
    OpenAiEmbedder e(c);
    for (const std::string& body :
         {std::string("not json"), std::string("{}"), std::string(R"({"data":{}})"),
          response_with({{1, 2}, {3, 4}}),                             // 2 rows for 1 text
          std::string(R"({"data":[{"index":5,"embedding":[1]}]})"),    // index out of range
          std::string(R"({"data":[{"index":0,"embedding":"@@@"}]})"),  // bad base64
          std::string(R"({"data":[{"index":0,"embedding":[]}]})"),
          std::string(R"({"data":[{"index":0,"embedding":["x"]}]})"),
          std::string(R"({"data":[{"index":0,"embedding":[1e999]}]})")}) {
      INFO(body);
      server.on(kPath, json_reply(200, body));
      auto v = e.embed({"x"}, EmbedKind::kDocument);
      REQUIRE_FALSE(v.ok());
      CHECK(v.error().kind == ErrorKind::kUpstream);
    }
    server.on(kPath, json_reply(200, response_with({{1, 2}, {3}})));
    auto ragged = e.embed({"x", "y"}, EmbedKind::kDocument);
    REQUIRE_FALSE(ragged.ok());
    CHECK(has(ragged.error().message, "dimensions"));
  }
  SECTION("401 names the key variable; never the key") {
    server.on(kPath, fixture_reply("mistral/error_401_unauthorized.json", 401));
    OpenAiEmbedder e(config_for(server, "mistral", "mistral-embed"));
    auto v = e.embed({"x"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().kind == ErrorKind::kUpstream);
    CHECK(has(v.error().message, "MISTRAL_API_KEY"));
    CHECK_FALSE(has(v.error().message, "sk-embed-secret-42"));
    CHECK(server.request_count() == 1);
  }
  SECTION("429 is retried, then kRateLimited; then a success") {
    server.on(kPath, fixture_reply("openai/error_429_rate_limit_exceeded.json", 429));
    OpenAiEmbedder e(config_for(server, "openai", "text-embedding-3-small"));
    auto v = e.embed({"x"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().kind == ErrorKind::kRateLimited);
    CHECK(server.request_count() == 3);
    server.clear();
    server.then(kPath, json_reply(500, ""));
    server.then(kPath, json_reply(200, response_with({{1, 1}})));
    OpenAiEmbedder::Config c = config_for(server, "openai", "m");
    OpenAiEmbedder ok(c);
    auto w = ok.embed({"x"}, EmbedKind::kDocument);
    REQUIRE(w.ok());
    CHECK(server.request_count() == 2);
  }
  SECTION("no texts, no call") {
    OpenAiEmbedder e(config_for(server, "openai", "text-embedding-3-small"));
    auto v = e.embed({}, EmbedKind::kDocument);
    REQUIRE(v.ok());
    CHECK(v->empty());
    CHECK(server.request_count() == 0);
  }
}
