#include "connectors/clova_codec.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <regex>

#include "index/utf8.h"
#include "tests/connectors/codec_test_util.h"

using namespace chaja;
using chaja::test::as_json;
using chaja::test::Assembled;
using chaja::test::read_fixture;
using chaja::test::read_http_fixture;
using chaja::test::sse_every_way;
using nlohmann::json;

namespace {

const ClovaCodec codec;

Assembled stream_fixture(const std::string& name) {
  return sse_every_way(codec, read_fixture("clova/" + name));
}

void check_error(const Error& e, ErrorKind kind, const std::vector<std::string>& parts) {
  CHECK(e.kind == kind);
  for (const std::string& p : parts) CHECK_THAT(e.message, Catch::Contains(p));
  CHECK(utf8::is_valid(e.message));
}

// Replaces every message's content list by the text of its text parts (Chaja sends strings).
json text_only(json body) {
  for (json& m : body["messages"]) {
    if (!m["content"].is_array()) continue;
    std::string text;
    for (const json& part : m["content"])
      if (part["type"] == "text") text += part["text"].get<std::string>();
    m["content"] = text;
  }
  return body;
}

ClovaCodec::Options docs_options() {
  ClovaCodec::Options o;
  o.top_p = 0.8;
  o.top_k = 0;
  o.repetition_penalty = 1.1;
  return o;
}

}  // namespace

TEST_CASE("CLOVA: request line, headers and body match the recorded v3 request", "[clova]") {
  const auto fixture = read_http_fixture("clova/v3_chat_request.http");
  CHECK(fixture.start_line == "POST " + codec.path("HCX-005", true) + " HTTP/1.1");

  HttpHeaders headers;
  codec.add_headers(headers, "nv-test");
  CHECK(headers.get("Authorization") == fixture.headers.get("Authorization"));
  CHECK(headers.get("Content-Type") == fixture.headers.get("Content-Type"));
  // The recording's request id is a placeholder; Chaja sends a fresh UUID every time.
  REQUIRE(headers.get(ClovaCodec::kRequestIdHeader));
  REQUIRE(fixture.headers.get(ClovaCodec::kRequestIdHeader));
  const std::string id(*headers.get(ClovaCodec::kRequestIdHeader));
  CHECK(std::regex_match(
      id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  HttpHeaders again;
  codec.add_headers(again, "nv-test");
  CHECK(*again.get(ClovaCodec::kRequestIdHeader) != id);
  HttpHeaders keyless;
  codec.add_headers(keyless, "");
  CHECK_FALSE(keyless.contains("Authorization"));

  // By design the only difference: Chaja sends text content as strings and has no images, so
  // the recording's content lists become their text (its image part is dropped).
  ChatRequest r;
  r.system = "- 친절하게 답변하는 AI 어시스턴트입니다.";
  r.messages = {{ChatRole::kUser, "이 사진에 대해서 설명해줘"}};
  r.max_tokens = 100;
  r.temperature = 0.5;
  const ClovaCodec docs(docs_options());
  for (const bool stream : {true, false})
    CHECK(as_json(docs.body(r, "HCX-005", stream)) == text_only(as_json(fixture.body)));
}

TEST_CASE("CLOVA: request details", "[clova]") {
  SECTION("messages as in the function-calling recording (string content)") {
    const auto fixture = read_http_fixture("clova/v3_chat_request_tools.http");
    CHECK(fixture.start_line == "POST " + codec.path("HCX-005", false) + " HTTP/1.1");
    ChatRequest r;
    r.messages = {{ChatRole::kUser, "오늘 서울 날씨 알려줘"}};
    const json body = as_json(codec.body(r, "HCX-005", false));
    CHECK(body["messages"] == as_json(fixture.body)["messages"]);
    CHECK(body["maxTokens"] == 1024);
    CHECK(body["stop"] == json::array());
    for (const char* absent :
         {"topP", "topK", "temperature", "repetitionPenalty", "includeAiFilters", "thinking",
          "maxCompletionTokens", "stopBefore", "repeatPenalty", "stream"})
      CHECK_FALSE(body.contains(absent));
  }
  SECTION("conversation, stop, clamped temperature, AI filters") {
    ChatRequest r;
    r.system = "sys";
    r.messages = {{ChatRole::kUser, "q"}, {ChatRole::kAssistant, "a"}, {ChatRole::kUser, "\xff"}};
    r.stop = {"", "###"};
    r.temperature = 1.5;
    r.max_tokens = 0;
    ClovaCodec::Options o;
    o.include_ai_filters = true;
    const json body = as_json(ClovaCodec(o).body(r, "HCX-DASH-002", true));
    const json expected = {{"messages",
                            {{{"role", "system"}, {"content", "sys"}},
                             {{"role", "user"}, {"content", "q"}},
                             {{"role", "assistant"}, {"content", "a"}},
                             {{"role", "user"}, {"content", "\xef\xbf\xbd"}}}},
                           {"temperature", 1.0},
                           {"stop", {"###"}},
                           {"includeAiFilters", true}};
    CHECK(body == expected);
  }
  SECTION("reasoning model: maxCompletionTokens covers the thinking; no stop while thinking") {
    ChatRequest r;
    r.messages = {{ChatRole::kUser, "q"}};
    r.stop = {"###"};
    json body = as_json(codec.body(r, "HCX-007", true));
    CHECK(body["maxCompletionTokens"] == 5120);  // the default effort (low) budget
    CHECK_FALSE(body.contains("maxTokens"));
    CHECK_FALSE(body.contains("stop"));
    CHECK_FALSE(body.contains("thinking"));

    ClovaCodec::Options o;
    o.thinking_effort = "none";
    body = as_json(ClovaCodec(o).body(r, "HCX-007", true));
    CHECK(body["maxCompletionTokens"] == 1024);
    CHECK(body["stop"] == json::array({"###"}));
    CHECK(body["thinking"] == json{{"effort", "none"}});

    o.thinking_effort = "high";
    r.max_tokens = 30000;
    body = as_json(ClovaCodec(o).body(r, "HCX-007", true));
    CHECK(body["maxCompletionTokens"] == 30000);
    CHECK(body["thinking"] == json{{"effort", "high"}});
    CHECK(ClovaCodec::is_reasoning_model("HCX-007"));
    CHECK_FALSE(ClovaCodec::is_reasoning_model("HCX-005"));
  }
  SECTION("the model is one path segment") {
    CHECK(codec.path("HCX-005", true) == "/v3/chat-completions/HCX-005");
    CHECK(codec.path("a b/../c?d", false) == "/v3/chat-completions/a%20b%2F..%2Fc%3Fd");
  }
}

TEST_CASE("CLOVA: non-streaming responses", "[clova]") {
  SECTION("v3 answer") {
    const auto r = codec.parse_response(read_fixture("clova/v3_chat_response.json"));
    REQUIRE(r.ok());
    CHECK(r->text ==
          "내일 서울의 날씨는 맑을 예정이며, 기온은 17도로 예상됩니다. 따뜻한 봄날씨가 될 것 "
          "같으니 외출하기에 좋은 날이 될 것 같아요!");
    CHECK(r->finish_reason == "stop");
    CHECK(r->stats.usage.input_tokens == 88);
    CHECK(r->stats.usage.output_tokens == 37);
  }
  SECTION("v3 answer with created in ms, aiFilter, no finishReason") {
    const auto r =
        codec.parse_response(read_fixture("clova/v3_chat_response_ms_created_aifilter.json"));
    REQUIRE(r.ok());
    CHECK_THAT(r->text, Catch::StartsWith("사진에는 어린 아이가 양에게 먹이를 주는 모습이"));
    CHECK_THAT(r->text, Catch::EndsWith("이 장소가 양 목장임을 짐작할 수 있습니다."));
    CHECK(r->finish_reason.empty());
    CHECK(r->stats.usage.input_tokens == 843);
    CHECK(r->stats.usage.output_tokens == 80);
  }
  SECTION("HCX-007: thinkingContent is not the answer") {
    const auto r = codec.parse_response(read_fixture("clova/v3_chat_response_thinking.json"));
    REQUIRE(r.ok());
    CHECK(r->text ==
          "부분집합의 개수는 각 원소가 포함 또는 제외되는 두 가지 선택으로 결정됩니다.\n따라서 "
          "n개 원소의 부분집합 개수는 항상 2ⁿ입니다.");
    CHECK(r->finish_reason == "stop");
    CHECK(r->stats.usage.input_tokens == 58);
    CHECK(r->stats.usage.output_tokens == 631);  // thinking tokens included, as billed
  }
  SECTION("tool calls ignored") {
    const auto r = codec.parse_response(read_fixture("clova/v3_chat_response_tool_calls.json"));
    REQUIRE(r.ok());
    CHECK(r->text.empty());
    CHECK(r->finish_reason == "tool_calls");
    CHECK(r->stats.usage.input_tokens == 134);
    CHECK(r->stats.usage.output_tokens == 48);
  }
  SECTION("v1 answer: stopReason LENGTH upper-case, inputLength/outputLength") {
    const auto r = codec.parse_response(read_fixture("clova/v1_chat_response.json"));
    REQUIRE(r.ok());
    CHECK(r->text ==
          "문구: 오늘 하루 있었던 일들을 기록하며, 내일을 준비하세요. 다이어리는 당신의 삶을 "
          "더욱 풍요롭게 만들어 줄 것입니다.\n");
    CHECK(r->finish_reason == "length");
    CHECK(r->stats.usage.input_tokens == 100);
    CHECK(r->stats.usage.output_tokens == 10);
  }
  SECTION("content as a list of parts") {
    const auto r = codec.parse_response(
        R"({"status":{"code":"20000","message":"OK"},"result":{"message":{"role":"assistant",)"
        R"("content":[{"type":"text","text":"A"},{"type":"image_url","imageUrl":{}},)"
        R"({"type":"text","text":"B"}]},"finishReason":"stop_before"}})");
    REQUIRE(r.ok());
    CHECK(r->text == "AB");
    CHECK(r->finish_reason == "stop");
  }
  SECTION("error envelopes inside HTTP 2xx") {
    auto r = codec.parse_response(read_fixture("clova/error_status_envelope.json"));
    REQUIRE_FALSE(r.ok());
    check_error(r.error(), ErrorKind::kUpstream,
                {"server error", "50000", "Internal Server Error"});
    r = codec.parse_response(read_fixture("clova/error_429_rate_exceeded.json"));
    REQUIRE_FALSE(r.ok());
    check_error(r.error(), ErrorKind::kRateLimited,
                {"rate limited", "42901", "Too many requests - rate exceeded"});
    r = codec.parse_response(read_fixture("clova/error_openai_compat.json"));
    REQUIRE_FALSE(r.ok());
    check_error(r.error(), ErrorKind::kUpstream, {"50000", "Internal Server Error"});
  }
  SECTION("finish reasons") {
    CHECK(clova_finish_reason("stop") == "stop");
    CHECK(clova_finish_reason("stop_before") == "stop");
    CHECK(clova_finish_reason("end_token") == "stop");
    CHECK(clova_finish_reason("LENGTH") == "length");
    CHECK(clova_finish_reason("length") == "length");
    CHECK(clova_finish_reason("tool_calls") == "tool_calls");
    CHECK(clova_finish_reason("something_new") == "something_new");
  }
}

TEST_CASE("CLOVA: recorded streams at every split point", "[clova]") {
  SECTION("v3: token, token, result; the result's full text is not counted twice") {
    const Assembled a = stream_fixture("v3_chat_stream.sse");
    CHECK_FALSE(a.error);
    CHECK(a.done);
    CHECK(a.text == "안녕");
    CHECK(a.text_events == 2);
    CHECK(a.finish == "stop");
    CHECK(a.finish_events == 1);
    CHECK(a.usage.input_tokens == 20);
    CHECK(a.usage.output_tokens == 5);
  }
  SECTION("v3 function calling: partialJson fragments ignored, finish tool_calls") {
    const Assembled a = stream_fixture("v3_chat_stream_tool_calls.sse");
    CHECK_FALSE(a.error);
    CHECK(a.done);
    CHECK(a.text.empty());
    CHECK(a.finish == "tool_calls");
    CHECK(a.usage.input_tokens == 9);
    CHECK(a.usage.output_tokens == 47);
  }
  SECTION("v1 docs stream") {
    const Assembled a = stream_fixture("v1_chat_stream_docs.sse");
    CHECK_FALSE(a.error);
    CHECK(a.done);
    CHECK(a.text == "안녕");
    CHECK(a.finish == "stop");
    CHECK(a.usage.input_tokens == 20);
    CHECK(a.usage.output_tokens == 5);
  }
  SECTION("v1 observed shape: no space after colons, per-token lengths, signal [DONE]") {
    const Assembled a = stream_fixture("v1_chat_stream_observed_shape.sse");
    CHECK_FALSE(a.error);
    CHECK(a.done);
    CHECK(a.text == "변환했습니다");
    CHECK(a.text_events == 2);
    CHECK(a.finish == "stop");
    CHECK(a.usage.input_tokens == 646);
    CHECK(a.usage.output_tokens == 2);
  }
  SECTION("without its result event, the [DONE] signal ends the stream") {
    std::string s = read_fixture("clova/v1_chat_stream_observed_shape.sse");
    const size_t result = s.find("id:6ca9f586-e7e8-4baf-8e24-c1d34b39aa28");
    const size_t signal = s.find("id:6ca9f586-e7e8-4baf-8e24-c1d34b39aa29");
    REQUIRE(result != std::string::npos);
    REQUIRE(signal != std::string::npos);
    s.erase(result, signal - result);
    const Assembled a = sse_every_way(codec, s);
    CHECK_FALSE(a.error);
    CHECK(a.done);
    CHECK(a.text == "변환했습니다");
    CHECK(a.finish.empty());
    CHECK(a.usage.input_tokens == -1);
  }
  SECTION("an error event (42902 overloaded) is kRateLimited") {
    const Assembled a = stream_fixture("stream_error_event_reconstructed.sse");
    CHECK_FALSE(a.done);
    REQUIRE(a.error);
    check_error(*a.error, ErrorKind::kRateLimited,
                {"overloaded", "42902", "Too many requests - overloaded"});
  }
  SECTION("an error after text") {
    std::string s = read_fixture("clova/v3_chat_stream.sse");
    s = s.substr(0, s.find("id: aabdfe-dfgwr-edf-hpqwd-f1asd-g")) +
        read_fixture("clova/stream_error_event_reconstructed.sse");
    const Assembled a = sse_every_way(codec, s);
    CHECK(a.text == "안녕");
    REQUIRE(a.error);
    CHECK(a.error->kind == ErrorKind::kRateLimited);
  }
}

TEST_CASE("CLOVA: stream event details", "[clova]") {
  std::vector<ChatEvent> out;
  bool done = false;
  SECTION("HCX-007 thinking deltas are not the answer") {
    REQUIRE(codec
                .parse_stream("token",
                              R"({"message": {"role": "assistant", "thinkingContent": "오늘"},)"
                              R"("finishReason": null, "usage": null})",
                              out, done)
                .ok());
    REQUIRE(codec
                .parse_stream("token",
                              R"({"message":{"role":"assistant","content":"부분",)"
                              R"("thinkingContent":""}})",
                              out, done)
                .ok());
    REQUIRE(out.size() == 1);
    CHECK(out[0].text == "부분");
    CHECK_FALSE(done);
  }
  SECTION("signals, unknown events, a bare [DONE]") {
    REQUIRE(codec.parse_stream("signal", R"({"data":"keep-alive"})", out, done).ok());
    REQUIRE(codec.parse_stream("brand_new", R"({"x":1})", out, done).ok());
    REQUIRE(codec.parse_stream("message", R"({"message":{"content":"no"}})", out, done).ok());
    CHECK(out.empty());
    CHECK_FALSE(done);
    REQUIRE(codec.parse_stream("signal", "[DONE]", out, done).ok());
    CHECK(done);
  }
  SECTION("an error event without a usable status") {
    Status s = codec.parse_stream("error", R"({"message":"boom"})", out, done);
    REQUIRE_FALSE(s.ok());
    check_error(s.error(), ErrorKind::kUpstream, {"boom"});
    s = codec.parse_stream("error", R"({"status":{"code":40003,"message":"too long"}})", out, done);
    REQUIRE_FALSE(s.ok());
    check_error(s.error(), ErrorKind::kUpstream, {"40003", "too long"});
  }
}

TEST_CASE("CLOVA: error responses map to kinds and quote the provider", "[clova]") {
  check_error(codec.parse_error(500, read_fixture("clova/error_status_envelope.json")),
              ErrorKind::kUpstream, {"server error", "HTTP 500", "50000", "Internal Server Error"});
  check_error(codec.parse_error(429, read_fixture("clova/error_429_rate_exceeded.json")),
              ErrorKind::kRateLimited,
              {"rate limited", "42901", "Too many requests - rate exceeded"});
  check_error(codec.parse_error(500, read_fixture("clova/error_openai_compat.json")),
              ErrorKind::kUpstream, {"50000", "Internal Server Error"});
  check_error(codec.parse_error(429, R"({"status":{"code":"42902","message":"overloaded"}})"),
              ErrorKind::kRateLimited, {"overloaded", "42902"});
  check_error(codec.parse_error(401, R"({"status":{"code":"40104","message":"Invalid API key"}})"),
              ErrorKind::kUpstream, {"API key was refused", "40104", "Invalid API key"});
  check_error(codec.parse_error(403, R"({"status":{"code":"40300","message":"Forbidden"}})"),
              ErrorKind::kUpstream, {"may not", "Forbidden"});
  check_error(codec.parse_error(400, R"({"status":{"code":"40080","message":"Model not found"}})"),
              ErrorKind::kUpstream, {"not found", "Model not found"});
  check_error(
      codec.parse_error(400, R"({"status":{"code":"40003","message":"Context length exceeded"}})"),
      ErrorKind::kUpstream, {"too long", "Context length exceeded"});
  check_error(codec.parse_error(504, R"({"status":{"code":"50400","message":"Gateway Timeout"}})"),
              ErrorKind::kUpstream, {"timed out", "Gateway Timeout"});
  check_error(codec.parse_error(502, "<html>Bad Gateway</html>"), ErrorKind::kUpstream,
              {"HTTP 502", "<html>Bad Gateway</html>"});
  check_error(codec.parse_error(429, ""), ErrorKind::kRateLimited, {"HTTP 429"});
  check_error(codec.parse_error(404, ""), ErrorKind::kUpstream, {"not found"});
}

TEST_CASE("CLOVA: embedding v2 helpers", "[clova]") {
  const auto fixture = read_http_fixture("clova/embedding_v2_request.http");
  CHECK(fixture.start_line == std::string("POST ") + kClovaEmbeddingPath + " HTTP/1.1");
  CHECK(as_json(clova_embedding_body("오늘 날씨 알려줘")) == as_json(fixture.body));

  const auto e = clova_parse_embedding(read_fixture("clova/embedding_v2_response.json"));
  REQUIRE(e.ok());
  CHECK(e->vector ==
        std::vector<float>{-0.3861295f, -0.7903874f, 0.2994273f, -0.7736456f, -0.24933687f});
  CHECK(e->input_tokens == 4);

  const auto limited = clova_parse_embedding(read_fixture("clova/error_429_rate_exceeded.json"));
  REQUIRE_FALSE(limited.ok());
  CHECK(limited.error().kind == ErrorKind::kRateLimited);
  for (const std::string& body : std::vector<std::string>{
           R"({"status":{"code":"20000"},"result":{"embedding":[]}})",
           R"({"status":{"code":"20000"},"result":{"embedding":[1,"2"]}})",
           R"({"status":{"code":"20000"},"result":{"embedding":[1e39]}})",
           R"({"status":{"code":"20000"},"result":{"embedding":{}}})",
           R"({"status":{"code":"20000"},"result":{"embedding":[1],"inputTokens":"4"}})",
           R"({"status":{"code":"20000"},"result":[]})", R"({"status":{"code":"20000"}})",
           read_fixture("clova/error_status_envelope.json"), "nope"}) {
    INFO(body);
    const auto r = clova_parse_embedding(body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kUpstream);
  }
}

TEST_CASE("CLOVA: hostile input never crashes and gives kUpstream", "[clova]") {
  SECTION("malformed JSON, non-objects, invalid UTF-8, huge numbers, deep nesting") {
    for (const std::string& payload : test::hostile_payloads()) {
      INFO("payload of " << payload.size() << " bytes: " << payload.substr(0, 40));
      for (const char* type : {"token", "result", "signal", "error", "message", ""}) {
        std::vector<ChatEvent> out;
        bool done = false;
        const Status s = codec.parse_stream(type, payload, out, done);
        REQUIRE_FALSE(s.ok());
        CHECK(s.error().kind == ErrorKind::kUpstream);
        CHECK(utf8::is_valid(s.error().message));
        CHECK(out.empty());
        CHECK_FALSE(done);
      }
      const auto r = codec.parse_response(payload);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == ErrorKind::kUpstream);
      const Error e = codec.parse_error(500, payload);
      CHECK(e.kind == ErrorKind::kUpstream);
      CHECK(utf8::is_valid(e.message));
      CHECK(e.message.size() < 1000);
      CHECK_FALSE(clova_parse_embedding(payload).ok());
    }
  }
  SECTION("fields of the wrong type") {
    for (const auto& [type, data] : std::vector<std::pair<std::string, std::string>>{
             {"token", R"({"message":{"content":5}})"},
             {"token", R"({"message":{"content":[1]}})"},
             {"token", R"({"message":{"content":[{"type":"text","text":5}]}})"},
             {"token", R"({"message":"안녕"})"},
             {"result", R"({"finishReason":1})"},
             {"result", R"({"finishReason":"stop","usage":{"promptTokens":"20"}})"},
             {"result", R"({"usage":{"completionTokens":-1}})"},
             {"result", R"({"usage":{"completionTokens":1e30}})"},
             {"result", R"({"usage":[]})"},
             {"result", R"({"inputLength":true})"},
             {"signal", R"({"data":5})"},
         }) {
      INFO(type << " " << data);
      std::vector<ChatEvent> out;
      bool done = false;
      const Status s = codec.parse_stream(type, data, out, done);
      REQUIRE_FALSE(s.ok());
      CHECK(s.error().kind == ErrorKind::kUpstream);
      CHECK(out.empty());
      CHECK_FALSE(done);
    }
    for (const std::string body :
         {R"({"status":{"code":"20000"}})", R"({"status":{"code":"20000"},"result":{}})",
          R"({"result":{"message":{"content":{}}}})",
          R"({"status":{"code":"20000"},"result":{"message":[]}})",
          R"({"result":{"message":{"content":"x"},"usage":{"promptTokens":1.5}}})",
          R"({"status":{"code":[]},"result":{"message":{"content":"x"}}})"}) {
      INFO(body);
      const auto r = codec.parse_response(body);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == ErrorKind::kUpstream);
    }
  }
}
