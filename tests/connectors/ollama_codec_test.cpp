#include "connectors/ollama_codec.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "index/utf8.h"
#include "tests/connectors/codec_test_util.h"

using namespace chaja;
using chaja::test::as_json;
using chaja::test::Assembled;
using chaja::test::ndjson_every_way;
using chaja::test::read_fixture;
using chaja::test::read_http_fixture;
using nlohmann::json;

namespace {

const OllamaCodec codec;

Assembled stream_fixture(const std::string& name) {
  return ndjson_every_way(codec, read_fixture("ollama/" + name));
}

void check_error(const Error& e, ErrorKind kind, const std::vector<std::string>& parts) {
  CHECK(e.kind == kind);
  for (const std::string& p : parts) CHECK_THAT(e.message, Catch::Contains(p));
  CHECK(utf8::is_valid(e.message));
}

ChatRequest question(const std::string& text) {
  ChatRequest r;
  r.messages = {{ChatRole::kUser, text}};
  return r;
}

}  // namespace

TEST_CASE("Ollama: request line, headers and body match the recorded request", "[ollama]") {
  const auto fixture = read_http_fixture("ollama/chat_request.http");
  CHECK(fixture.start_line == "POST " + codec.path("llama3.2", true) + " HTTP/1.1");

  HttpHeaders headers;
  codec.add_headers(headers, "");
  CHECK(headers.get("Content-Type") == fixture.headers.get("Content-Type"));
  CHECK_FALSE(headers.contains("Authorization"));  // a local Ollama takes no key
  codec.add_headers(headers, "proxy-token");
  CHECK(headers.get("Authorization") == std::optional<std::string_view>("Bearer proxy-token"));

  // The docs' request relies on defaults; by design Chaja always says whether it streams and
  // always bounds the answer (num_predict = max_tokens).
  for (const bool stream : {true, false}) {
    json expected = as_json(fixture.body);
    expected["stream"] = stream;
    expected["options"] = {{"num_predict", 1024}};
    CHECK(as_json(codec.body(question("why is the sky blue?"), "llama3.2", stream)) == expected);
  }
}

TEST_CASE("Ollama: request options", "[ollama]") {
  ChatRequest r = question("q");
  r.system = "Answer from the sources.";
  r.messages.push_back({ChatRole::kAssistant, "a"});
  r.messages.push_back({ChatRole::kUser, "bad \xc3 byte"});
  r.temperature = 0.2;
  r.max_tokens = 256;
  r.stop = {"", "\n\nSources:"};
  const OllamaCodec with_ctx(OllamaCodec::Options{16384});
  const json body = as_json(with_ctx.body(r, "llama3.1:8b", true));
  const json expected = {{"model", "llama3.1:8b"},
                         {"messages",
                          {{{"role", "system"}, {"content", "Answer from the sources."}},
                           {{"role", "user"}, {"content", "q"}},
                           {{"role", "assistant"}, {"content", "a"}},
                           {{"role", "user"}, {"content", "bad \xef\xbf\xbd byte"}}}},
                         {"stream", true},
                         {"options",
                          {{"temperature", 0.2},
                           {"num_predict", 256},
                           {"stop", {"\n\nSources:"}},
                           {"num_ctx", 16384}}}};
  CHECK(body == expected);

  r.max_tokens = 0;  // the server's default
  r.temperature.reset();
  r.stop.clear();
  CHECK_FALSE(as_json(codec.body(r, "m", false)).contains("options"));
}

TEST_CASE("Ollama: non-streaming responses", "[ollama]") {
  SECTION("docs answer without done_reason (older servers)") {
    const auto r = codec.parse_response(read_fixture("ollama/chat_response.json"));
    REQUIRE(r.ok());
    CHECK(r->text == "Hello! How are you today?");
    CHECK(r->finish_reason == "stop");
    CHECK(r->stats.usage.input_tokens == 26);
    CHECK(r->stats.usage.output_tokens == 298);
  }
  SECTION("tool calls are ignored; done_reason read") {
    const auto r = codec.parse_response(read_fixture("ollama/chat_response_tool_calls.json"));
    REQUIRE(r.ok());
    CHECK(r->text.empty());
    CHECK(r->finish_reason == "stop");
    CHECK(r->stats.usage.input_tokens == 169);
    CHECK(r->stats.usage.output_tokens == 18);
  }
  SECTION("length and other done reasons") {
    auto r = codec.parse_response(
        R"({"message":{"role":"assistant","content":"x","thinking":"hmm"},"done":true,"done_reason":"length"})");
    REQUIRE(r.ok());
    CHECK(r->text == "x");
    CHECK(r->finish_reason == "length");
    CHECK(r->stats.usage.input_tokens == -1);
    r = codec.parse_response(
        R"({"message":{"role":"assistant","content":""},"done":true,"done_reason":"load"})");
    REQUIRE(r.ok());
    CHECK(r->finish_reason == "load");
  }
  SECTION("an error body inside a 2xx") {
    const auto r = codec.parse_response(read_fixture("ollama/error_generic.json"));
    REQUIRE_FALSE(r.ok());
    check_error(r.error(), ErrorKind::kUpstream, {"the model failed to generate a response"});
  }
}

TEST_CASE("Ollama: recorded NDJSON streams at every split point", "[ollama]") {
  SECTION("chat stream: a token line, then done:true with counts but no done_reason") {
    const Assembled a = stream_fixture("chat_stream.ndjson");
    CHECK_FALSE(a.error);
    CHECK(a.done);
    CHECK(a.text == "The");
    CHECK(a.text_events == 1);
    CHECK(a.finish == "stop");
    CHECK(a.usage.input_tokens == 26);
    CHECK(a.usage.output_tokens == 282);
  }
  SECTION("tool-call line ignored, done_reason stop") {
    const Assembled a = stream_fixture("chat_stream_tool_calls.ndjson");
    CHECK_FALSE(a.error);
    CHECK(a.done);
    CHECK(a.text.empty());
    CHECK(a.finish == "stop");
    CHECK(a.usage.input_tokens == 169);
    CHECK(a.usage.output_tokens == 15);
  }
  SECTION("/api/generate lines: text in 'response', the last line carries text and done") {
    const Assembled a = stream_fixture("generate_stream.ndjson");
    CHECK_FALSE(a.error);
    CHECK(a.done);
    CHECK(a.text == "That's a fantastic question!");
    CHECK(a.text_events == 7);
    CHECK(a.finish == "stop");
    CHECK(a.usage.input_tokens == -1);
  }
  SECTION("an {\"error\"} line after text (HTTP status stays 200)") {
    const Assembled a = stream_fixture("generate_stream_midstream_error.ndjson");
    CHECK(a.text == " Yes.Ican");
    CHECK_FALSE(a.done);
    REQUIRE(a.error);
    check_error(*a.error, ErrorKind::kUpstream,
                {"ollama", "an error was encountered while running the model"});
  }
  SECTION("CRLF line endings and a final line without its newline") {
    std::string s = read_fixture("ollama/chat_stream.ndjson");
    std::string crlf;
    for (char c : s) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    crlf.resize(crlf.size() - 2);
    const Assembled a = ndjson_every_way(codec, crlf);
    CHECK(a.text == "The");
    CHECK(a.done);
    CHECK(a.usage.output_tokens == 282);
  }
}

TEST_CASE("Ollama: error responses", "[ollama]") {
  check_error(codec.parse_error(404, read_fixture("ollama/error_404_model_not_found.json")),
              ErrorKind::kUpstream, {"model not found", "404", "model 'llama3.2' not found"});
  check_error(codec.parse_error(404, R"({"error":"model \"x\" not found, try pulling it first"})"),
              ErrorKind::kUpstream, {"model \"x\" not found, try pulling it first"});
  check_error(codec.parse_error(500, read_fixture("ollama/error_generic.json")),
              ErrorKind::kUpstream, {"500", "the model failed to generate a response"});
  check_error(codec.parse_error(400, R"({"error":"invalid options"})"), ErrorKind::kUpstream,
              {"400", "invalid options"});
  check_error(codec.parse_error(429, R"({"error":"too many requests"})"), ErrorKind::kRateLimited,
              {"429", "too many requests"});
  check_error(codec.parse_error(401, R"({"error":{"message":"bad token","type":"auth"}})"),
              ErrorKind::kUpstream, {"refused the credentials", "bad token"});
  check_error(codec.parse_error(502, "Bad Gateway\n"), ErrorKind::kUpstream,
              {"502", "Bad Gateway"});
  check_error(codec.parse_error(503, ""), ErrorKind::kUpstream, {"503"});
}

TEST_CASE("Ollama: /api/embed and /api/tags helpers", "[ollama]") {
  SECTION("embed request: a batch is always an array") {
    const auto fixture = read_http_fixture("ollama/embed_request.http");
    CHECK(fixture.start_line == std::string("POST ") + kOllamaEmbedPath + " HTTP/1.1");
    json expected = as_json(fixture.body);
    expected["input"] = json::array({expected["input"]});  // the docs send one bare string
    CHECK(as_json(ollama_embed_body("all-minilm", {"Why is the sky blue?"})) == expected);
    CHECK(as_json(ollama_embed_body("m", {"a", "b"}))["input"] == json::array({"a", "b"}));
  }
  SECTION("embed responses") {
    auto one = ollama_parse_embed(read_fixture("ollama/embed_response.json"), 1);
    REQUIRE(one.ok());
    REQUIRE(one->size() == 1);
    REQUIRE((*one)[0].size() == 10);
    CHECK((*one)[0][0] == 0.010071029f);
    CHECK((*one)[0][9] == 0.031952348f);
    auto two = ollama_parse_embed(read_fixture("ollama/embed_response_multi.json"), 2);
    REQUIRE(two.ok());
    REQUIRE(two->size() == 2);
    CHECK((*two)[1][0] == -0.0098027075f);
    CHECK((*two)[1][9] == 0.09072481f);
    auto legacy = ollama_parse_embed(R"({"embedding":[1,2.5,-3]})", 1);
    REQUIRE(legacy.ok());
    CHECK((*legacy)[0] == std::vector<float>{1, 2.5f, -3});
  }
  SECTION("bad embed responses are kUpstream") {
    for (const auto& [body, rows] : std::vector<std::pair<std::string, size_t>>{
             {read_fixture("ollama/embed_response.json"), 2},  // one row for two inputs
             {R"({"embeddings":[[1,2],[3]]})", 2},
             {R"({"embeddings":[[]]})", 1},
             {R"({"embeddings":[[1,"2"]]})", 1},
             {R"({"embeddings":[[1,1e39]]})", 1},
             {R"({"embeddings":[[1,null]]})", 1},
             {R"({"embeddings":[1]})", 1},
             {R"({"embeddings":{}})", 1},
             {R"({"model":"m"})", 1},
             {R"({"error":"model 'x' not found"})", 1},
             {"[[1,2]]", 1},
             {"", 1},
         }) {
      INFO(body);
      const auto r = ollama_parse_embed(body, rows);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == ErrorKind::kUpstream);
    }
    CHECK_THAT(ollama_parse_embed(R"({"error":"model 'x' not found"})", 1).error().message,
               Catch::Contains("model 'x' not found"));
  }
  SECTION("tags") {
    const auto names = ollama_parse_tags(read_fixture("ollama/tags_response.json"));
    REQUIRE(names.ok());
    CHECK(*names == std::vector<std::string>{"deepseek-r1:latest", "llama3.2:latest"});
    CHECK(ollama_parse_tags(R"({"models":[]})")->empty());
    CHECK(*ollama_parse_tags(R"({"models":[{"model":"a:1"}]})") == std::vector<std::string>{"a:1"});
    for (const std::string body : {R"({"models":[{"name":1}]})", R"({"models":[{}]})",
                                   R"({"models":[1]})", R"({"models":{}})", R"({})", "nope"}) {
      INFO(body);
      const auto r = ollama_parse_tags(body);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == ErrorKind::kUpstream);
    }
  }
}

TEST_CASE("Ollama: hostile input never crashes and gives kUpstream", "[ollama]") {
  SECTION("malformed JSON, non-objects, invalid UTF-8, huge numbers, deep nesting") {
    for (const std::string& payload : test::hostile_payloads()) {
      INFO("payload of " << payload.size() << " bytes: " << payload.substr(0, 40));
      std::vector<ChatEvent> out;
      bool done = false;
      const Status s = codec.parse_stream("", payload, out, done);
      REQUIRE_FALSE(s.ok());
      CHECK(s.error().kind == ErrorKind::kUpstream);
      CHECK(utf8::is_valid(s.error().message));
      CHECK(out.empty());
      CHECK_FALSE(done);
      const auto r = codec.parse_response(payload);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == ErrorKind::kUpstream);
      const Error e = codec.parse_error(500, payload);
      CHECK(e.kind == ErrorKind::kUpstream);
      CHECK(utf8::is_valid(e.message));
      CHECK(e.message.size() < 1000);
      CHECK_FALSE(ollama_parse_embed(payload, 1).ok());
      CHECK_FALSE(ollama_parse_tags(payload).ok());
    }
  }
  SECTION("fields of the wrong type") {
    for (const std::string line : {
             R"({"message":{"content":5},"done":false})",
             R"({"message":"hi","done":false})",
             R"({"response":["a"],"done":false})",
             R"({"message":{"content":"a"},"done":"false"})",
             R"({"message":{"content":"a"},"done":1})",
             R"({"done":true,"done_reason":3})",
             R"({"done":true,"eval_count":"282"})",
             R"({"done":true,"eval_count":-5})",
             R"({"done":true,"prompt_eval_count":2.5})",
             R"({"done":true,"prompt_eval_count":99999999999999999999})",
         }) {
      INFO(line);
      std::vector<ChatEvent> out;
      bool done = false;
      const Status s = codec.parse_stream("", line, out, done);
      REQUIRE_FALSE(s.ok());
      CHECK(s.error().kind == ErrorKind::kUpstream);
      CHECK(out.empty());
      CHECK_FALSE(done);
      CHECK_FALSE(codec.parse_response(line).ok());
    }
  }
  SECTION("unknown fields and an empty object are not errors") {
    std::vector<ChatEvent> out;
    bool done = false;
    REQUIRE(codec.parse_stream("", R"({"new_field":{"x":[1]},"done":false})", out, done).ok());
    REQUIRE(codec.parse_stream("", "{}", out, done).ok());
    CHECK(out.empty());
    CHECK_FALSE(done);
  }
}
