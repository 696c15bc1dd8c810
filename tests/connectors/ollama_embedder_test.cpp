// Ollama /api/embed embeddings against the replay server: the request sent (body, headers,
// instruction prefixes), batching by count and bytes, order, L2 normalisation, dimensions, the
// empty-text case, errors (404 model, 401 behind a proxy, 429 and 5xx retried, malformed bodies,
// wrong row counts, nothing listening), and the provider registry's "ollama:MODEL" embedders.
#include "connectors/ollama_embedder.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <string>
#include <vector>

#include "connectors/provider.h"
#include "tests/connectors/replay_server.h"

using namespace chaja;
using namespace chaja::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* kPath = "/api/embed";

HttpCallOptions fast_call() {
  HttpCallOptions c;
  c.provider = "ollama";
  c.key_variable = "OLLAMA_API_KEY";
  c.timeouts.connect = 2000ms;
  c.timeouts.first_byte = 3000ms;
  c.timeouts.total = 5000ms;
  c.retry.max_attempts = 3;
  c.retry.base_delay = 2ms;
  c.retry.max_delay = 5ms;
  return c;
}

OllamaEmbedder::Config config_for(const ReplayServer& server, const std::string& model) {
  OllamaEmbedder::Config c;
  c.model = model;
  c.base_url = server.base_url();
  c.call = fast_call();
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

std::string response_with(const std::vector<std::vector<float>>& rows) {
  return json{{"model", "m"}, {"embeddings", rows}}.dump();
}

json inputs_of(const RecordedRequest& r) {
  return json::parse(r.body)["input"];
}

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// A loopback port held bound but not listening for the object's lifetime: connections to it
// are refused, and no other test can take it meanwhile.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace

TEST_CASE("ollama embed: the fixture, the request sent, a normalised row", "[embed][ollama]") {
  ReplayServer server;
  server.on(kPath, fixture_reply("ollama/embed_response.json"));
  OllamaEmbedder e(config_for(server, "all-minilm"));
  CHECK(e.name() == "ollama:all-minilm");
  auto v = e.embed({"Why is the sky blue?"}, EmbedKind::kDocument);
  REQUIRE(v.ok());
  REQUIRE(v->size() == 10);  // the fixture is trimmed to 10 of 384 floats
  CHECK(e.dimension() == 10);
  CHECK(norm(v->data(), 10) == Approx(1.0).epsilon(1e-6));
  const double raw0 = 0.010071029, raw8 = 0.12958129;
  CHECK((*v)[8] / (*v)[0] == Approx(raw8 / raw0).epsilon(1e-5));
  CHECK((*v)[1] < 0);

  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].path == kPath);
  CHECK(reqs[0].header("Content-Type") == "application/json");
  CHECK_FALSE(reqs[0].has_header("Authorization"));
  // The recorded request, with the input as a batch (always an array).
  const std::string recorded = fixture_bytes("ollama/embed_request.http");
  json expected = json::parse(recorded.substr(recorded.find("\n\n")));
  expected["input"] = json::array({expected["input"]});
  CHECK(json::parse(reqs[0].body) == expected);
}

TEST_CASE("ollama embed: two rows in input order; a key goes as a Bearer token",
          "[embed][ollama]") {
  ReplayServer server;
  server.on(kPath, fixture_reply("ollama/embed_response_multi.json"));
  OllamaEmbedder::Config c = config_for(server, "all-minilm");
  c.api_key = "proxy-secret-77";
  OllamaEmbedder e(c);
  auto v = e.embed({"Why is the sky blue?", "Why is the grass green?"}, EmbedKind::kDocument);
  REQUIRE(v.ok());
  REQUIRE(v->size() == 20);
  CHECK(norm(v->data(), 10) == Approx(1.0).epsilon(1e-6));
  CHECK(norm(v->data() + 10, 10) == Approx(1.0).epsilon(1e-6));
  CHECK((*v)[0] > 0);   // 0.0100... first row
  CHECK((*v)[10] < 0);  // -0.0098... second row
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].header("Authorization") == "Bearer proxy-secret-77");
  CHECK(inputs_of(reqs[0]) == json::array({"Why is the sky blue?", "Why is the grass green?"}));
}

TEST_CASE("ollama embed: instruction prefixes by kind for the models that want them",
          "[embed][ollama]") {
  CHECK(ollama_embed_prefixes("nomic-embed-text").query == "search_query: ");
  CHECK(ollama_embed_prefixes("nomic-embed-text:v1.5").document == "search_document: ");
  CHECK(ollama_embed_prefixes("library/nomic-embed-text:latest").query == "search_query: ");
  CHECK(ollama_embed_prefixes("nomic-embed-text-v2-moe").document == "search_document: ");
  CHECK(ollama_embed_prefixes("mxbai-embed-large").query ==
        "Represent this sentence for searching relevant passages: ");
  CHECK(ollama_embed_prefixes("mxbai-embed-large").document.empty());
  CHECK(ollama_embed_prefixes("all-minilm").query.empty());
  CHECK(ollama_embed_prefixes("bge-m3:latest").document.empty());

  ReplayServer server;
  server.on(kPath, json_reply(200, response_with({{1, 0}, {0, 1}})));
  OllamaEmbedder nomic(config_for(server, "nomic-embed-text"));
  REQUIRE(nomic.embed({"doc one", ""}, EmbedKind::kDocument).ok());
  REQUIRE(nomic.embed({"a question", "another"}, EmbedKind::kQuery).ok());
  OllamaEmbedder::Config plain = config_for(server, "nomic-embed-text");
  plain.prefixes = OllamaEmbedPrefixes{};  // configured: none
  REQUIRE(OllamaEmbedder(plain).embed({"as is", "too"}, EmbedKind::kQuery).ok());
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(inputs_of(reqs[0]) == json::array({"search_document: doc one", "search_document: "}));
  CHECK(inputs_of(reqs[1]) == json::array({"search_query: a question", "search_query: another"}));
  CHECK(inputs_of(reqs[2]) == json::array({"as is", "too"}));
}

TEST_CASE("ollama embed: batches by count and bytes, in order; empty texts; no texts",
          "[embed][ollama]") {
  ReplayServer server;
  SECTION("by count") {
    server.then(kPath, json_reply(200, response_with({{1, 0, 0}, {0, 2, 0}})));
    server.then(kPath, json_reply(200, response_with({{0, 0, 3}, {4, 4, 0}})));
    server.then(kPath, json_reply(200, response_with({{0, 5, 5}})));
    OllamaEmbedder::Config c = config_for(server, "all-minilm");
    c.batch_size = 2;
    OllamaEmbedder e(c);
    auto v = e.embed({"a", "", "c", "d", "e"}, EmbedKind::kDocument);
    REQUIRE(v.ok());
    CHECK(e.dimension() == 3);
    const std::vector<float> expected = {
        1, 0, 0, 0, 1, 0, 0, 0, 1, 0.70710678f, 0.70710678f, 0, 0, 0.70710678f, 0.70710678f};
    REQUIRE(v->size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) CHECK((*v)[i] == Approx(expected[i]));
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 3);
    CHECK(inputs_of(reqs[0]) == json::array({"a", " "}));  // an empty text is sent as a space
    CHECK(inputs_of(reqs[1]) == json::array({"c", "d"}));
    CHECK(inputs_of(reqs[2]) == json::array({"e"}));
  }
  SECTION("by bytes; a text over the limit still goes, alone") {
    server.then(kPath, json_reply(200, response_with({{1, 0}, {0, 1}})));
    server.then(kPath, json_reply(200, response_with({{2, 0}})));
    server.then(kPath, json_reply(200, response_with({{0, 3}})));
    OllamaEmbedder::Config c = config_for(server, "all-minilm");
    c.max_batch_bytes = 10;
    OllamaEmbedder e(c);
    auto v = e.embed({"12345", "abcde", "0123456789abc", "x"}, EmbedKind::kDocument);
    REQUIRE(v.ok());
    CHECK(*v == std::vector<float>{1, 0, 0, 1, 1, 0, 0, 1});
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 3);
    CHECK(inputs_of(reqs[0]) == json::array({"12345", "abcde"}));
    CHECK(inputs_of(reqs[1]) == json::array({"0123456789abc"}));
    CHECK(inputs_of(reqs[2]) == json::array({"x"}));
  }
  SECTION("no texts, no call") {
    OllamaEmbedder e(config_for(server, "all-minilm"));
    auto v = e.embed({}, EmbedKind::kDocument);
    REQUIRE(v.ok());
    CHECK(v->empty());
    CHECK(server.request_count() == 0);
  }
}

TEST_CASE("ollama embed: dimension probed once, or configured and enforced", "[embed][ollama]") {
  ReplayServer server;
  server.on(kPath, json_reply(200, response_with({{0.5f, 0.5f, 0.5f, 0.5f}})));
  OllamaEmbedder probed(config_for(server, "nomic-embed-text"));
  CHECK(probed.dimension() == 4);
  CHECK(probed.dimension() == 4);
  CHECK(server.request_count() == 1);
  CHECK(inputs_of(server.requests().at(0)) == json::array({"search_query: dimension probe"}));

  OllamaEmbedder::Config c = config_for(server, "nomic-embed-text");
  c.dimension = 768;
  OllamaEmbedder configured(c);
  CHECK(configured.dimension() == 768);
  CHECK(server.request_count() == 1);  // no probe
  auto bad = configured.embed({"x"}, EmbedKind::kDocument);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kUpstream);
  CHECK(has(bad.error().message, "4 dimensions where 768 were expected"));

  SECTION("batches of different dimensions") {
    server.clear();
    server.then(kPath, json_reply(200, response_with({{1, 2}})));
    server.then(kPath, json_reply(200, response_with({{1, 2, 3}})));
    OllamaEmbedder::Config one = config_for(server, "m");
    one.batch_size = 1;
    auto v = OllamaEmbedder(one).embed({"a", "b"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(has(v.error().message, "3 dimensions where 2 were expected"));
  }
}

TEST_CASE("ollama embed: errors", "[embed][ollama]") {
  ReplayServer server;
  SECTION("an unknown model (404) quotes the server and names the pull; not retried") {
    server.on(kPath, fixture_reply("ollama/error_404_model_not_found.json", 404));
    OllamaEmbedder e(config_for(server, "llama3.2"));
    auto v = e.embed({"x"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().kind == ErrorKind::kUpstream);
    CHECK(has(v.error().message, "model 'llama3.2' not found"));
    CHECK(has(v.error().message, "ollama pull llama3.2"));
    CHECK(has(v.error().message, "404"));
    CHECK(server.request_count() == 1);
    CHECK(e.dimension() == 0);  // the probe fails too
  }
  SECTION("401 from a proxy names OLLAMA_API_KEY, never the key") {
    server.on(kPath, json_reply(401, R"({"error":"bad token proxy-secret-77"})"));
    OllamaEmbedder::Config c = config_for(server, "all-minilm");
    c.api_key = "proxy-secret-77";
    auto v = OllamaEmbedder(c).embed({"x"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().kind == ErrorKind::kUpstream);
    CHECK(has(v.error().message, "OLLAMA_API_KEY"));
    CHECK_FALSE(has(v.error().message, "proxy-secret-77"));
    CHECK(server.request_count() == 1);
  }
  SECTION("429 is retried, then kRateLimited; a 429 then a success is a success") {
    server.on(kPath, json_reply(429, R"({"error":"too many requests"})"));
    OllamaEmbedder e(config_for(server, "all-minilm"));
    auto v = e.embed({"x"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().kind == ErrorKind::kRateLimited);
    CHECK(server.request_count() == 3);
    server.clear();
    server.then(kPath, json_reply(429, R"({"error":"too many requests"})"));
    server.then(kPath, fixture_reply("ollama/embed_response.json"));
    auto w = e.embed({"x"}, EmbedKind::kDocument);
    REQUIRE(w.ok());
    CHECK(w->size() == 10);
    CHECK(server.request_count() == 2);
  }
  SECTION("5xx is retried, then kUpstream quoting the server") {
    server.on(kPath, fixture_reply("ollama/error_generic.json", 500));
    auto v = OllamaEmbedder(config_for(server, "all-minilm")).embed({"x"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().kind == ErrorKind::kUpstream);
    CHECK(has(v.error().message, "the model failed to generate a response"));
    CHECK(server.request_count() == 3);
  }
  SECTION("malformed bodies and wrong row counts are kUpstream") {
    OllamaEmbedder::Config c = config_for(server, "all-minilm");
    OllamaEmbedder e(c);
    for (const std::string& body :
         {std::string("not json"), std::string("{}"), std::string(R"({"embeddings":[]})"),
          std::string(R"({"embeddings":[[1,"x"]]})"), std::string(R"({"embeddings":[[]]})"),
          std::string(R"({"error":"runner crashed"})"),          // an error inside a 200
          fixture_bytes("ollama/embed_response_multi.json")}) {  // 2 rows for 1 text
      INFO(body);
      server.on(kPath, json_reply(200, body));
      auto v = e.embed({"x"}, EmbedKind::kDocument);
      REQUIRE_FALSE(v.ok());
      CHECK(v.error().kind == ErrorKind::kUpstream);
    }
    server.on(kPath, fixture_reply("ollama/embed_response.json"));
    auto short_rows = e.embed({"x", "y"}, EmbedKind::kDocument);  // 1 row for 2 texts
    REQUIRE_FALSE(short_rows.ok());
    CHECK(short_rows.error().kind == ErrorKind::kUpstream);
    CHECK(has(short_rows.error().message, "1 rows for 2 inputs"));
  }
  SECTION("nothing listening is kUnavailable naming OLLAMA_HOST, after the retries") {
    RefusingPort refusing;
    OllamaEmbedder::Config c = config_for(server, "all-minilm");
    c.base_url = refusing.url();
    auto v = OllamaEmbedder(c).embed({"x"}, EmbedKind::kDocument);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().kind == ErrorKind::kUnavailable);
    CHECK(has(v.error().message, "ollama: could not connect"));
    CHECK(has(v.error().message, "OLLAMA_HOST is " + refusing.url()));
  }
}

TEST_CASE("ollama embed: through the provider registry and an EmbedderRegistry",
          "[embed][ollama][provider]") {
  ReplayServer server;
  server.on(kPath, fixture_reply("ollama/embed_response.json"));
  // OLLAMA_HOST as Ollama takes it: a bare host:port, and a trailing /api, are accepted.
  for (const std::string& host :
       {server.base_url(), "127.0.0.1:" + std::to_string(server.port()), server.url("/api/")}) {
    INFO(host);
    server.clear();
    server.on(kPath, fixture_reply("ollama/embed_response.json"));
    auto providers = make_provider_registry(Env{{"OLLAMA_HOST", host}}, fast_settings());
    auto e = providers->embedder("ollama", "nomic-embed-text");
    REQUIRE(e.ok());
    CHECK((*e)->name() == "ollama:nomic-embed-text");
    auto v = (*e)->embed({"Why is the sky blue?"}, EmbedKind::kQuery);
    REQUIRE(v.ok());
    CHECK(v->size() == 10);
    CHECK((*e)->dimension() == 10);
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].path == kPath);
    CHECK(json::parse(reqs[0].body) ==
          json{{"model", "nomic-embed-text"}, {"input", {"search_query: Why is the sky blue?"}}});
  }

  auto providers = make_provider_registry(Env{{"OLLAMA_HOST", server.base_url()}}, fast_settings());
  EmbedderRegistry embedders;
  register_provider_embedders(providers, embedders);
  auto e = embedders.create("ollama:nomic-embed-text");
  REQUIRE(e.ok());
  CHECK((*e)->name() == "ollama:nomic-embed-text");
  auto doc = (*e)->embed({"a"}, EmbedKind::kDocument);
  REQUIRE(doc.ok());
  CHECK(doc->size() == 10);
  CHECK(inputs_of(server.requests().back()) == json::array({"search_document: a"}));
  auto nameless = embedders.create("ollama");
  REQUIRE_FALSE(nameless.ok());
  CHECK(nameless.error().kind == ErrorKind::kInvalidInput);
  CHECK(has(nameless.error().message, "ollama:nomic-embed-text"));

  RefusingPort refusing;
  auto down = make_provider_registry(Env{{"OLLAMA_HOST", refusing.url()}}, fast_settings());
  auto d = down->embedder("ollama", "nomic-embed-text");
  REQUIRE(d.ok());  // made without a call
  auto v = (*d)->embed({"x"}, EmbedKind::kDocument);
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().kind == ErrorKind::kUnavailable);
  CHECK(has(v.error().message, "OLLAMA_HOST"));
}
