// The OpenAI Chat Completions codec in its three dialects (openai, openai-compat, mistral)
// against the recorded wire fixtures: request bodies, responses, streams at every split point,
// error bodies, and hostile input.
#include "connectors/openai_codec.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/connectors/codec_test_util.h"

using namespace chaja;
using namespace chaja::test;
using nlohmann::json;

namespace {

const OpenAiCodec& openai() {
  static const OpenAiCodec c(OpenAiCodec::Dialect::kOpenAi);
  return c;
}
const OpenAiCodec& compat() {
  static const OpenAiCodec c(OpenAiCodec::Dialect::kCompat);
  return c;
}
const OpenAiCodec& mistral() {
  static const OpenAiCodec c(OpenAiCodec::Dialect::kMistral);
  return c;
}

ChatRequest coca_cola_request() {
  ChatRequest r;
  r.system = "You are an assistant for the company Coca Cola ";
  r.messages = {{ChatRole::kUser, "hello"},
                {ChatRole::kAssistant, "hello how can I help you"},
                {ChatRole::kUser, "what is Coca Cola"}};
  r.temperature = 0.7;
  r.max_tokens = 100;
  return r;
}

// For the larger recorded streams (7-9 KB), where every split point would take seconds: whole,
// byte by byte, and 40 sets of random cuts must all assemble the same.
Assembled sse_many_ways(const ChatCodec& codec, std::string_view stream) {
  auto assemble = [&](const std::vector<std::string_view>& pieces) {
    return assemble_sse(codec, pieces);
  };
  const Assembled whole = assemble(std::vector<std::string_view>{stream});
  CHECK(assemble(bytewise(stream)) == whole);
  Rng rng(stream.size());
  for (int round = 0; round < 40; ++round)
    if (!(assemble(split_at(stream, random_cuts(stream.size(), 1 + round % 12, rng))) == whole))
      FAIL("different result with random cuts, round " << round);
  return whole;
}

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("openai codec: request bodies per dialect", "[openai][codec]") {
  const ChatRequest req = coca_cola_request();

  SECTION("openai: system message, max_completion_tokens, stream_options.include_usage") {
    const json body = as_json(openai().body(req, "gpt-4o-mini", true));
    const json expected = {
        {"model", "gpt-4o-mini"},
        {"messages",
         {{{"role", "system"}, {"content", "You are an assistant for the company Coca Cola "}},
          {{"role", "user"}, {"content", "hello"}},
          {{"role", "assistant"}, {"content", "hello how can I help you"}},
          {{"role", "user"}, {"content", "what is Coca Cola"}}}},
        {"max_completion_tokens", 100},
        {"temperature", 0.7},
        {"stream", true},
        {"stream_options", {{"include_usage", true}}}};
    CHECK(body == expected);
    // Not streaming: no stream_options.
    const json plain = as_json(openai().body(req, "gpt-4o-mini", false));
    CHECK(plain["stream"] == false);
    CHECK_FALSE(plain.contains("stream_options"));
  }

  SECTION("mistral: the recorded request body, never stream_options or max_completion_tokens") {
    // Mistral's recorded request (fixtures/mistral/chat_request_stream.http) minus top_p,
    // which Chaja does not send.
    const json body = as_json(mistral().body(req, "mistral-large-latest", true));
    const HttpFile recorded = read_http_fixture("mistral/chat_request_stream.http");
    json expected = as_json(recorded.body);
    expected.erase("top_p");
    CHECK(body == expected);
    // Even when asked to, the mistral dialect does not send stream_options (422 extra_forbidden).
    const OpenAiCodec forced(OpenAiCodec::Dialect::kMistral, {true, false});
    CHECK_FALSE(as_json(forced.body(req, "m", true)).contains("stream_options"));
  }

  SECTION("openai-compat: max_tokens, no stream_options unless configured") {
    const json body = as_json(compat().body(req, "llama-3.1-8b", true));
    CHECK(body["max_tokens"] == 100);
    CHECK_FALSE(body.contains("max_completion_tokens"));
    CHECK_FALSE(body.contains("stream_options"));
    const OpenAiCodec vllm(OpenAiCodec::Dialect::kCompat, {true, false});
    CHECK(as_json(vllm.body(req, "m", true))["stream_options"] == json{{"include_usage", true}});
  }

  SECTION("optional fields: no system, no temperature, stop as a list, invalid UTF-8 repaired") {
    ChatRequest r;
    r.messages = {{ChatRole::kUser, "caf\xc3"}};  // truncated sequence
    r.stop = {"\n\n", "END"};
    const json body = as_json(openai().body(r, "gpt-4o", false));
    REQUIRE(body["messages"].size() == 1);
    CHECK(body["messages"][0]["role"] == "user");
    CHECK(body["messages"][0]["content"] == "caf\xef\xbf\xbd");
    CHECK_FALSE(body.contains("temperature"));
    CHECK(body["stop"] == json::array({"\n\n", "END"}));
    CHECK(body["max_completion_tokens"] == 1024);
  }
}

TEST_CASE("openai codec: path and headers", "[openai][codec]") {
  CHECK(openai().path("gpt-4o", true) == "/chat/completions");
  CHECK(openai().framing() == ChatCodec::Framing::kSse);
  HttpHeaders h;
  openai().add_headers(h, "sk-test");
  CHECK(h.get("Authorization") == "Bearer sk-test");
  HttpHeaders none;
  compat().add_headers(none, "");
  CHECK_FALSE(none.contains("Authorization"));  // a local server without a key
}

TEST_CASE("openai codec: whole responses", "[openai][codec]") {
  SECTION("openai") {
    auto r = openai().parse_response(read_fixture("openai/chat_response.json"));
    REQUIRE(r.ok());
    CHECK(r->text ==
          "Coca-Cola is a globally recognized beverage company best known for its flagship "
          "product, Coca-Cola, a carbonated soft drink");
    CHECK(r->finish_reason == "stop");
    CHECK(r->stats.usage.input_tokens == 40);
    CHECK(r->stats.usage.output_tokens == 24);
  }
  SECTION("openai tool calls: no text, finish tool_calls") {
    auto r = openai().parse_response(read_fixture("openai/chat_response_parallel_tool_calls.json"));
    REQUIRE(r.ok());
    CHECK(r->text.empty());
    CHECK(r->finish_reason == "tool_calls");
    CHECK(r->stats.usage.input_tokens == 149);
  }
  SECTION("mistral (usage keys in another order, tool_calls null, finish length)") {
    auto r = mistral().parse_response(read_fixture("mistral/chat_response.json"));
    REQUIRE(r.ok());
    CHECK(r->text.starts_with("Coca-Cola, often referred to as Coke, is a carbonated"));
    CHECK(r->text.ends_with("closely guarded trade secret. However, it"));
    CHECK(r->finish_reason == "length");
    CHECK(r->stats.usage.input_tokens == 34);
    CHECK(r->stats.usage.output_tokens == 100);
  }
  SECTION("llama.cpp (keys in insertion order, timings)") {
    auto r = compat().parse_response(read_fixture("llamacpp/chat_response.json"));
    REQUIRE(r.ok());
    CHECK(r->text ==
          "Ich bin Qwen, ein Conversational AI-Assistant, der mit Alibaba Cloud entwickelt "
          "wurde. Ich bin hier, um Ihnen zu helfen!");
    CHECK(r->stats.usage.input_tokens == 35);
    CHECK(r->stats.usage.output_tokens == 30);
  }
  SECTION("content as a list of parts (Mistral reasoning models)") {
    auto r = mistral().parse_response(
        R"({"choices":[{"index":0,"message":{"role":"assistant","content":[)"
        R"({"type":"thinking","thinking":[{"type":"text","text":"hmm"}]},)"
        R"({"type":"text","text":"Paris."}]},"finish_reason":"stop"}]})");
    REQUIRE(r.ok());
    CHECK(r->text == "Paris.");
  }
  SECTION("malformed and error-in-2xx bodies are kUpstream") {
    for (const std::string& bad : hostile_payloads()) {
      auto r = openai().parse_response(bad);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == ErrorKind::kUpstream);
    }
    auto no_choices = openai().parse_response(R"({"id":"x","choices":[]})");
    REQUIRE_FALSE(no_choices.ok());
    CHECK(has(no_choices.error().message, "no choices"));
    auto err = compat().parse_response(R"({"error":{"code":500,"message":"boom"}})");
    REQUIRE_FALSE(err.ok());
    CHECK(has(err.error().message, "boom"));
    // Wrong types do not throw.
    auto odd = openai().parse_response(
        R"({"choices":[{"index":0,"message":"text","finish_reason":7}],"usage":[1]})");
    REQUIRE(odd.ok());
    CHECK(odd->text.empty());
    CHECK(odd->stats.usage.input_tokens == -1);
  }
}

TEST_CASE("openai codec: streams split every way", "[openai][codec]") {
  SECTION("openai with include_usage: text, finish, usage chunk with choices: []") {
    const Assembled a =
        sse_many_ways(openai(), read_fixture("openai/chat_stream_include_usage.sse"));
    CHECK(a.done);
    CHECK_FALSE(a.error);
    CHECK(a.text ==
          "I'm unable to provide real-time weather updates. To get the current weather in San "
          "Francisco, I recommend checking a reliable weather website or a weather app.");
    CHECK(a.finish == "stop");
    CHECK(a.usage.input_tokens == 14);
    CHECK(a.usage.output_tokens == 30);
  }
  SECTION("openai finish length, usage") {
    const Assembled a =
        sse_every_way(openai(), read_fixture("openai/chat_stream_finish_length.sse"));
    CHECK(a.done);
    CHECK(a.text == "{\"");
    CHECK(a.finish == "length");
    CHECK(a.usage.input_tokens == 79);
    CHECK(a.usage.output_tokens == 1);
  }
  SECTION("openai without usage") {
    const Assembled a = sse_many_ways(openai(), read_fixture("openai/chat_stream_no_usage.sse"));
    CHECK(a.done);
    CHECK(a.text.starts_with("Coca-Cola is a globally recognized beverage"));
    CHECK(a.usage.input_tokens == -1);
  }
  SECTION("tool-call deltas are ignored safely") {
    const Assembled a =
        sse_many_ways(openai(), read_fixture("openai/chat_stream_parallel_tool_calls.sse"));
    CHECK(a.done);
    CHECK_FALSE(a.error);
    CHECK(a.text.empty());
    CHECK(a.finish == "tool_calls");
  }
  SECTION("mistral: usage in the last content chunk") {
    const Assembled a = sse_every_way(mistral(), read_fixture("mistral/chat_stream.sse"));
    CHECK(a.done);
    CHECK(a.text == "Coca-Cola most recognizable");
    CHECK(a.finish == "length");
    CHECK(a.usage.input_tokens == 34);
    CHECK(a.usage.output_tokens == 100);
  }
  SECTION("llama.cpp: reasoning deltas ignored, content null, usage in the finish chunk") {
    const Assembled head =
        sse_every_way(compat(), read_fixture("llamacpp/chat_stream_head_reasoning.sse"));
    CHECK(head.text.empty());
    CHECK_FALSE(head.done);
    const Assembled tail = sse_every_way(compat(), read_fixture("llamacpp/chat_stream_tail.sse"));
    CHECK(tail.text == "!");
    CHECK(tail.finish == "stop");
    CHECK(tail.done);
    const Assembled usage =
        sse_every_way(compat(), read_fixture("llamacpp/chat_stream_final_chunk_with_usage.sse"));
    CHECK(usage.done);
    CHECK(usage.usage.input_tokens == 1085);
    CHECK(usage.usage.output_tokens == 247);
  }
  SECTION("llama.cpp in-stream error: kUpstream quoting the server's message") {
    const Assembled a =
        sse_every_way(compat(), read_fixture("llamacpp/chat_stream_midstream_error.sse"));
    REQUIRE(a.error);
    CHECK(a.error->kind == ErrorKind::kUpstream);
    CHECK(has(a.error->message, "an error occurred during generation"));
    CHECK_FALSE(a.done);
  }
  SECTION("the legacy `error:` field, handed over with type \"error\"") {
    std::vector<ChatEvent> out;
    bool done = false;
    Status st = compat().parse_stream(
        "error",
        R"({"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"})",
        out, done);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == ErrorKind::kUpstream);
    CHECK(has(st.error().message, "exceeds the available context size"));
    CHECK(has(st.error().message, "exceed_context_size_error"));
  }
  SECTION("an in-stream rate limit is kRateLimited") {
    std::vector<ChatEvent> out;
    bool done = false;
    Status st = openai().parse_stream(
        "message", R"({"error":{"message":"slow down","type":"rate_limit_error","code":429}})", out,
        done);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == ErrorKind::kRateLimited);
  }
  SECTION("hostile stream messages are kUpstream, never a crash") {
    for (const std::string& bad : hostile_payloads()) {
      std::vector<ChatEvent> out;
      bool done = false;
      Status st = openai().parse_stream("message", bad, out, done);
      REQUIRE_FALSE(st.ok());
      CHECK(st.error().kind == ErrorKind::kUpstream);
      CHECK_FALSE(done);
    }
    // Well-formed JSON of the wrong shape is ignored.
    std::vector<ChatEvent> out;
    bool done = false;
    CHECK(openai()
              .parse_stream("message",
                            R"({"choices":[{"index":0,"delta":{"content":7}},"x"],"usage":null})",
                            out, done)
              .ok());
    CHECK(out.empty());
    // A later choice (n > 1) is not mixed into the answer.
    CHECK(openai()
              .parse_stream("message", R"({"choices":[{"index":1,"delta":{"content":"no"}}]})", out,
                            done)
              .ok());
    CHECK(out.empty());
  }
}

TEST_CASE("openai codec: error responses", "[openai][codec]") {
  SECTION("openai 401: kUpstream, the API's own message, never more than an excerpt") {
    const Error e =
        openai().parse_error(401, read_fixture("openai/error_401_invalid_api_key.json"));
    CHECK(e.kind == ErrorKind::kUpstream);
    CHECK(has(e.message, "openai: HTTP 401 the API key was refused: Incorrect API key provided"));
    CHECK(has(e.message, "[invalid_api_key]"));
  }
  SECTION("openai 429 rate limit vs insufficient quota") {
    const std::string rate = read_fixture("openai/error_429_rate_limit_exceeded.json");
    const std::string quota = read_fixture("openai/error_429_insufficient_quota.json");
    const Error r = openai().parse_error(429, rate);
    CHECK(r.kind == ErrorKind::kRateLimited);
    CHECK(has(r.message, "rate limited: Rate limit reached for gpt-4o-mini"));
    const Error q = openai().parse_error(429, quota);
    CHECK(q.kind == ErrorKind::kRateLimited);
    CHECK(has(q.message, "quota exhausted"));
    CHECK(OpenAiCodec::retryable_error(429, rate));
    CHECK_FALSE(OpenAiCodec::retryable_error(429, quota));
    CHECK(OpenAiCodec::retryable_error(500, quota));
  }
  SECTION("mistral error shapes") {
    const Error e422 =
        mistral().parse_error(422, read_fixture("mistral/error_422_stream_options_forbidden.json"));
    CHECK(e422.kind == ErrorKind::kUpstream);
    CHECK(has(e422.message, "Extra inputs are not permitted (body.stream_options.include_usage)"));
    const Error e429 =
        mistral().parse_error(429, read_fixture("mistral/error_429_rate_limited.json"));
    CHECK(e429.kind == ErrorKind::kRateLimited);
    CHECK(has(e429.message, "Rate limit exceeded [1300]"));
    const Error legacy =
        mistral().parse_error(429, read_fixture("mistral/error_429_rate_limited_legacy.json"));
    CHECK(has(legacy.message, "Requests rate limit exceeded"));
    const Error u1 =
        mistral().parse_error(401, read_fixture("mistral/error_401_unauthorized.json"));
    CHECK(has(u1.message, "mistral: HTTP 401 the API key was refused: Unauthorized"));
    const Error u2 =
        mistral().parse_error(401, read_fixture("mistral/error_401_unauthorized_detail.json"));
    CHECK(has(u2.message, "mistral: HTTP 401 the API key was refused: Unauthorized"));
  }
  SECTION("llama.cpp error shapes: integer codes, loading model") {
    const Error load =
        compat().parse_error(503, read_fixture("llamacpp/error_503_loading_model.json"));
    CHECK(load.kind == ErrorKind::kUpstream);
    CHECK(has(load.message, "HTTP 503 the model is still loading: Loading model"));
    CHECK(has(load.message, "[unavailable_error]") == false);  // code 503 shown, type not needed
    const Error ctx =
        compat().parse_error(400, read_fixture("llamacpp/error_400_exceed_context_size.json"));
    CHECK(has(ctx.message, "exceeds the available context size"));
    const Error nf = compat().parse_error(404, read_fixture("llamacpp/error_404_not_found.json"));
    CHECK(has(nf.message, "model or endpoint not found"));
    const Error key =
        compat().parse_error(401, read_fixture("llamacpp/error_401_invalid_api_key.json"));
    CHECK(has(key.message, "Invalid API Key"));
  }
  SECTION("statuses without a JSON body") {
    const Error e = openai().parse_error(529, "");
    CHECK(e.kind == ErrorKind::kUpstream);
    CHECK(e.message == "openai: HTTP 529 overloaded");
    const Error html = openai().parse_error(502, "<html><body>Bad\nGateway</body></html>");
    CHECK(html.message == "openai: HTTP 502 gateway error: <html><body>Bad Gateway</body></html>");
    const Error big = openai().parse_error(500, std::string(10000, 'x'));
    CHECK(big.message.size() < 400);
    for (const std::string& bad : hostile_payloads()) {
      const Error h = compat().parse_error(500, bad);
      CHECK(h.kind == ErrorKind::kUpstream);
    }
  }
}
