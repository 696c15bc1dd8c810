// End to end, SIGTERM while an answer streams: the server stops accepting at once, lets the
// stream finish (its client gets the whole answer and `done`), then exits 0. A stream that
// outlives the drain deadline (CHAJA_DRAIN_SECONDS) ends with an error event instead, and the
// server still exits in time. The model is a local OpenAI-compatible server that streams slowly.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "../support/chaja_process.h"
#include "../support/slow_model.h"

namespace {

using namespace chaja::test;

// Streams one answer on its own thread; `body` fills as bytes arrive.
struct Streamer {
  std::string body;
  std::mutex mu;
  std::atomic<bool> finished{false};
  std::thread thread;

  explicit Streamer(int port) {
    thread = std::thread([this, port] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(30, 0);
      httplib::Request req;
      req.method = "POST";
      req.path = "/v1/ask";
      req.headers = {{"Content-Type", "application/json"}};
      req.body =
          R"({"query":"When was the Greywick Point lighthouse first lit?","model":"openai-compat:slow","stream":true})";
      req.content_receiver = [this](const char* data, size_t n, uint64_t, uint64_t) {
        std::lock_guard lock(mu);
        body.append(data, n);
        return true;
      };
      c.send(req);
      finished = true;
    });
  }
  ~Streamer() {
    if (thread.joinable()) thread.join();
  }
  std::string seen() {
    std::lock_guard lock(mu);
    return body;
  }
  bool wait_for(const std::string& part, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (has(seen(), part)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};

std::string indexed_data(const TempDir& data) {
  const std::string d = "--data '" + data.path().string() + "'";
  REQUIRE(run("", "index '" + std::string(CHAJA_SOURCE_DIR) + "/docs/sample' " + d).exit_code == 0);
  return data.path().string();
}

}  // namespace

TEST_CASE("e2e SIGTERM during a stream: the answer finishes, then the server exits",
          "[e2e][shutdown]") {
  TempDir data;
  SlowModel model(8, std::chrono::milliseconds(150));
  Serve server({"OPENAI_COMPAT_BASE_URL=" + model.url()}, indexed_data(data), data / "serve.log");
  Streamer stream(server.port());
  REQUIRE(stream.wait_for("event: delta", std::chrono::seconds(10)));
  const auto t0 = std::chrono::steady_clock::now();
  server.terminate();
  // New connections are refused at once, while the stream goes on.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  httplib::Client late("127.0.0.1", server.port());
  late.set_connection_timeout(1, 0);
  CHECK(!late.Get("/healthz"));
  const int status = server.wait_exit(std::chrono::seconds(15));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(read_file(data / "serve.log"));
  CHECK(status == 0);
  CHECK(seconds < 10);
  stream.thread.join();
  const std::string body = stream.seen();
  INFO(body);
  CHECK(has(body, "event: done"));
  CHECK(!has(body, "shutting down"));
}

TEST_CASE("e2e SIGTERM: a stream past the drain deadline ends with an error event",
          "[e2e][shutdown]") {
  TempDir data;
  SlowModel model(100, std::chrono::milliseconds(200));  // 20 s of answer
  Serve server({"OPENAI_COMPAT_BASE_URL=" + model.url(), "CHAJA_DRAIN_SECONDS=1"},
               indexed_data(data), data / "serve.log");
  Streamer stream(server.port());
  REQUIRE(stream.wait_for("event: delta", std::chrono::seconds(10)));
  const auto t0 = std::chrono::steady_clock::now();
  server.terminate();
  const int status = server.wait_exit(std::chrono::seconds(10));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(read_file(data / "serve.log"));
  CHECK(status == 0);
  CHECK(seconds < 5);
  stream.thread.join();
  const std::string body = stream.seen();
  CHECK(has(body, "event: error"));
  CHECK(has(body, "shutting down"));
  CHECK(!has(body, "event: done"));
}
