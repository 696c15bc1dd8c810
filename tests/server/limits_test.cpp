// End to end, the server's limits from the configuration file ("server" section): concurrent
// streams per key (429 with Retry-After while one is held), the request body cap (413).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "../support/chaja_process.h"
#include "../support/slow_model.h"

using namespace chaja::test;

TEST_CASE("e2e limits: streams per key and the body cap come from the config file",
          "[e2e][limits]") {
  TempDir data;
  const std::string d = "--data '" + data.path().string() + "'";
  REQUIRE(run("", "index '" + std::string(CHAJA_SOURCE_DIR) + "/docs/sample' " + d).exit_code == 0);
  const Run made = run("", "keys create --json --role reader --collections default " + d);
  REQUIRE(made.exit_code == 0);
  const std::string key = json::parse(made.out)["key"].get<std::string>();
  {
    std::ofstream f(data / "config.json");
    f << R"({"server": {"max_streams_per_key": 1, "max_body_bytes": 4096}})";
  }
  SlowModel model(20, std::chrono::milliseconds(100));  // a 2 s answer
  Serve server({"OPENAI_COMPAT_BASE_URL=" + model.url(), "CHAJA_CONFIG=" + (data / "config.json")},
               data.path().string(), data / "serve.log");
  const httplib::Headers auth{{"Authorization", "Bearer " + key}};
  const std::string ask =
      R"({"query":"When was the Greywick Point lighthouse first lit?","model":"openai-compat:slow","stream":true})";

  // One stream held open on its own thread...
  std::atomic<bool> started{false};
  std::thread first([&] {
    auto c = server.client();
    c.set_read_timeout(30, 0);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/ask";
    req.headers = auth;
    req.headers.emplace("Content-Type", "application/json");
    req.body = ask;
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
      started = true;
      return true;
    };
    c.send(req);
  });
  for (int i = 0; i < 500 && !started; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(started);
  // ...so a second one from the same key is refused, and a plain answer still goes through.
  auto c = server.client();
  auto second = c.Post("/v1/ask", auth, ask, "application/json");
  REQUIRE(second);
  CHECK(second->status == 429);
  CHECK(second->get_header_value("Retry-After") == "1");
  CHECK(has(second->body, "answers streaming"));
  first.join();
  // The slot is free again once the stream ended.
  auto third = c.Post("/v1/ask", auth, ask, "application/json");
  REQUIRE(third);
  CHECK(third->status == 200);

  // A body over the configured 4 KiB.
  auto big = c.Post("/v1/search", auth, R"({"query":")" + std::string(5000, 'a') + R"("})",
                    "application/json");
  REQUIRE(big);
  CHECK(big->status == 413);
}
