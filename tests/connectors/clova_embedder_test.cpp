// CLOVA Studio embedding v2 against the replay server: the request sent (path, Bearer key, a
// fresh request id per text, body), one request per text with rows back in input order (also
// with several in flight, against a small echo server), normalisation, dimensions, the empty
// text, errors (401, 429 retried, status envelopes inside a 2xx, 5xx, malformed bodies), and the
// provider registry's "clova:MODEL" embedders.
#include "connectors/clova_embedder.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connectors/provider.h"
#include "tests/connectors/replay_server.h"

using namespace chaja;
using namespace chaja::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* kPath = "/v1/api-tools/embedding/v2";
constexpr const char* kKey = "nv-test-secret-9123";

HttpCallOptions fast_call() {
  HttpCallOptions c;
  c.provider = "clova";
  c.key_variable = "CLOVASTUDIO_API_KEY";
  c.timeouts.connect = 2000ms;
  c.timeouts.first_byte = 3000ms;
  c.timeouts.total = 5000ms;
  c.retry.max_attempts = 3;
  c.retry.base_delay = 2ms;
  c.retry.max_delay = 5ms;
  return c;
}

ClovaEmbedder::Config config_for(const std::string& base_url, size_t dimension = 0) {
  ClovaEmbedder::Config c;
  c.base_url = base_url;
  c.api_key = kKey;
  c.call = fast_call();
  c.dimension = dimension;
  return c;
}

ProviderSettings fast_settings() {
  ProviderSettings s;
  s.timeouts = fast_call().timeouts;
  s.retry = fast_call().retry;
  return s;
}

double norm(const float* v, size_t dim) {
  double s = 0;
  for (size_t i = 0; i < dim; ++i) s += static_cast<double>(v[i]) * v[i];
  return std::sqrt(s);
}

std::string envelope_with(const std::vector<float>& row) {
  return json{{"status", {{"code", "20000"}, {"message", "OK"}}},
              {"result", {{"embedding", row}, {"inputTokens", 3}}}}
      .dump();
}

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

bool is_uuid_v4(const std::string& s) {
  static const std::regex kUuid(
      "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  return std::regex_match(s, kUuid);
}

// An embedding server that answers each text "k..." with the row [k, 1] (k = its length), after
// a short pause, counting the requests in flight at once.
class EchoServer {
 public:
  EchoServer() {
    server_.Post(kPath, [this](const httplib::Request& req, httplib::Response& res) {
      const int now = ++in_flight_;
      int seen = max_in_flight_.load();
      while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(15ms);
      const std::string text = json::parse(req.body)["text"].get<std::string>();
      res.set_content(envelope_with({static_cast<float>(text.size()), 1.0f}), "application/json");
      --in_flight_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~EchoServer() {
    server_.stop();
    thread_.join();
  }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int max_in_flight() const { return max_in_flight_.load(); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
};

}  // namespace

TEST_CASE("clova embed: model paths and known dimensions", "[embed][clova]") {
  CHECK(clova_embedding_path("v2") == std::string(kClovaEmbeddingPath));
  CHECK(clova_embedding_path("bge-m3") == std::string(kClovaEmbeddingPath));
  CHECK(clova_embedding_path("clir-emb-dolphin") == "/v1/api-tools/embedding/clir-emb-dolphin");
  CHECK(clova_embedding_path("a b/c") == "/v1/api-tools/embedding/a%20b%2Fc");
  CHECK(clova_embedding_dimension("v2") == 1024);
  CHECK(clova_embedding_dimension("clir-sts-dolphin") == 1024);
  CHECK(clova_embedding_dimension("something-new") == 0);
}

TEST_CASE("clova embed: the fixture, the request sent, a normalised row", "[embed][clova]") {
  ReplayServer server;
  server.on(kPath, fixture_reply("clova/embedding_v2_response.json"));
  ClovaEmbedder e(config_for(server.base_url(), 5));  // the fixture: 5 of 1024 floats
  CHECK(e.name() == "clova:v2");
  auto v = e.embed({"오늘 날씨 알려줘"}, EmbedKind::kQuery);
  REQUIRE(v.ok());
  REQUIRE(v->size() == 5);
  CHECK(norm(v->data(), 5) == Approx(1.0).epsilon(1e-6));
  const double raw0 = -0.3861295, raw1 = -0.7903874;
  CHECK((*v)[1] / (*v)[0] == Approx(raw1 / raw0).epsilon(1e-5));
  CHECK((*v)[2] > 0);

  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  const std::string recorded = fixture_bytes("clova/embedding_v2_request.http");
  CHECK(recorded.starts_with(std::string("POST ") + kPath + " HTTP/1.1\n"));
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].path == kPath);
  CHECK(reqs[0].header("Authorization") == std::string("Bearer ") + kKey);
  CHECK(reqs[0].header("Content-Type") == "application/json");
  CHECK(is_uuid_v4(reqs[0].header("X-NCP-CLOVASTUDIO-REQUEST-ID")));
  CHECK(json::parse(reqs[0].body) == json::parse(recorded.substr(recorded.find("\n\n"))));
}

TEST_CASE("clova embed: 1024 dimensions for v2 unless configured; others learnt",
          "[embed][clova]") {
  ReplayServer server;
  server.on(kPath, fixture_reply("clova/embedding_v2_response.json"));
  ClovaEmbedder strict(config_for(server.base_url()));
  CHECK(strict.dimension() == 1024);
  CHECK(server.request_count() == 0);  // known: no probe
  auto bad = strict.embed({"x"}, EmbedKind::kDocument);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kUpstream);
  CHECK(has(bad.error().message, "5 dimensions where 1024 were expected"));

  const std::string other = "/v1/api-tools/embedding/my-embedder";
  server.on(other, json_reply(200, envelope_with({3, 4, 0})));
  ClovaEmbedder::Config c = config_for(server.base_url());
  c.model = "my-embedder";
  ClovaEmbedder learnt(c);
  CHECK(learnt.name() == "clova:my-embedder");
  CHECK(learnt.dimension() == 3);  // probed once
  CHECK(learnt.dimension() == 3);
  auto v = learnt.embed({"x"}, EmbedKind::kDocument);
  REQUIRE(v.ok());
  CHECK(*v == std::vector<float>{0.6f, 0.8f, 0.0f});
  CHECK(server.requests().back().path == other);
}

TEST_CASE("clova embed: one request per text, rows in input order, a fresh request id each",
          "[embed][clova]") {
  ReplayServer server;
  server.then(kPath, json_reply(200, envelope_with({1, 0, 0})));
  server.then(kPath, json_reply(200, envelope_with({0, 2, 0})));
  server.then(kPath, json_reply(200, envelope_with({0, 0, 3})));
  ClovaEmbedder::Config c = config_for(server.base_url(), 3);
  c.concurrency = 1;  // sequential: the queued replies meet the texts in order
  ClovaEmbedder e(c);
  auto v = e.embed({"first", "", "third"}, EmbedKind::kDocument);
  REQUIRE(v.ok());
  CHECK(*v == std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0, 1});
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(json::parse(reqs[0].body) == json{{"text", "first"}});
  CHECK(json::parse(reqs[1].body) == json{{"text", " "}});  // an empty text is sent as a space
  CHECK(json::parse(reqs[2].body) == json{{"text", "third"}});
  std::set<std::string> ids;
  for (const auto& r : reqs) ids.insert(r.header("X-NCP-CLOVASTUDIO-REQUEST-ID"));
  CHECK(ids.size() == 3);

  auto none = e.embed({}, EmbedKind::kDocument);
  REQUIRE(none.ok());
  CHECK(none->empty());
  CHECK(server.request_count() == 3);
}

TEST_CASE("clova embed: several texts in flight, bounded, rows still in input order",
          "[embed][clova]") {
  EchoServer echo;
  ClovaEmbedder::Config c = config_for(echo.base_url(), 2);
  c.concurrency = 3;
  ClovaEmbedder e(c);
  std::vector<std::string> texts;
  for (int i = 1; i <= 12; ++i) texts.push_back(std::string(static_cast<size_t>(i), 'k'));
  auto v = e.embed(texts, EmbedKind::kDocument);
  REQUIRE(v.ok());
  REQUIRE(v->size() == 24);
  for (size_t i = 0; i < texts.size(); ++i) {
    INFO(i);
    const double k = static_cast<double>(i + 1);
    CHECK((*v)[2 * i] == Approx(k / std::sqrt(k * k + 1)));
    CHECK((*v)[2 * i + 1] == Approx(1 / std::sqrt(k * k + 1)));
  }
  CHECK(echo.max_in_flight() <= 3);
  CHECK(echo.max_in_flight() >= 2);
}

TEST_CASE("clova embed: errors", "[embed][clova]") {
  ReplayServer server;
  SECTION("401 names CLOVASTUDIO_API_KEY, never the key; not retried") {
    server.on(
        kPath,
        json_reply(
            401, R"({"status":{"code":"40104","message":"Invalid API key nv-test-secret-9123"}})"));
    auto v = ClovaEmbedder(config_for(server.base_url())).embed({"x"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().kind == ErrorKind::kUpstream);
    CHECK(has(v.error().message, "CLOVASTUDIO_API_KEY"));
    CHECK(has(v.error().message, "40104"));
    CHECK_FALSE(has(v.error().message, kKey));
    CHECK(server.request_count() == 1);
  }
  SECTION("429 (42901) is retried, then kRateLimited; then a success") {
    server.on(kPath, fixture_reply("clova/error_429_rate_exceeded.json", 429));
    ClovaEmbedder e(config_for(server.base_url(), 5));
    auto v = e.embed({"x"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().kind == ErrorKind::kRateLimited);
    CHECK(has(v.error().message, "42901"));
    CHECK(server.request_count() == 3);
    server.clear();
    server.then(kPath, fixture_reply("clova/error_429_rate_exceeded.json", 429));
    server.then(kPath, fixture_reply("clova/embedding_v2_response.json"));
    auto w = e.embed({"x"}, EmbedKind::kDocument);
    REQUIRE(w.ok());
    CHECK(w->size() == 5);
    CHECK(server.request_count() == 2);
  }
  SECTION("a status envelope error inside a 200 is an error, not retried") {
    server.on(kPath, fixture_reply("clova/error_status_envelope.json", 200));
    auto v = ClovaEmbedder(config_for(server.base_url())).embed({"x"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().kind == ErrorKind::kUpstream);
    CHECK(has(v.error().message, "Internal Server Error"));
    CHECK(has(v.error().message, "50000"));
    CHECK(server.request_count() == 1);
    server.on(kPath, fixture_reply("clova/error_429_rate_exceeded.json", 200));
    auto r = ClovaEmbedder(config_for(server.base_url())).embed({"x"}, EmbedKind::kDocument);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kRateLimited);
  }
  SECTION("5xx is retried, then kUpstream quoting the envelope or the OpenAI-style body") {
    for (const char* fixture :
         {"clova/error_status_envelope.json", "clova/error_openai_compat.json"}) {
      INFO(fixture);
      server.clear();
      server.on(kPath, fixture_reply(fixture, 500));
      auto v = ClovaEmbedder(config_for(server.base_url())).embed({"x"}, EmbedKind::kDocument);
      REQUIRE_FALSE(v.ok());
      CHECK(v.error().kind == ErrorKind::kUpstream);
      CHECK(has(v.error().message, "Internal Server Error"));
      CHECK(server.request_count() == 3);
    }
  }
  SECTION("malformed bodies are kUpstream") {
    ClovaEmbedder e(config_for(server.base_url()));
    for (const std::string& body :
         {std::string("not json"), std::string("{}"), std::string(R"({"status":{"code":"20000"}})"),
          std::string(R"({"status":{"code":"20000"},"result":{"embedding":[]}})"),
          std::string(R"({"status":{"code":"20000"},"result":{"embedding":[1,"2"]}})")}) {
      INFO(body);
      server.on(kPath, json_reply(200, body));
      auto v = e.embed({"x"}, EmbedKind::kDocument);
      REQUIRE_FALSE(v.ok());
      CHECK(v.error().kind == ErrorKind::kUpstream);
    }
  }
  SECTION("rows of different lengths are kUpstream") {
    server.then(kPath, json_reply(200, envelope_with({1, 2})));
    server.then(kPath, json_reply(200, envelope_with({1, 2, 3})));
    ClovaEmbedder::Config c = config_for(server.base_url());
    c.model = "bge-m3";
    c.dimension = 2;
    c.concurrency = 1;
    auto v = ClovaEmbedder(c).embed({"a", "b"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(has(v.error().message, "3 dimensions where 2 were expected"));
  }
  SECTION("after a failing text no new text is sent; the earliest failure is reported") {
    server.then(kPath, json_reply(200, envelope_with({1, 0})));
    server.then(kPath, fixture_reply("clova/error_status_envelope.json", 200));
    server.then(kPath, json_reply(200, envelope_with({0, 1})));
    ClovaEmbedder::Config c = config_for(server.base_url(), 2);
    c.concurrency = 1;
    auto v = ClovaEmbedder(c).embed({"a", "b", "c", "d"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(has(v.error().message, "Internal Server Error"));
    CHECK(server.request_count() == 2);
  }
}

TEST_CASE("clova embed: through the provider registry and an EmbedderRegistry",
          "[embed][clova][provider]") {
  ReplayServer server;
  std::vector<float> row(1024, 0.0f);
  row[7] = 2.0f;
  server.on(kPath, json_reply(200, envelope_with(row)));
  auto providers = make_provider_registry(
      Env{{"CLOVASTUDIO_API_KEY", kKey}, {"CLOVASTUDIO_BASE_URL", server.base_url()}},
      fast_settings());
  auto e = providers->embedder("clova", "v2");
  REQUIRE(e.ok());
  CHECK((*e)->name() == "clova:v2");
  CHECK((*e)->dimension() == 1024);
  auto v = (*e)->embed({"오늘 날씨 알려줘", "두 번째"}, EmbedKind::kQuery);
  REQUIRE(v.ok());
  REQUIRE(v->size() == 2048);
  CHECK((*v)[7] == 1.0f);
  CHECK((*v)[1024 + 7] == 1.0f);
  REQUIRE(server.request_count() == 2);
  CHECK(server.requests()[0].header("Authorization") == std::string("Bearer ") + kKey);

  EmbedderRegistry embedders;
  register_provider_embedders(providers, embedders);
  CHECK(embedders.providers() ==
        std::vector<std::string>{"clova", "mistral", "ollama", "openai", "openai-compat"});
  auto made = embedders.create("clova:v2");
  REQUIRE(made.ok());
  REQUIRE((*made)->embed({"x"}, EmbedKind::kDocument).ok());
  auto nameless = embedders.create("clova");
  REQUIRE_FALSE(nameless.ok());
  CHECK(nameless.error().kind == ErrorKind::kInvalidInput);
  CHECK(has(nameless.error().message, "clova:v2"));

  // A legacy test-app prefix stays in the base URL.
  server.on("/testapp/v1/api-tools/embedding/v2", json_reply(200, envelope_with(row)));
  auto testapp = make_provider_registry(
      Env{{"CLOVASTUDIO_API_KEY", kKey}, {"CLOVASTUDIO_BASE_URL", server.url("/testapp/")}},
      fast_settings());
  auto t = testapp->embedder("clova", "v2");
  REQUIRE(t.ok());
  REQUIRE((*t)->embed({"x"}, EmbedKind::kDocument).ok());
  CHECK(server.requests().back().path == "/testapp/v1/api-tools/embedding/v2");

  auto unconfigured = make_provider_registry(Env{}, fast_settings())->embedder("clova", "v2");
  REQUIRE_FALSE(unconfigured.ok());
  CHECK(unconfigured.error().kind == ErrorKind::kUnavailable);
  CHECK(has(unconfigured.error().message, "CLOVASTUDIO_API_KEY"));
}
