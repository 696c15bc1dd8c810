// HttpChatModel (the shared transport) with the OpenAI-family codec against the replay server:
// assembled text, usage and finish reasons from recorded streams split at awkward sizes, the exact
// request sent, the error mapping of 401/404/429/500/503/529, retries (Retry-After, never after
// the first token), cut, stalled and garbage streams, cancellation, and the concurrency limit.
#include "connectors/http_chat_model.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "connectors/ollama_codec.h"
#include "connectors/openai_codec.h"
#include "tests/connectors/replay_server.h"
#include "tests/connectors/stream_test_util.h"

using namespace chaja;
using namespace chaja::test;
using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kPath = "/v1/chat/completions";
constexpr const char* kKey = "sk-test-secret-0123456789";

HttpCallOptions fast_options(const std::string& provider = "openai") {
  HttpCallOptions o;
  o.provider = provider;
  o.key_variable = "OPENAI_API_KEY";
  o.timeouts.connect = 2000ms;
  o.timeouts.first_byte = 3000ms;
  o.timeouts.idle = 3000ms;
  o.timeouts.total = 8000ms;
  o.retry.max_attempts = 3;
  o.retry.base_delay = 5ms;
  o.retry.max_delay = 20ms;
  o.retry.max_retry_after = 2000ms;
  o.retryable = &OpenAiCodec::retryable_error;
  return o;
}

std::unique_ptr<HttpChatModel> make_model(
    const ReplayServer& server, HttpCallOptions options = fast_options(),
    OpenAiCodec::Dialect dialect = OpenAiCodec::Dialect::kOpenAi) {
  return std::make_unique<HttpChatModel>(std::make_shared<OpenAiCodec>(dialect),
                                         server.base_url() + "/v1", kKey, "gpt-4o-mini",
                                         std::move(options));
}

ChatRequest question() {
  ChatRequest r;
  r.system = "Answer briefly.";
  r.messages = {{ChatRole::kUser, "What's the weather like in SF?"}};
  r.max_tokens = 200;
  return r;
}

// Everything a sink saw.
struct Seen {
  std::string text;
  std::vector<std::string> deltas;
  std::vector<std::string> finishes;
  Usage usage;
  int events = 0;
};

ChatSink record(Seen& seen, int stop_after_texts = -1) {
  return [&seen, stop_after_texts](const ChatEvent& e) {
    ++seen.events;
    if (e.kind == ChatEvent::Kind::kText) {
      seen.text += e.text;
      seen.deltas.push_back(e.text);
      if (stop_after_texts >= 0 && static_cast<int>(seen.deltas.size()) >= stop_after_texts)
        return false;
    } else if (e.kind == ChatEvent::Kind::kFinish) {
      seen.finishes.push_back(e.finish_reason);
    } else {
      seen.usage = e.usage;
    }
    return true;
  };
}

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

const char* kWeather =
    "I'm unable to provide real-time weather updates. To get the current weather in San "
    "Francisco, I recommend checking a reliable weather website or a weather app.";

// The first `n` events of a stream fixture (each ends with a blank line).
std::string first_events(const std::string& stream, int n) {
  size_t pos = 0;
  for (int i = 0; i < n; ++i) pos = stream.find("\n\n", pos) + 2;
  return stream.substr(0, pos);
}

}  // namespace

TEST_CASE("http chat: a stream split at awkward sizes assembles exactly; the request as sent",
          "[http_chat][openai]") {
  ReplayServer server;
  server.on(kPath,
            fixture_reply("openai/chat_stream_include_usage.sse").in_chunks({7, 1, 13, 2, 50, 3}));
  auto model = make_model(server);
  CHECK(model->name() == "openai:gpt-4o-mini");
  Seen seen;
  auto res = model->stream(question(), record(seen), nullptr);
  REQUIRE(res.ok());
  CHECK(res->text == kWeather);
  CHECK(seen.text == kWeather);
  CHECK(seen.deltas.size() > 10);
  CHECK(res->finish_reason == "stop");
  CHECK(seen.finishes == std::vector<std::string>{"stop"});
  CHECK(res->stats.usage.input_tokens == 14);
  CHECK(res->stats.usage.output_tokens == 30);
  CHECK(seen.usage.output_tokens == 30);
  CHECK(res->stats.attempts == 1);
  CHECK(res->stats.first_token_ms >= 0);
  CHECK(res->stats.first_token_ms <= res->stats.total_ms);

  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  const RecordedRequest& r = reqs[0];
  CHECK(r.method == "POST");
  CHECK(r.path == kPath);
  CHECK(r.header("Authorization") == std::string("Bearer ") + kKey);
  CHECK(r.header("Content-Type") == "application/json");
  CHECK(r.header("Accept") == "text/event-stream");
  const json expected = {{"model", "gpt-4o-mini"},
                         {"messages",
                          {{{"role", "system"}, {"content", "Answer briefly."}},
                           {{"role", "user"}, {"content", "What's the weather like in SF?"}}}},
                         {"max_completion_tokens", 200},
                         {"stream", true},
                         {"stream_options", {{"include_usage", true}}}};
  CHECK(json::parse(r.body) == expected);
}

TEST_CASE("http chat: byte-by-byte, CRLF and a final [DONE] without its blank line",
          "[http_chat][openai][mistral]") {
  ReplayServer server;
  SECTION("mistral stream one byte per chunk") {
    server.on(kPath, fixture_reply("mistral/chat_stream.sse").in_chunks({1}));
    auto model = make_model(server, fast_options("mistral"), OpenAiCodec::Dialect::kMistral);
    auto res = model->stream(question(), nullptr, nullptr);
    REQUIRE(res.ok());
    CHECK(res->text == "Coca-Cola most recognizable");
    CHECK(res->finish_reason == "length");
    CHECK(res->stats.usage.input_tokens == 34);
    CHECK(res->stats.usage.output_tokens == 100);
    CHECK_FALSE(json::parse(server.requests().at(0).body).contains("stream_options"));
  }
  SECTION("CRLF line endings") {
    server.on(kPath, fixture_reply("sse/crlf_line_endings_derived.sse").in_chunks({5, 1}));
    auto res = make_model(server)->stream(question(), nullptr, nullptr);
    REQUIRE(res.ok());
    CHECK(res->text == "{\"");
    CHECK(res->finish_reason == "length");
  }
  SECTION("[DONE] not followed by a blank line before the connection ends") {
    server.on(kPath, fixture_reply("sse/eof_without_final_blank_line_derived.sse"));
    auto res = make_model(server)->stream(question(), nullptr, nullptr);
    REQUIRE(res.ok());
    CHECK(res->finish_reason == "length");
  }
  SECTION("tool-call deltas are ignored safely") {
    server.on(kPath, fixture_reply("openai/chat_stream_parallel_tool_calls.sse").in_chunks({64}));
    auto res = make_model(server)->stream(question(), nullptr, nullptr);
    REQUIRE(res.ok());
    CHECK(res->text.empty());
    CHECK(res->finish_reason == "tool_calls");
    CHECK(res->stats.first_token_ms == -1);
  }
  SECTION("llama.cpp: usage in the finish chunk, timings ignored") {
    server.on(kPath, fixture_reply("llamacpp/chat_stream_final_chunk_with_usage.sse"));
    auto model = make_model(server, fast_options("openai-compat"), OpenAiCodec::Dialect::kCompat);
    auto res = model->stream(question(), nullptr, nullptr);
    REQUIRE(res.ok());
    CHECK(res->finish_reason == "stop");
    CHECK(res->stats.usage.input_tokens == 1085);
    CHECK(res->stats.usage.output_tokens == 247);
    const json body = json::parse(server.requests().at(0).body);
    CHECK(body["max_tokens"] == 200);
    CHECK_FALSE(body.contains("stream_options"));
  }
  SECTION("a server that ignores stream:true and answers JSON") {
    server.on(kPath, fixture_reply("llamacpp/chat_response.json"));
    auto model = make_model(server, fast_options("openai-compat"), OpenAiCodec::Dialect::kCompat);
    Seen seen;
    auto res = model->stream(question(), record(seen), nullptr);
    REQUIRE(res.ok());
    CHECK(seen.text.starts_with("Ich bin Qwen"));
    CHECK(res->text == seen.text);
    CHECK(res->stats.usage.output_tokens == 30);
  }
}

TEST_CASE("http chat: blocking chat()", "[http_chat][openai][mistral]") {
  ReplayServer server;
  server.on(kPath, fixture_reply("openai/chat_response.json"));
  auto res = make_model(server)->chat(question(), nullptr);
  REQUIRE(res.ok());
  CHECK(res->text ==
        "Coca-Cola is a globally recognized beverage company best known for its flagship "
        "product, Coca-Cola, a carbonated soft drink");
  CHECK(res->finish_reason == "stop");
  CHECK(res->stats.usage.input_tokens == 40);
  CHECK(res->stats.usage.output_tokens == 24);
  CHECK(res->stats.attempts == 1);
  CHECK(res->stats.first_token_ms == res->stats.total_ms);
  const RecordedRequest r = server.requests().at(0);
  CHECK(r.header("Accept") == "application/json");
  const json body = json::parse(r.body);
  CHECK(body["stream"] == false);
  CHECK_FALSE(body.contains("stream_options"));

  server.on(kPath, fixture_reply("mistral/chat_response.json"));
  auto m = make_model(server, fast_options("mistral"), OpenAiCodec::Dialect::kMistral)
               ->chat(question(), nullptr);
  REQUIRE(m.ok());
  CHECK(m->finish_reason == "length");
  CHECK(m->stats.usage.output_tokens == 100);

  ChatRequest empty;
  auto bad = make_model(server)->chat(empty, nullptr);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidInput);
}

TEST_CASE("http chat: error statuses map to error kinds, retried where it helps",
          "[http_chat][openai][mistral]") {
  struct Case {
    int status;
    std::string fixture;  // "" for an empty body
    ErrorKind kind;
    std::string needle;
    size_t requests;  // 1: not retried; 3: every attempt used
  };
  const std::vector<Case> cases = {
      {401, "openai/error_401_invalid_api_key.json", ErrorKind::kUpstream,
       "HTTP 401 the API key was refused: Incorrect API key provided", 1},
      {403, "", ErrorKind::kUpstream, "HTTP 403", 1},
      {404, "llamacpp/error_404_not_found.json", ErrorKind::kUpstream,
       "model or endpoint not found", 1},
      {422, "mistral/error_422_stream_options_forbidden.json", ErrorKind::kUpstream,
       "Extra inputs are not permitted", 1},
      {429, "openai/error_429_rate_limit_exceeded.json", ErrorKind::kRateLimited,
       "rate limited: Rate limit reached", 3},
      {429, "openai/error_429_insufficient_quota.json", ErrorKind::kRateLimited, "quota exhausted",
       1},
      {429, "mistral/error_429_rate_limited.json", ErrorKind::kRateLimited, "Rate limit exceeded",
       3},
      {500, "", ErrorKind::kUpstream, "HTTP 500 provider error", 3},
      {503, "llamacpp/error_503_loading_model.json", ErrorKind::kUpstream,
       "the model is still loading: Loading model", 3},
      {529, "", ErrorKind::kUpstream, "HTTP 529 overloaded", 3},
  };
  for (const bool streaming : {true, false}) {
    for (const Case& c : cases) {
      INFO("status " << c.status << " " << c.fixture << (streaming ? " stream" : " chat"));
      ReplayServer server;
      server.on(kPath,
                c.fixture.empty() ? json_reply(c.status, "") : fixture_reply(c.fixture, c.status));
      auto model = make_model(server);
      auto res = streaming ? model->stream(question(), nullptr, nullptr)
                           : model->chat(question(), nullptr);
      REQUIRE_FALSE(res.ok());
      CHECK(res.error().kind == c.kind);
      CHECK(has(res.error().message, c.needle));
      CHECK(server.request_count() == c.requests);
      if (c.status == 401 || c.status == 403) CHECK(has(res.error().message, "OPENAI_API_KEY"));
      CHECK_FALSE(has(res.error().message, kKey));
    }
  }
}

TEST_CASE("http chat: the key is scrubbed from a provider's echo", "[http_chat][openai]") {
  ReplayServer server;
  server.on(kPath, json_reply(401, std::string(R"({"error":{"message":"bad key )") + kKey +
                                       R"(","type":"invalid_request_error"}})"));
  auto res = make_model(server)->stream(question(), nullptr, nullptr);
  REQUIRE_FALSE(res.ok());
  CHECK_FALSE(has(res.error().message, kKey));
  CHECK(has(res.error().message, "bad key <redacted>"));
}

TEST_CASE("http chat: 429 with Retry-After, then success: retried once", "[http_chat][openai]") {
  ReplayServer server;
  // retry-after: 1 in the recorded head; the policy caps provider waits at 60 ms here.
  server.then(kPath, http_fixture_reply("openai/error_429_rate_limit_exceeded.http"));
  server.then(kPath, fixture_reply("openai/chat_stream_include_usage.sse").in_chunks({33}));
  HttpCallOptions opts = fast_options();
  opts.retry.base_delay = 1ms;
  opts.retry.max_delay = 1ms;
  opts.retry.max_retry_after = 60ms;
  auto model = make_model(server, opts);
  const auto start = Clock::now();
  Seen seen;
  auto res = model->stream(question(), record(seen), nullptr);
  const double took = ms_since(start);
  REQUIRE(res.ok());
  CHECK(res->stats.attempts == 2);
  CHECK(res->text == kWeather);
  CHECK(seen.text == kWeather);  // nothing of the failed attempt reached the sink
  CHECK(server.request_count() == 2);
  CHECK(took >= 60);  // the provider's wait, capped
  CHECK(took < 900);  // not the full second
  CHECK(res->stats.total_ms >= 60);

  // retry-after-ms is honoured as given, for blocking calls too.
  server.clear();
  server.then(kPath, json_reply(503, R"({"error":{"message":"Loading model","code":503}})")
                         .with_header("retry-after-ms", "40"));
  server.then(kPath, fixture_reply("openai/chat_response.json"));
  const auto start2 = Clock::now();
  auto blocking = model->chat(question(), nullptr);
  REQUIRE(blocking.ok());
  CHECK(blocking->stats.attempts == 2);
  CHECK(ms_since(start2) >= 40);
}

TEST_CASE("http chat: x-should-retry: false stops retries", "[http_chat]") {
  ReplayServer server;
  server.on(kPath, json_reply(529, "").with_header("x-should-retry", "false"));
  auto res = make_model(server)->stream(question(), nullptr, nullptr);
  REQUIRE_FALSE(res.ok());
  CHECK(server.request_count() == 1);
}

TEST_CASE("http chat: a stream cut mid-way", "[http_chat][openai]") {
  const std::string stream = read_fixture("openai/chat_stream_include_usage.sse");
  ReplayServer server;
  SECTION("after text reached the sink: kUpstream, not retried") {
    server.on(kPath, fixture_reply("openai/chat_stream_include_usage.sse")
                         .in_chunks({40})
                         .cut_at(first_events(stream, 4).size() + 30));
    Seen seen;
    auto res = make_model(server)->stream(question(), record(seen), nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(has(res.error().message, "stream cut"));
    CHECK(seen.text == "I'm unable to");
    CHECK(server.request_count() == 1);
  }
  SECTION("a clean close without [DONE]: stream cut") {
    server.on(kPath, json_reply(200, first_events(stream, 5)).with_type("text/event-stream"));
    Seen seen;
    auto res = make_model(server)->stream(question(), record(seen), nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(has(res.error().message, "stream cut: the response ended before its end marker"));
    CHECK(seen.text == "I'm unable to provide");
    CHECK(server.request_count() == 1);
  }
  SECTION("before any event: retried, then the whole answer") {
    server.then(kPath, fixture_reply("openai/chat_stream_include_usage.sse").cut_at(20));
    server.then(kPath, fixture_reply("openai/chat_stream_include_usage.sse").in_chunks({9}));
    Seen seen;
    auto res = make_model(server)->stream(question(), record(seen), nullptr);
    REQUIRE(res.ok());
    CHECK(res->stats.attempts == 2);
    CHECK(seen.text == kWeather);
  }
}

TEST_CASE("http chat: a stalled stream hits the idle timeout", "[http_chat][openai]") {
  const std::string stream = read_fixture("openai/chat_stream_include_usage.sse");
  ReplayServer server;
  server.on(kPath, fixture_reply("openai/chat_stream_include_usage.sse")
                       .in_chunks({25})
                       .stall_at(first_events(stream, 3).size(), 2000ms));
  HttpCallOptions opts = fast_options();
  opts.timeouts.idle = 80ms;
  const auto start = Clock::now();
  Seen seen;
  auto res = make_model(server, opts)->stream(question(), record(seen), nullptr);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().kind == ErrorKind::kTimeout);
  CHECK(has(res.error().message, "idle timeout"));
  CHECK(seen.text == "I'm unable");
  CHECK(server.request_count() == 1);
  CHECK(ms_since(start) < 1500);
}

TEST_CASE("http chat: garbage is kUpstream with a clear message", "[http_chat][openai]") {
  ReplayServer server;
  auto model = make_model(server);
  SECTION("binary bytes") {
    std::string junk;
    Rng rng(42);
    for (int i = 0; i < 3000; ++i) junk.push_back(static_cast<char>(rng.next() & 0xff));
    Reply r = json_reply(200, junk).with_type("text/event-stream").in_chunks({17, 3});
    server.on(kPath, r);
    auto res = model->stream(question(), nullptr, nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
  }
  SECTION("a data line that is not JSON") {
    server.on(
        kPath,
        json_reply(200, "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"\n\ndata: [DONE]\n\n")
            .with_type("text/event-stream"));
    auto res = model->stream(question(), nullptr, nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(has(res.error().message, "malformed stream message"));
    CHECK(server.request_count() == 3);  // nothing reached the sink: retried
  }
  SECTION("an HTML page instead of a stream") {
    server.on(kPath,
              json_reply(200, "<html><body>captive portal</body></html>").with_type("text/html"));
    auto res = model->stream(question(), nullptr, nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(has(res.error().message, "no valid stream message"));
  }
  SECTION("an answer past the size cap") {
    server.on(kPath, fixture_reply("openai/chat_stream_include_usage.sse"));
    HttpCallOptions opts = fast_options();
    opts.max_response_bytes = 20;
    Seen seen;
    auto res = make_model(server, opts)->stream(question(), record(seen), nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(has(res.error().message, "grew past 20 bytes"));
    CHECK(seen.text.size() <= 20);
    CHECK(server.request_count() == 1);
  }
  SECTION("a malformed whole response") {
    server.on(kPath, json_reply(200, "{\"choices\": [ {\"mess"));
    auto res = model->chat(question(), nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(has(res.error().message, "malformed response"));
  }
}

TEST_CASE("http chat: in-stream errors", "[http_chat][openai]") {
  const std::string stream = read_fixture("openai/chat_stream_include_usage.sse");
  ReplayServer server;
  SECTION("after the first token: returned as is, never retried") {
    server.on(kPath, json_reply(200, first_events(stream, 3) +
                                         "data: {\"error\":{\"message\":\"The server had an "
                                         "error\",\"type\":\"server_error\"}}\n\n")
                         .with_type("text/event-stream"));
    Seen seen;
    auto res = make_model(server)->stream(question(), record(seen), nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(has(res.error().message, "The server had an error"));
    CHECK(seen.text == "I'm unable");
    CHECK(server.request_count() == 1);
  }
  SECTION("llama.cpp, before any text: retried up to the limit") {
    server.on(kPath, fixture_reply("llamacpp/chat_stream_midstream_error.sse"));
    auto model = make_model(server, fast_options("openai-compat"), OpenAiCodec::Dialect::kCompat);
    auto res = model->stream(question(), nullptr, nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(has(res.error().message, "an error occurred during generation"));
    CHECK(server.request_count() == 3);
  }
  SECTION("llama.cpp's legacy `error:` field: reported, not retried") {
    server.on(kPath, fixture_reply("llamacpp/chat_stream_error_legacy_field.sse"));
    auto model = make_model(server, fast_options("openai-compat"), OpenAiCodec::Dialect::kCompat);
    auto res = model->stream(question(), nullptr, nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(has(res.error().message, "exceeds the available context size"));
    CHECK(server.request_count() == 1);
  }
}

TEST_CASE("http chat: cancellation mid-stream", "[http_chat][openai]") {
  ReplayServer server;
  server.on(kPath,
            fixture_reply("openai/chat_stream_include_usage.sse").in_chunks({60}).with_delay(30ms));
  SECTION("the sink returns false") {
    Seen seen;
    auto res = make_model(server)->stream(question(), record(seen, 2), nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kCancelled);
    CHECK(seen.deltas.size() == 2);
    CHECK(server.request_count() == 1);
  }
  SECTION("the cancel flag, set from another thread") {
    CancelFlag cancel{false};
    std::thread canceller([&] {
      std::this_thread::sleep_for(100ms);
      cancel = true;
    });
    const auto start = Clock::now();
    Seen seen;
    auto res = make_model(server)->stream(question(), record(seen), &cancel);
    canceller.join();
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kCancelled);
    CHECK(ms_since(start) < 600);
    CHECK(seen.text != kWeather);
  }
  SECTION("cancelled while backing off") {
    server.on(kPath, json_reply(503, "").with_header("Retry-After", "1"));
    CancelFlag cancel{false};
    std::thread canceller([&] {
      std::this_thread::sleep_for(50ms);
      cancel = true;
    });
    const auto start = Clock::now();
    auto res = make_model(server)->chat(question(), &cancel);
    canceller.join();
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kCancelled);
    CHECK(ms_since(start) < 700);
  }
}

TEST_CASE("http chat: connection refused is retried, then kUnavailable", "[http_chat]") {
  int port = 0;
  {
    ReplayServer gone;
    port = gone.port();
  }
  auto model = std::make_unique<HttpChatModel>(
      std::make_shared<OpenAiCodec>(OpenAiCodec::Dialect::kCompat),
      "http://127.0.0.1:" + std::to_string(port) + "/v1", "", "m", fast_options("openai-compat"));
  auto res = model->stream(question(), nullptr, nullptr);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().kind == ErrorKind::kUnavailable);
  CHECK(has(res.error().message, "openai-compat: could not connect"));
}

TEST_CASE("http chat: the provider's concurrency limit holds across models",
          "[http_chat][limiter]") {
  ReplayServer server;
  server.on(
      kPath,
      fixture_reply("openai/chat_stream_finish_length.sse").in_chunks({200}).with_delay(40ms));
  HttpCallOptions opts = fast_options();
  opts.limiter = std::make_shared<ConcurrencyLimiter>(1);
  auto a = make_model(server, opts);
  auto b = make_model(server, opts);
  std::atomic<int> ok{0};
  const auto start = Clock::now();
  std::thread ta([&] { ok += a->stream(question(), nullptr, nullptr).ok() ? 1 : 0; });
  std::thread tb([&] { ok += b->stream(question(), nullptr, nullptr).ok() ? 1 : 0; });
  ta.join();
  tb.join();
  CHECK(ok == 2);
  // Each stream takes about 3 x 40 ms; one at a time, they cannot overlap.
  const std::string body = read_fixture("openai/chat_stream_finish_length.sse");
  const double one = 40.0 * static_cast<double>((body.size() + 199) / 200 - 1);
  CHECK(ms_since(start) >= 2 * one);
  CHECK(opts.limiter->in_use() == 0);
}

// The NDJSON side of the transport, with the Ollama codec (another helper's; used as is).
TEST_CASE("http chat: NDJSON framing (Ollama) through the transport", "[http_chat][ollama]") {
  ReplayServer server;
  auto model = [&] {
    HttpCallOptions o = fast_options("ollama");
    o.key_variable.clear();
    o.retryable = nullptr;
    return std::make_unique<HttpChatModel>(std::make_shared<OllamaCodec>(), server.base_url(), "",
                                           "llama3.2", o);
  };
  SECTION("a stream in awkward pieces: text, finish, usage") {
    server.on("/api/chat", fixture_reply("ollama/chat_stream.ndjson").in_chunks({3, 1, 17}));
    Seen seen;
    auto res = model()->stream(question(), record(seen), nullptr);
    REQUIRE(res.ok());
    CHECK(res->text == "The");
    CHECK(res->finish_reason == "stop");
    CHECK(res->stats.usage.input_tokens == 26);
    CHECK(res->stats.usage.output_tokens == 282);
    CHECK(server.requests().at(0).header("Accept") == "application/x-ndjson");
    CHECK_FALSE(server.requests().at(0).has_header("Authorization"));
  }
  SECTION("an error line mid-stream, after text: kUpstream, not retried") {
    server.on("/api/chat", fixture_reply("ollama/generate_stream_midstream_error.ndjson"));
    Seen seen;
    auto res = model()->stream(question(), record(seen), nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(has(res.error().message, "an error was encountered while running the model"));
    CHECK(seen.text == " Yes.Ican");
    CHECK(server.request_count() == 1);
  }
  SECTION("a stream without its done line: stream cut") {
    const std::string stream = read_fixture("ollama/chat_stream.ndjson");
    server.on(
        "/api/chat",
        json_reply(200, stream.substr(0, stream.find('\n') + 1)).with_type("application/x-ndjson"));
    auto res = model()->stream(question(), nullptr, nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(has(res.error().message, "stream cut"));
    CHECK(server.request_count() == 1);
  }
  SECTION("404 before the stream (body without a newline)") {
    server.on("/api/chat", fixture_reply("ollama/error_404_model_not_found.json", 404));
    auto res = model()->stream(question(), nullptr, nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(server.request_count() == 1);
  }
}
