// A local OpenAI-compatible model for the fault and load tests: each call to
// /v1/chat/completions draws how it goes from a seeded generator, by weight: a normal answer
// replayed from a recorded stream (tests/fixtures/openai/chat_stream_include_usage.sse, frame by
// frame with a delay, or chat_response.json when the call does not stream), or a failure:
// HTTP 500, 503 (llama.cpp's "Loading model"), 429 with and without Retry-After (OpenAI's
// recorded rate-limit response), a stall before the response head, a stall in mid-stream, a
// stream cut in the middle of an event, a malformed event, an over-long line, and an error
// event in mid-stream (llama.cpp's recorded one).
//
// With every weight on kOk it is the slow replay the soak test streams from. Its thread pool is
// large (stalls hold a thread each) and stalls wake early when the server stops. Counts of each
// kind drawn are kept. Thread-safe.
#pragma once

#include <httplib.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace chaja::test {

enum class Fault : size_t {
  kOk,
  k500,
  k503,
  k429RetryAfter,
  k429,
  kStallHead,    // accepted, nothing sent
  kStallStream,  // the head and a few frames, then nothing
  kCut,          // the connection closed in the middle of an event
  kMalformed,    // an event whose data is not JSON
  kLongLine,     // a line longer than any client should buffer (5 MiB)
  kStreamError,  // an error event in mid-stream
  kCount
};

inline const char* fault_name(Fault f) {
  static constexpr std::array<const char*, static_cast<size_t>(Fault::kCount)> names = {
      "ok",        "http_500",   "http_503",     "http_429_retry_after",
      "http_429",  "stall_head", "stall_stream", "cut",
      "malformed", "long_line",  "stream_error"};
  return names[static_cast<size_t>(f)];
}

inline std::string chaos_fixture(const std::string& relative) {
  std::ifstream in(std::string(CHAJA_FIXTURES) + "/" + relative, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class ChaosModel {
 public:
  using Weights = std::array<int, static_cast<size_t>(Fault::kCount)>;

  struct Options {
    uint32_t seed = 1;
    Weights weights{};                        // by Fault; all zero means always kOk
    std::chrono::milliseconds frame_gap{40};  // between replayed frames
    std::chrono::milliseconds stall{10'000};  // how long a stall lasts
    size_t threads = 256;
  };

  explicit ChaosModel(Options options) : options_(options), rng_(options.seed) {
    stream_frames_ = split_frames(chaos_fixture("openai/chat_stream_include_usage.sse"));
    whole_ = chaos_fixture("openai/chat_response.json");
    error_frames_ = split_frames(chaos_fixture("llamacpp/chat_stream_midstream_error.sse"));
    loading_ = chaos_fixture("llamacpp/error_503_loading_model.json");
    rate_limited_ = chaos_fixture("openai/error_429_rate_limit_exceeded.json");
    server_.new_task_queue = [n = options_.threads] { return new httplib::ThreadPool(n); };
    server_.set_keep_alive_timeout(1);
    server_.Post("/v1/chat/completions",
                 [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); });
    server_.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"object":"list","data":[{"id":"chaos","object":"model"}]})",
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    ::listen(server_socket(), 1024);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ChaosModel() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }
  ChaosModel(const ChaosModel&) = delete;
  ChaosModel& operator=(const ChaosModel&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  size_t count(Fault f) const { return counts_[static_cast<size_t>(f)].load(); }
  size_t calls() const {
    size_t n = 0;
    for (const auto& c : counts_) n += c.load();
    return n;
  }
  std::string summary() const {
    std::string s;
    for (size_t i = 0; i < counts_.size(); ++i)
      s += std::string(s.empty() ? "" : ", ") + fault_name(static_cast<Fault>(i)) + " " +
           std::to_string(counts_[i].load());
    return s;
  }

 private:
  // httplib keeps the listening socket protected; its backlog of 5 is too small for 64 streams.
  struct Access : httplib::Server {
    static int sock(httplib::Server& s) { return static_cast<int>((s.*(&Access::svr_sock_))); }
  };
  int server_socket() { return Access::sock(server_); }

  static std::vector<std::string> split_frames(const std::string& sse) {
    std::vector<std::string> frames;
    size_t pos = 0;
    while (pos < sse.size()) {
      size_t end = sse.find("\n\n", pos);
      if (end == std::string::npos) end = sse.size();
      if (end > pos) frames.push_back(sse.substr(pos, end - pos) + "\n\n");
      pos = end + 2;
    }
    return frames;
  }

  Fault draw() {
    int total = 0;
    for (const int w : options_.weights) total += w;
    if (total == 0) return Fault::kOk;
    std::lock_guard lock(mu_);
    int pick = std::uniform_int_distribution<int>(0, total - 1)(rng_);
    for (size_t i = 0; i < options_.weights.size(); ++i) {
      if (pick < options_.weights[i]) return static_cast<Fault>(i);
      pick -= options_.weights[i];
    }
    return Fault::kOk;
  }

  // Sleeps, waking early when the server stops; false then.
  bool nap(std::chrono::milliseconds d) const {
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stopping_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return !stopping_;
  }

  // Writes frames with the gap after each; `last` frames at most (all when npos). False when the
  // client went away or the server stops.
  bool replay(httplib::DataSink& sink, const std::vector<std::string>& frames,
              size_t last = std::string::npos) const {
    for (size_t i = 0; i < frames.size() && i < last; ++i) {
      if (!sink.write(frames[i].data(), frames[i].size())) return false;
      if (!nap(options_.frame_gap)) return false;
    }
    return true;
  }

  void serve(const httplib::Request& req, httplib::Response& res) {
    const Fault fault = draw();
    ++counts_[static_cast<size_t>(fault)];
    const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    const bool stream = body.is_object() && body.value("stream", false);
    switch (fault) {
      case Fault::k500:
        res.status = 500;
        return res.set_content(
            R"({"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}})",
            "application/json");
      case Fault::k503:
        res.status = 503;
        return res.set_content(loading_, "application/json");
      case Fault::k429RetryAfter:
        res.status = 429;
        res.set_header("Retry-After", "1");
        return res.set_content(rate_limited_, "application/json");
      case Fault::k429:
        res.status = 429;
        return res.set_content(rate_limited_, "application/json");
      case Fault::kStallHead:
        nap(options_.stall);
        res.status = 500;
        return res.set_content(R"({"error":{"message":"late"}})", "application/json");
      default:
        break;
    }
    if (!stream) {
      switch (fault) {
        case Fault::kCut:  // a body that falls short of its Content-Length
          return res.set_content_provider(whole_.size(), "application/json",
                                          [this](size_t, size_t, httplib::DataSink& sink) {
                                            sink.write(whole_.data(), whole_.size() / 2);
                                            return false;
                                          });
        case Fault::kMalformed:
          return res.set_content(whole_.substr(0, whole_.size() / 2) + "}}", "application/json");
        case Fault::kStallStream:
          return res.set_content_provider(whole_.size(), "application/json",
                                          [this](size_t, size_t, httplib::DataSink& sink) {
                                            sink.write(whole_.data(), 40);
                                            nap(options_.stall);
                                            return false;
                                          });
        case Fault::kLongLine:
          return res.set_content("{\"x\":\"" + std::string(5u << 20, 'a') + "\"}",
                                 "application/json");
        case Fault::kStreamError:
          res.status = 200;
          return res.set_content(
              R"({"error":{"message":"an error occurred during generation","type":"server_error","code":500}})",
              "application/json");
        default:
          return res.set_content(whole_, "application/json");
      }
    }
    res.set_chunked_content_provider(
        "text/event-stream", [this, fault](size_t, httplib::DataSink& sink) {
          const size_t half = stream_frames_.size() / 2;
          switch (fault) {
            case Fault::kStallStream:
              if (replay(sink, stream_frames_, 3)) nap(options_.stall);
              return false;
            case Fault::kCut: {
              if (!replay(sink, stream_frames_, half)) return false;
              const std::string& f = stream_frames_[half];
              sink.write(f.data(), f.size() / 2);
              return false;  // no final chunk: the connection just ends
            }
            case Fault::kMalformed: {
              if (!replay(sink, stream_frames_, half)) return false;
              const std::string bad = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"\n\n";
              sink.write(bad.data(), bad.size());
              break;
            }
            case Fault::kLongLine: {
              if (!replay(sink, stream_frames_, 2)) return false;
              const std::string line = "data: \"" + std::string(5u << 20, 'a');
              if (!sink.write(line.data(), line.size())) return false;
              break;
            }
            case Fault::kStreamError:
              if (!replay(sink, error_frames_)) return false;
              break;
            default:
              if (!replay(sink, stream_frames_)) return false;
          }
          sink.done();
          return true;
        });
  }

  Options options_;
  std::mutex mu_;
  std::mt19937 rng_;
  std::array<std::atomic<size_t>, static_cast<size_t>(Fault::kCount)> counts_{};
  std::vector<std::string> stream_frames_, error_frames_;
  std::string whole_, loading_, rate_limited_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace chaja::test
