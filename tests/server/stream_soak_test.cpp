// Load test: 64 concurrent SSE streams for a while, against a model that streams slowly.
//
// 64 clients ask over and over, three in four through POST /v1/ask and one in four through
// POST /v1/chat/completions, all streamed, against an OpenAI-compatible model replaying a recorded
// stream frame by frame (each answer takes about 1.5 s). The run lasts CHAJA_SOAK_SECONDS
// (20 by default; the issue asks for several minutes: CHAJA_SOAK_SECONDS=300). The server's
// resident memory is sampled every second; after a warm-up it must stay flat: the median of the
// last third may exceed the first third's by at most half a KiB per request served in between
// (so a leak of 1 KiB per request fails) plus a small allowance for the allocator; runs shorter
// than 120 s also allow 15% for the allocator settling, which takes a minute. Every stream
// must end clearly (a `done` event, or an error event) within its deadline, and no stream may be
// left open on the server at the end. CHAJA_SOAK_FAULTS=1 adds the chaos test's failures.
#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <random>
#include <thread>

#include "../support/chaja_process.h"
#include "../support/chaos_model.h"
#include "../support/fault_support.h"

using namespace chaja::test;

namespace {

int soak_seconds() {
  const char* env = std::getenv("CHAJA_SOAK_SECONDS");
  const int s = env ? std::atoi(env) : 20;
  return s > 0 ? s : 20;
}

const char* const kQuestions[] = {
    "When was the Greywick Point lighthouse first lit?",
    "한빛반도체의 대표이사는 누구인가요?",
    "연차는 며칠인가요?",
    "What causes hallucination in language models?",
};

}  // namespace

TEST_CASE("load: 64 concurrent SSE streams keep memory flat and all end clearly", "[fault][soak]") {
  constexpr int kStreams = 64;
  const int duration_s = soak_seconds();
  TempDir data;
  const std::string d = "--data '" + data.path().string() + "'";
  REQUIRE(run("", "index '" + std::string(CHAJA_SOURCE_DIR) + "/docs/sample' " + d).exit_code == 0);
  {
    // An open server (no keys) has no per-key stream limit; the pool must hold every stream's
    // connection plus room for the metrics scrapes, and the provider must take 64 calls at once.
    std::ofstream f(data / "config.json");
    f << R"({"server": {"threads": 96, "max_streams_per_key": 64},
             "llm": {"max_concurrency": 128, "first_byte_timeout_ms": 3000,
                     "idle_timeout_ms": 3000, "total_timeout_ms": 30000}})";
  }
  ChaosModel::Options mo;
  mo.frame_gap = std::chrono::milliseconds(40);  // 34 recorded frames: about 1.4 s an answer
  // CHAJA_SOAK_FAULTS=1: the model also fails at random (chaos_provider_test's mix), to see
  // that the error paths keep memory flat too.
  const bool faults = std::getenv("CHAJA_SOAK_FAULTS") != nullptr;
  if (faults) {
    mo.weights = {30, 6, 6, 5, 5, 5, 5, 6, 6, 3, 6};
    mo.stall = std::chrono::milliseconds(8000);
  }
  ChaosModel model(mo);
  KillableServe server(
      {"OPENAI_COMPAT_BASE_URL=" + model.url(), "CHAJA_CONFIG=" + (data / "config.json")},
      data.path().string(), data / "serve.log");
  const pid_t pid = server.pid();

  struct Tally {
    std::mutex mu;
    int answers = 0, errors = 0, unclear = 0, hung = 0;
    std::vector<double> first_event_s;
    std::vector<std::string> unclear_examples;
  } tally;
  std::atomic<bool> stop{false};
  std::atomic<long> served{0};
  std::vector<std::pair<double, long>> rss;  // (seconds, KiB), with requests served so far
  std::vector<long> served_at;
  const auto t0 = Clock::now();

  std::thread sampler([&] {
    while (!stop) {
      const long kib = rss_kib(pid);
      if (kib > 0) {
        rss.emplace_back(seconds_since(t0), kib);
        served_at.push_back(served.load());
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  });
  std::vector<std::thread> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.emplace_back([&, i] {
      std::mt19937 rng(static_cast<uint32_t>(i) * 2654435761u + 7u);
      while (seconds_since(t0) < duration_s) {
        const std::string question = kQuestions[rng() % 4];
        const bool chat = rng() % 4 == 0;
        const std::string body =
            chat ? json{{"model", "openai-compat:chaos"},
                        {"stream", true},
                        {"messages", {{{"role", "user"}, {"content", question}}}}}
                       .dump()
                 : json{{"query", question}, {"model", "openai-compat:chaos"}, {"stream", true}}
                       .dump();
        const StreamOutcome o =
            post_bounded(server.port(), chat ? "/v1/chat/completions" : "/v1/ask", body,
                         std::chrono::seconds(30));
        ++served;
        std::lock_guard lock(tally.mu);
        if (o.first_event_s >= 0) tally.first_event_s.push_back(o.first_event_s);
        if (o.hung) ++tally.hung;
        if (o.clear() && o.done) {
          ++tally.answers;
        } else if (o.clear()) {
          ++tally.errors;
        } else {
          ++tally.unclear;
          if (tally.unclear_examples.size() < 5)
            tally.unclear_examples.push_back(std::to_string(o.status) + " after " +
                                             std::to_string(o.total_s) +
                                             " s: " + o.body.substr(0, 300));
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  const double took = seconds_since(t0);
  // Streams the server still counts as open, once every client has its answer.
  auto c = server.client();
  double open_streams = -1;
  for (int i = 0; i < 50; ++i) {
    auto m = c.Get("/metrics");
    REQUIRE(m);
    REQUIRE(m->status == 200);
    open_streams = metric_value(m->body, "chaja_streams_open");
    if (open_streams == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop = true;
  sampler.join();

  // RSS: samples after the warm-up (the first fifth, at least 3 s), split into thirds.
  const double warm = std::max(3.0, duration_s / 5.0);
  std::vector<long> after;
  std::vector<long> after_served;
  for (size_t i = 0; i < rss.size(); ++i)
    if (rss[i].first >= warm) {
      after.push_back(rss[i].second);
      after_served.push_back(served_at[i]);
    }
  REQUIRE(after.size() >= 6);
  const size_t third = after.size() / 3;
  const std::vector<long> first(after.begin(), after.begin() + static_cast<long>(third));
  const std::vector<long> last(after.end() - static_cast<long>(third), after.end());
  const double first_median = median_of(first), last_median = median_of(last);
  // Requests served between the middles of the two thirds: a leak of L KiB each grows the
  // median by about L times this.
  const long between = after_served[after.size() - 1 - third / 2] - after_served[third / 2];
  // Short runs (CI) also allow for the allocator settling: glibc keeps the stacks of finished
  // threads (each answer runs on its own) and grows its arenas for a minute or more (measured:
  // +14 MiB over the first 60 s, then under 1 MiB per 100 s with no change in live heap, which
  // heaptrack put at 14 MiB at its peak). So a short run catches only gross leaks (tens of KiB
  // a request); a run of 120 s or more is judged on the leak bound alone.
  const bool long_run = duration_s >= 120;
  const double settling_kib = long_run ? 0 : 0.15 * first_median;
  const double allowance_kib = 0.5 * static_cast<double>(between) + 512 + settling_kib;
  const long max_rss = *std::max_element(after.begin(), after.end());

  std::string samples;
  for (const auto& [s, kib] : rss) samples += std::to_string(kib / 1024.0).substr(0, 5) + " ";
  std::printf("stream_soak RSS MiB each second: %s\n", samples.c_str());
  std::printf(
      "stream_soak: %d s, %d streams: %d answers, %d errors, %d unclear (%d hung); RSS start "
      "%.1f MiB, first-third median %.1f, last-third median %.1f (allowed +%.0f KiB for %ld "
      "requests%s), max %.1f; first event p50 %.0f ms, p99 %.0f ms; %.1f answers/s\n",
      static_cast<int>(took), kStreams, tally.answers, tally.errors, tally.unclear, tally.hung,
      rss.empty() ? 0.0 : rss.front().second / 1024.0, first_median / 1024, last_median / 1024,
      allowance_kib, between, long_run ? "" : ", short run", max_rss / 1024.0,
      1000 * median_of(tally.first_event_s), 1000 * quantile_of(tally.first_event_s, 0.99),
      tally.answers / took);
  for (const std::string& e : tally.unclear_examples) WARN(e);

  CHECK(tally.unclear == 0);
  CHECK(tally.hung == 0);
  CHECK(tally.answers > 0);
  // A healthy model: errors would be the server's own (a full pool, a refused stream).
  if (!faults) CHECK(tally.errors == 0);
  CHECK(open_streams == 0);
  CHECK(last_median - first_median <= allowance_kib);
  CHECK(server.process().running());
  CHECK(server.stop() == 0);  // and it stops cleanly (SIGTERM) after the load
}
