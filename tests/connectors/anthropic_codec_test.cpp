#include "connectors/anthropic_codec.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

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

const AnthropicCodec codec;

// The conversation of fixtures/anthropic/messages_request*.http.
ChatRequest coca_cola_request() {
  ChatRequest r;
  r.system = "You are an assistant for the company Coca Cola";
  r.messages = {{ChatRole::kUser, "hello"},
                {ChatRole::kAssistant, "how can I help you?"},
                {ChatRole::kUser, "what is Coca Cola?"}};
  r.temperature = 0;
  r.max_tokens = 1024;
  r.stop = {"<YOUR_STOP_SEQUENCE_1>", "<YOUR_STOP_SEQUENCE_2>"};
  return r;
}

Assembled stream_fixture(const std::string& name) {
  return sse_every_way(codec, read_fixture("anthropic/" + name));
}

void check_error(const Error& e, ErrorKind kind, const std::vector<std::string>& parts) {
  CHECK(e.kind == kind);
  for (const std::string& p : parts) CHECK_THAT(e.message, Catch::Contains(p));
  CHECK(utf8::is_valid(e.message));
}

}  // namespace

TEST_CASE("Anthropic: request line, headers and body match the recorded requests", "[anthropic]") {
  for (const bool stream : {false, true}) {
    const auto fixture = read_http_fixture(stream ? "anthropic/messages_request_stream.http"
                                                  : "anthropic/messages_request.http");
    const std::string model = "claude-3-5-sonnet-20241022";
    CHECK(fixture.start_line == "POST " + codec.path(model, stream) + " HTTP/1.1");

    HttpHeaders headers;
    codec.add_headers(headers, "sk-ant-test");
    for (const char* name : {"x-api-key", "anthropic-version", "content-type"}) {
      INFO(name);
      REQUIRE(headers.get(name));
      CHECK(*headers.get(name) == *fixture.headers.get(name));
    }
    CHECK(headers.size() == 3);

    // By design the only difference: the recording also sends top_p, which ChatRequest does not
    // carry (Anthropic advises temperature or top_p, not both).
    json expected = as_json(fixture.body);
    expected.erase("top_p");
    CHECK(as_json(codec.body(coca_cola_request(), model, stream)) == expected);
  }
}

TEST_CASE("Anthropic: request body edge cases", "[anthropic]") {
  ChatRequest r;
  r.messages = {{ChatRole::kUser, "bad \xff byte"}};
  r.stop = {"", "END"};
  r.max_tokens = 0;
  json body = as_json(codec.body(r, "claude-sonnet-4-5", true));
  CHECK_FALSE(body.contains("system"));       // empty system is not sent
  CHECK_FALSE(body.contains("temperature"));  // unset temperature is not sent
  CHECK(body["max_tokens"] == 1024);          // required by Anthropic: 0 means the default
  CHECK(body["stop_sequences"] == json::array({"END"}));
  CHECK(body["messages"][0]["content"] == "bad \xef\xbf\xbd byte");  // U+FFFD
  CHECK(body["stream"] == true);

  r.stop = {""};
  r.temperature = 1.7;  // OpenAI's range goes to 2; Anthropic's stops at 1
  r.max_tokens = 300;
  body = as_json(codec.body(r, "m", false));
  CHECK_FALSE(body.contains("stop_sequences"));
  CHECK(body["temperature"] == 1.0);
  CHECK(body["max_tokens"] == 300);
  r.temperature = -3;
  CHECK(as_json(codec.body(r, "m", false))["temperature"] == 0.0);
  r.temperature = std::nan("");  // not a temperature: not sent
  CHECK_FALSE(as_json(codec.body(r, "m", false)).contains("temperature"));
}

TEST_CASE("Anthropic: non-streaming responses", "[anthropic]") {
  SECTION("plain answer") {
    const auto r = codec.parse_response(read_fixture("anthropic/messages_response.json"));
    REQUIRE(r.ok());
    CHECK_THAT(r->text, Catch::StartsWith("Coca-Cola is one of the world's most famous"));
    CHECK_THAT(r->text, Catch::EndsWith("and memorable marketing campaigns."));
    CHECK(r->text.size() == 1000);
    CHECK(r->finish_reason == "stop");
    CHECK(r->stats.usage.input_tokens == 36);
    CHECK(r->stats.usage.output_tokens == 265);
  }
  SECTION("newer usage block with cache fields, service tier and geo") {
    const auto r =
        codec.parse_response(read_fixture("anthropic/messages_response_usage_details.json"));
    REQUIRE(r.ok());
    CHECK(r->text == R"({"product_name": "Green Tea", "price": 5.50, "quantity": 2})");
    CHECK(r->finish_reason == "stop");
    CHECK(r->stats.usage.input_tokens == 249);
    CHECK(r->stats.usage.output_tokens == 26);
  }
  SECTION("text blocks concatenated, other blocks ignored, cache tokens counted as input") {
    const auto r = codec.parse_response(
        R"({"type":"message","content":[{"type":"thinking","thinking":"hmm"},)"
        R"({"type":"text","text":"A"},{"type":"tool_use","id":"t","name":"f","input":{}},)"
        R"({"type":"text","text":"B"}],"stop_reason":"tool_use","usage":{"input_tokens":3,)"
        R"("cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":4}})");
    REQUIRE(r.ok());
    CHECK(r->text == "AB");
    CHECK(r->finish_reason == "tool_calls");
    CHECK(r->stats.usage.input_tokens == 113);
    CHECK(r->stats.usage.output_tokens == 4);
  }
  SECTION("stop reasons") {
    CHECK(anthropic_finish_reason("end_turn") == "stop");
    CHECK(anthropic_finish_reason("stop_sequence") == "stop");
    CHECK(anthropic_finish_reason("max_tokens") == "length");
    CHECK(anthropic_finish_reason("model_context_window_exceeded") == "length");
    CHECK(anthropic_finish_reason("tool_use") == "tool_calls");
    CHECK(anthropic_finish_reason("refusal") == "content_filter");
    CHECK(anthropic_finish_reason("pause_turn") == "pause_turn");
  }
  SECTION("no usage, no stop reason: unknown, not an error") {
    const auto r = codec.parse_response(R"({"type":"message","content":[]})");
    REQUIRE(r.ok());
    CHECK(r->text.empty());
    CHECK(r->finish_reason.empty());
    CHECK(r->stats.usage.input_tokens == -1);
    CHECK(r->stats.usage.output_tokens == -1);
  }
  SECTION("an error envelope inside a 2xx") {
    const auto r = codec.parse_response(read_fixture("anthropic/error_529_overloaded.json"));
    REQUIRE_FALSE(r.ok());
    check_error(r.error(), ErrorKind::kUpstream, {"overloaded", "Overloaded"});
  }
}

TEST_CASE("Anthropic: recorded streams at every split point", "[anthropic]") {
  SECTION("basic: message_start, content_block_start, ping, deltas, stop, message_delta") {
    const Assembled a = stream_fixture("stream_basic.sse");
    CHECK_FALSE(a.error);
    CHECK(a.done);
    CHECK(a.text == "Hello there!");
    CHECK(a.text_events == 3);
    CHECK(a.finish == "stop");
    CHECK(a.finish_events == 1);
    CHECK(a.usage.input_tokens == 11);
    CHECK(a.usage.output_tokens == 6);  // message_start's placeholder 1 is not reported
  }
  SECTION("tool use: input_json_delta ignored, stop_reason tool_use") {
    const Assembled a = stream_fixture("stream_tool_use.sse");
    CHECK_FALSE(a.error);
    CHECK(a.done);
    CHECK(a.text == "I'll check the current weather in Paris for you.");
    CHECK(a.finish == "tool_calls");
    CHECK(a.usage.input_tokens == 377);
    CHECK(a.usage.output_tokens == 65);
  }
  SECTION("JSON padded with spaces; message_delta repeats input tokens") {
    const Assembled a = stream_fixture("stream_json_output_padded.sse");
    CHECK_FALSE(a.error);
    CHECK(a.done);
    CHECK(a.text == "[12345,67890]");
    CHECK(a.finish == "stop");
    CHECK(a.usage.input_tokens == 135);
    CHECK(a.usage.output_tokens == 10);
  }
  SECTION("35-event padded text stream") {
    const Assembled a = stream_fixture("stream_padded_text.sse");
    CHECK_FALSE(a.error);
    CHECK(a.done);
    CHECK(a.text ==
          "Coca-Cola is one of the world's most famous and popular beverage brands, first "
          "created in 1886 by pharmacist John Pemberton in Atlanta, Georgia. It's a carbonated "
          "soft drink that's known for its distinctive sweet taste and caramel color.\n\nThe "
          "Coca-Cola Company is now a multinational beverage corporation that produces not only "
          "the original Coca-Cola drink but also owns many other beverage brands including:\n\n1. "
          "Diet Coke/Coca-Cola Light\n2. Sprite\n3. Fanta\n4. Minute Maid\n5. Powerade\n6. And "
          "many others\n\nThe original Coca-Cola formula remains a famous trade secret, though "
          "it's known to contain:\n- Carbonated water\n- High fructose corn syrup (in most "
          "markets) or sugar\n- Caramel color\n- Phosphoric acid\n- Natural flavors\n- "
          "Caffeine\n\nCoca-Cola has become more than just a beverage; it's a global cultural "
          "icon, recognized by its distinctive red and white logo and marketing campaigns. The "
          "company operates in more than 200 countries and territories, making it one of the "
          "most recognized brands in the world.");
    CHECK(a.text_events == 29);
    CHECK(a.finish == "stop");
    CHECK(a.usage.input_tokens == 36);
    CHECK(a.usage.output_tokens == 265);
  }
  SECTION("an overloaded_error event with HTTP 200") {
    const Assembled a = stream_fixture("stream_error_overloaded.sse");
    REQUIRE(a.error);
    check_error(*a.error, ErrorKind::kUpstream, {"overloaded", "overloaded_error", "Overloaded"});
    CHECK(a.text.empty());
    CHECK_FALSE(a.done);
  }
  SECTION("an error after text, without message_stop") {
    const Assembled a = stream_fixture("stream_midstream_error_assembled.sse");
    CHECK(a.text == "Hello");
    CHECK(a.usage.input_tokens == 11);
    CHECK_FALSE(a.done);
    REQUIRE(a.error);
    check_error(*a.error, ErrorKind::kUpstream, {"overloaded", "Overloaded"});
  }
}

TEST_CASE("Anthropic: stream event details", "[anthropic]") {
  std::vector<ChatEvent> out;
  bool done = false;
  SECTION("a rate_limit_error event is kRateLimited") {
    const Status s = codec.parse_stream(
        "error", R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})",
        out, done);
    REQUIRE_FALSE(s.ok());
    check_error(s.error(), ErrorKind::kRateLimited, {"rate limited", "slow down"});
  }
  SECTION("an event without a name is read by its data's type") {
    REQUIRE(codec.parse_stream("message", R"({"type":"message_stop"})", out, done).ok());
    CHECK(done);
    done = false;
    REQUIRE(codec
                .parse_stream("",
                              R"({"type":"content_block_delta","index":0,)"
                              R"("delta":{"type":"text_delta","text":"x"}})",
                              out, done)
                .ok());
    REQUIRE(out.size() == 1);
    CHECK(out[0].text == "x");
  }
  SECTION("ping, unknown events, thinking and citation deltas carry nothing") {
    for (
        const auto& [type, data] : std::vector<std::pair<std::string, std::string>>{
            {"ping", R"({"type": "ping"})"},
            {"content_block_stop", R"({"type":"content_block_stop","index":0})"},
            {"brand_new_event", R"({"type":"brand_new_event","whatever":[1,2]})"},
            {"content_block_start",
             R"({"type":"content_block_start","index":1,"content_block":{"type":"thinking","thinking":""}})"},
            {"content_block_delta",
             R"({"type":"content_block_delta","index":1,"delta":{"type":"thinking_delta","thinking":"hmm"}})"},
            {"content_block_delta",
             R"({"type":"content_block_delta","index":1,"delta":{"type":"signature_delta","signature":"x"}})"},
            {"content_block_delta",
             R"({"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{}}})"},
            {"message_delta", R"({"type":"message_delta","delta":{"stop_reason":null}})"},
        }) {
      INFO(type << " " << data);
      CHECK(codec.parse_stream(type, data, out, done).ok());
    }
    CHECK(out.empty());
    CHECK_FALSE(done);
  }
  SECTION("a text block that starts with text") {
    REQUIRE(codec
                .parse_stream("content_block_start",
                              R"({"type":"content_block_start","index":0,)"
                              R"("content_block":{"type":"text","text":"Hi"}})",
                              out, done)
                .ok());
    REQUIRE(out.size() == 1);
    CHECK(out[0].kind == ChatEvent::Kind::kText);
    CHECK(out[0].text == "Hi");
  }
}

TEST_CASE("Anthropic: error responses map to kinds and quote the provider", "[anthropic]") {
  SECTION("429 rate_limit_error (recorded)") {
    const auto f = read_http_fixture("anthropic/error_429_rate_limit.http");
    CHECK(f.start_line == "HTTP/1.1 429 Too Many Requests");
    const std::string provider_message = as_json(f.body)["error"]["message"].get<std::string>();
    const Error e = codec.parse_error(429, f.body);
    check_error(e, ErrorKind::kRateLimited,
                {"rate limited", "429", "rate_limit_error", provider_message,
                 "req_011CYK5n67SytMUxm8WMZUWY"});
    CHECK(codec.parse_error(429, read_fixture("anthropic/error_429_rate_limit.json")).message ==
          e.message);
  }
  SECTION("529 overloaded_error") {
    check_error(codec.parse_error(529, read_fixture("anthropic/error_529_overloaded.json")),
                ErrorKind::kUpstream, {"overloaded", "529", "overloaded_error", "Overloaded"});
  }
  SECTION("401 authentication_error (the transport adds the key variable)") {
    const Error e = codec.parse_error(
        401,
        R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})");
    check_error(e, ErrorKind::kUpstream, {"API key was refused", "401", "invalid x-api-key"});
  }
  SECTION("500 api_error, 404 not_found_error, 400 invalid_request_error") {
    check_error(
        codec.parse_error(
            500,
            R"({"type":"error","error":{"type":"api_error","message":"Internal server error"}})"),
        ErrorKind::kUpstream, {"server error", "500", "Internal server error"});
    check_error(
        codec.parse_error(
            404,
            R"({"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}})"),
        ErrorKind::kUpstream, {"not found", "model: claude-x"});
    check_error(
        codec.parse_error(
            400,
            R"({"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: required"}})"),
        ErrorKind::kUpstream, {"refused", "max_tokens: required"});
  }
  SECTION("a body that is not Anthropic's: a proxy's HTML page, or nothing") {
    check_error(codec.parse_error(502, "<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>"),
                ErrorKind::kUpstream, {"502", "<h1>502 Bad Gateway</h1>"});
    check_error(codec.parse_error(503, ""), ErrorKind::kUpstream, {"HTTP 503"});
    check_error(codec.parse_error(429, ""), ErrorKind::kRateLimited, {"429"});
  }
}

TEST_CASE("Anthropic: hostile input never crashes and gives kUpstream", "[anthropic]") {
  SECTION("malformed JSON, non-objects, invalid UTF-8, huge numbers, deep nesting") {
    for (const std::string& payload : test::hostile_payloads()) {
      INFO("payload of " << payload.size() << " bytes: " << payload.substr(0, 40));
      for (const char* type : {"message_start", "content_block_delta", "message_delta", "error",
                               "ping", "message_stop", "unknown", ""}) {
        std::vector<ChatEvent> out;
        bool done = false;
        const Status s = codec.parse_stream(type, payload, out, done);
        REQUIRE_FALSE(s.ok());
        CHECK(s.error().kind == ErrorKind::kUpstream);
        CHECK(utf8::is_valid(s.error().message));
        CHECK(out.empty());
      }
      const auto r = codec.parse_response(payload);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == ErrorKind::kUpstream);
      const Error e = codec.parse_error(500, payload);
      CHECK(e.kind == ErrorKind::kUpstream);
      CHECK(utf8::is_valid(e.message));
      CHECK(e.message.size() < 1000);
    }
  }
  SECTION("fields of the wrong type") {
    const std::vector<std::pair<std::string, std::string>> events = {
        {"content_block_delta", R"({"delta":{"type":"text_delta","text":5}})"},
        {"content_block_delta", R"({"delta":{"type":"text_delta"}})"},
        {"content_block_delta", R"({"delta":"text"})"},
        {"content_block_delta", R"({"index":0})"},
        {"content_block_start", R"({"content_block":{"type":"text","text":["a"]}})"},
        {"message_delta", R"({"delta":{"stop_reason":7},"usage":{"output_tokens":6}})"},
        {"message_delta", R"({"usage":{"output_tokens":"6"}})"},
        {"message_delta", R"({"usage":{"output_tokens":-1}})"},
        {"message_delta", R"({"usage":{"output_tokens":1.5}})"},
        {"message_delta", R"({"usage":{"output_tokens":18446744073709551615}})"},
        {"message_delta", R"({"usage":{"output_tokens":1e300}})"},
        {"message_delta", R"({"usage":{"output_tokens":123456789012345678901234567890}})"},
        {"message_delta", R"({"usage":[]})"},
        {"message_start", R"({"message":{"usage":{"input_tokens":true}}})"},
        {"message_start",
         R"({"message":{"usage":{"input_tokens":9223372036854775807,"cache_read_input_tokens":1}}})"},
        {"message_start", R"({"message":[]})"},
        {"", R"({"type":5})"},
    };
    for (const auto& [type, data] : events) {
      INFO(type << " " << data);
      std::vector<ChatEvent> out;
      bool done = false;
      const Status s = codec.parse_stream(type, data, out, done);
      REQUIRE_FALSE(s.ok());
      CHECK(s.error().kind == ErrorKind::kUpstream);
      CHECK(out.empty());
    }
    for (const std::string body :
         {R"({"type":"message"})", R"({"content":{}})", R"({"content":[1]})",
          R"({"content":[{"type":"text","text":1}]})",
          R"({"content":[],"usage":{"input_tokens":"1"}})", R"({"content":[],"stop_reason":[]})"}) {
      INFO(body);
      const auto r = codec.parse_response(body);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == ErrorKind::kUpstream);
    }
  }
  SECTION("a stream cut anywhere never yields more than the whole stream") {
    const std::string stream = read_fixture("anthropic/stream_basic.sse");
    for (size_t len = 0; len < stream.size(); ++len) {
      const Assembled a = test::assemble_sse(codec, {std::string_view(stream).substr(0, len)});
      CHECK_FALSE(a.error);
      CHECK_FALSE(a.done);  // message_stop is the last event: a cut stream is never complete
      CHECK_THAT("Hello there!", Catch::StartsWith(a.text));
    }
  }
}
