// Fault test: a model provider that fails at random. `chaja serve` is configured with a local
// OpenAI-compatible provider (tests/support/chaos_model.h) that, drawn from a seeded generator
// (CHAJA_FAULT_SEED), answers normally or fails: HTTP 500, 503, 429 with and without
// Retry-After, a stall before the response head or in mid-stream (longer than the configured
// timeouts), a stream cut in mid-event, a malformed event, an over-long line, an error event.
// Many concurrent questions, streamed and not, through /v1/ask and /v1/chat/completions, some
// with an extractive fallback. Checked: the server never crashes (same process, /healthz
// answers at the end), every request ends within its deadline, each ends clearly (an answer, an
// HTTP error with a JSON error body, or a stream's error event: never an empty 200 nor a stream
// that stops without `done` or an error), and no stream is left open on the server, also with
// some clients hanging up mid-stream; at the end it still stops cleanly on SIGTERM.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "../support/chaja_process.h"
#include "../support/chaos_model.h"
#include "../support/fault_support.h"

using namespace chaja::test;

TEST_CASE("fault: a provider failing at random never crashes or hangs the server",
          "[fault][chaos]") {
  const char* seed_env = std::getenv("CHAJA_FAULT_SEED");
  const uint32_t seed = seed_env ? static_cast<uint32_t>(std::stoul(seed_env)) : 20261122u;
  TempDir data;
  const std::string d = "--data '" + data.path().string() + "'";
  REQUIRE(run("", "index '" + std::string(CHAJA_SOURCE_DIR) + "/docs/sample' " + d).exit_code == 0);
  {
    // Short LLM timeouts so stalls resolve quickly; one retry.
    std::ofstream f(data / "config.json");
    f << R"({"server": {"threads": 96},
             "llm": {"connect_timeout_ms": 1000, "first_byte_timeout_ms": 1500,
                     "idle_timeout_ms": 1000, "total_timeout_ms": 5000,
                     "max_attempts": 2, "max_concurrency": 64}})";
  }
  ChaosModel::Options mo;
  mo.seed = seed;
  mo.frame_gap = std::chrono::milliseconds(10);
  mo.stall = std::chrono::milliseconds(8000);
  //            ok 500 503 429ra 429 stallH stallS cut malformed long streamErr
  mo.weights = {30, 6, 6, 5, 5, 5, 5, 6, 6, 3, 6};
  ChaosModel model(mo);
  KillableServe server(
      {"OPENAI_COMPAT_BASE_URL=" + model.url(), "CHAJA_CONFIG=" + (data / "config.json")},
      data.path().string(), data / "serve.log");
  const pid_t pid = server.pid();

  constexpr int kClients = 32, kEach = 8;
  const auto deadline = std::chrono::seconds(30);
  struct Tally {
    std::mutex mu;
    std::map<std::string, int> outcomes;  // "ask stream: done", "chat: 502", ...
    int unclear = 0, hung = 0, total = 0;
    double slowest_s = 0;
    std::vector<std::string> unclear_examples;
  } tally;
  const char* const questions[] = {"When was the Greywick Point lighthouse first lit?",
                                   "한빛반도체의 대표이사는 누구인가요?", "연차는 며칠인가요?"};
  const auto t0 = Clock::now();
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      std::mt19937 rng(seed + static_cast<uint32_t>(i) * 977u);
      for (int n = 0; n < kEach; ++n) {
        const bool chat = rng() % 2 == 0, stream = rng() % 3 != 0;
        // Some clients hang up mid-stream: the server must let go of the stream and the model.
        const bool abandon = stream && rng() % 8 == 0;
        const std::string model_name =
            rng() % 4 == 0 ? "openai-compat:chaos,extractive" : "openai-compat:chaos";
        const std::string question = questions[rng() % 3];
        const std::string body =
            chat ? json{{"model", model_name},
                        {"stream", stream},
                        {"messages", {{{"role", "user"}, {"content", question}}}}}
                       .dump()
                 : json{{"query", question}, {"model", model_name}, {"stream", stream}}.dump();
        const StreamOutcome o = post_bounded(
            server.port(), chat ? "/v1/chat/completions" : "/v1/ask", body, deadline, abandon);
        std::string kind = std::string(chat ? "chat" : "ask") + (stream ? " stream" : "") + ": ";
        if (o.abandoned)
          kind += "client hung up";
        else if (o.done || o.answer_json)
          kind += "answer";
        else if (o.error_event)
          kind += "error event";
        else if (o.error_json)
          kind += std::to_string(o.status);
        else
          kind += "UNCLEAR";
        std::lock_guard lock(tally.mu);
        ++tally.total;
        ++tally.outcomes[kind];
        tally.slowest_s = std::max(tally.slowest_s, o.total_s);
        if (o.hung) ++tally.hung;
        if (!o.clear() && !o.abandoned) {
          ++tally.unclear;
          if (tally.unclear_examples.size() < 8)
            tally.unclear_examples.push_back(
                kind + " status " + std::to_string(o.status) + " after " +
                std::to_string(o.total_s) + " s" + (o.hung ? " (hung)" : "") +
                (o.transport_error ? " (transport error)" : "") + ": " + o.body.substr(0, 300));
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  const double took = seconds_since(t0);

  auto c = server.client();
  auto health = c.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(server.process().running());
  CHECK(server.pid() == pid);
  double open_streams = -1;
  for (int i = 0; i < 100; ++i) {
    auto m = c.Get("/metrics");
    REQUIRE(m);
    open_streams = metric_value(m->body, "chaja_streams_open");
    if (open_streams == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  std::string outcomes;
  for (const auto& [k, n] : tally.outcomes) outcomes += "  " + k + " " + std::to_string(n) + "\n";
  std::printf(
      "chaos_provider (seed %u): %d requests in %.1f s (slowest %.1f s), %d unclear, %d hung\n"
      "  model calls: %zu (%s)\n%s",
      seed, tally.total, took, tally.slowest_s, tally.unclear, tally.hung, model.calls(),
      model.summary().c_str(), outcomes.c_str());
  for (const std::string& e : tally.unclear_examples) WARN(e);

  CHECK(tally.total == kClients * kEach);
  CHECK(tally.hung == 0);
  CHECK(tally.unclear == 0);
  CHECK(open_streams == 0);
  // The mix did happen: every kind of failure was drawn, and some answers came through.
  for (size_t f = 0; f < static_cast<size_t>(Fault::kCount); ++f)
    CHECK(model.count(static_cast<Fault>(f)) > 0);
  int answers = 0;
  for (const auto& [k, n] : tally.outcomes)
    if (k.ends_with("answer")) answers += n;
  CHECK(answers > 0);
  // And it still stops cleanly.
  CHECK(server.stop() == 0);
}
