// A local OpenAI-compatible model for server tests: answers (requests whose prompt holds
// sources) stream slowly, `pieces` deltas `gap` apart; helper calls (plan, related questions)
// answer at once. For shutdown and limits tests, which need an answer still streaming.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

namespace chaja::test {

inline std::string slow_model_frame(const std::string& content, bool stop = false) {
  nlohmann::json chunk = {
      {"id", "chatcmpl-slow"},
      {"object", "chat.completion.chunk"},
      {"created", 1700000000},
      {"model", "slow"},
      {"choices",
       {{{"index", 0},
         {"delta", stop ? nlohmann::json::object() : nlohmann::json{{"content", content}}},
         {"finish_reason", stop ? nlohmann::json("stop") : nlohmann::json(nullptr)}}}}};
  return "data: " + chunk.dump() + "\n\n";
}

// Answers (requests whose prompt holds sources) come as `pieces` deltas `gap` apart; the helper
// calls (plan, related questions) answer at once.
class SlowModel {
 public:
  SlowModel(int pieces, std::chrono::milliseconds gap) {
    server_.Post(
        "/v1/chat/completions", [pieces, gap](const httplib::Request& req, httplib::Response& res) {
          if (req.body.find("<source n=") == std::string::npos)
            return res.set_content(
                slow_model_frame("ok") + slow_model_frame("", true) + "data: [DONE]\n\n",
                "text/event-stream");
          res.set_chunked_content_provider(
              "text/event-stream", [pieces, gap](size_t, httplib::DataSink& sink) {
                for (int i = 0; i < pieces; ++i) {
                  const std::string f = slow_model_frame("The lamp was first lit in 1873 [1]. ");
                  if (!sink.write(f.data(), f.size())) return false;
                  std::this_thread::sleep_for(gap);
                }
                const std::string end = slow_model_frame("", true) + "data: [DONE]\n\n";
                sink.write(end.data(), end.size());
                sink.done();
                return true;
              });
        });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~SlowModel() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace chaja::test
