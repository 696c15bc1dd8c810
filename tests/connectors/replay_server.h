// ReplayServer: a local HTTP server for connector tests that replays recorded provider bytes.
//
// A cpp-httplib server on 127.0.0.1, on an ephemeral port, in its own thread. For each path you
// queue one or more Replies; every request to that path (any method) takes the next queued reply,
// and the last one repeats, so `then(429)` followed by `then(200)` replays "rate limited, then
// success". Unknown paths get 404 with an OpenAI-style error body. Every request is recorded
// (method, path, headers, body) so tests can assert the exact JSON and headers a connector sent.
//
// What a Reply can do:
//   - status, content type and extra headers (e.g. Retry-After);
//   - send the body whole (Content-Length), or chunked in pieces of awkward sizes (cycled), with a
//     delay between pieces;
//   - stall: after `stall_after` body bytes, send nothing for `stall` (the connection stays open);
//   - cut: after `cut_after` body bytes, close the connection without ending the body (a chunked
//     body loses its final zero-length chunk; a whole body falls short of its Content-Length);
//   - garbage: the body is whatever bytes you put in it.
// Fixture helpers: fixture_reply("openai/chat_stream_include_usage.sse") reads
// tests/fixtures/<path> and picks the content type from the extension (.json, .sse, .ndjson);
// http_fixture_reply("openai/error_429_rate_limit_exceeded.http") reads a recorded response head
// (status line, headers, blank line, body; LF line endings as the fixtures README describes).
//
// Usage:
//   chaja::test::ReplayServer server;
//   server.on("/v1/chat/completions", chaja::test::fixture_reply("openai/chat_stream.sse")
//                                         .in_chunks({7, 1, 13}).with_delay(5ms));
//   ... point the connector at server.base_url() + "/v1" ...
//   CHECK(server.requests().at(0).header("Authorization") == "Bearer sk-test");
//
// Stalls and delays wake early when the server shuts down, so tests end fast. Thread safety: on(),
// then(), requests() and clear() may be called from any thread, also while requests are served.
// Uses the pkg-config cpp-httplib target (PkgConfig::HTTPLIB): see DEPS.md for why the defines
// matter. Catch2 macros are used only in the constructor (REQUIRE on the bound port).
#pragma once

#include <httplib.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace chaja::test {

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  bool chunked = false;             // Transfer-Encoding: chunked (implied by the options below)
  std::vector<size_t> chunk_sizes;  // piece sizes, cycled; empty: one piece
  std::chrono::milliseconds chunk_delay{0};  // pause after each piece
  std::optional<size_t> stall_after;         // body bytes sent before the stall
  std::chrono::milliseconds stall{0};
  std::optional<size_t> cut_after;          // body bytes sent before the connection is dropped
  std::chrono::milliseconds delay_head{0};  // pause before the status line is sent

  Reply& with_status(int s) {
    status = s;
    return *this;
  }
  Reply& with_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Reply& with_type(std::string type) {
    content_type = std::move(type);
    return *this;
  }
  Reply& in_chunks(std::vector<size_t> sizes) {
    chunked = true;
    chunk_sizes = std::move(sizes);
    return *this;
  }
  Reply& with_delay(std::chrono::milliseconds d) {
    chunked = true;
    chunk_delay = d;
    return *this;
  }
  Reply& stall_at(size_t bytes, std::chrono::milliseconds how_long) {
    chunked = true;
    stall_after = bytes;
    stall = how_long;
    return *this;
  }
  Reply& cut_at(size_t bytes) {
    cut_after = bytes;
    return *this;
  }
  Reply& head_delay(std::chrono::milliseconds d) {
    delay_head = d;
    return *this;
  }
};

struct RecordedRequest {
  std::string method;
  std::string path;
  std::string query;  // raw "a=1&b=2" rebuilt from the parsed parameters ("" for none)
  std::multimap<std::string, std::string> headers;  // names as received
  std::string body;

  // The first value of a header, compared case-insensitively; "" when absent.
  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers)
      if (same_name(k, name)) return v;
    return "";
  }
  bool has_header(const std::string& name) const {
    for (const auto& [k, v] : headers)
      if (same_name(k, name)) return true;
    return false;
  }
  static bool same_name(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(a[i])) !=
          std::tolower(static_cast<unsigned char>(b[i])))
        return false;
    return true;
  }
};

// tests/fixtures/<relative>, as bytes. Throws (failing the test) when missing.
inline std::string fixture_bytes(const std::string& relative) {
  const std::string path = std::string(CHAJA_FIXTURES) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// A 2xx (or given status) reply with the fixture as its body; content type by extension.
inline Reply fixture_reply(const std::string& relative, int status = 200) {
  Reply r;
  r.status = status;
  r.body = fixture_bytes(relative);
  if (relative.ends_with(".sse")) r.content_type = "text/event-stream";
  if (relative.ends_with(".ndjson")) r.content_type = "application/x-ndjson";
  return r;
}

// A recorded response head (+ body) from a .http fixture: "HTTP/1.1 429 ...", headers, blank
// line, body. Content-Length and Transfer-Encoding from the file are dropped (the server sets
// its own).
inline Reply http_fixture_reply(const std::string& relative) {
  const std::string text = fixture_bytes(relative);
  Reply r;
  r.content_type = "";
  size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    if (first) {
      first = false;
      const size_t sp = line.find(' ');
      if (sp != std::string::npos) r.status = std::stoi(line.substr(sp + 1, 3));
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "content-length" || lower == "transfer-encoding" || lower == "connection")
      continue;
    if (lower == "content-type") {
      r.content_type = value;
      continue;
    }
    r.headers.emplace_back(std::move(name), std::move(value));
  }
  r.body = pos < text.size() ? text.substr(pos) : "";
  if (r.content_type.empty()) r.content_type = "application/json";
  return r;
}

inline Reply json_reply(int status, std::string body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

class ReplayServer {
 public:
  ReplayServer() {
    server_.new_task_queue = [] { return new httplib::ThreadPool(12); };
    server_.set_keep_alive_timeout(1);
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); };
    const std::string any = ".*";
    server_.Get(any, handler);
    server_.Post(any, handler);
    server_.Put(any, handler);
    server_.Delete(any, handler);
    server_.Patch(any, handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ReplayServer() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }
  ReplayServer(const ReplayServer&) = delete;
  ReplayServer& operator=(const ReplayServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" (no trailing slash).
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& path) const { return base_url() + path; }

  // Replaces whatever was queued for the path by this one reply (which then repeats).
  void on(const std::string& path, Reply reply) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_[path] = {std::move(reply)};
  }
  // Appends a reply to the path's queue.
  void then(const std::string& path, Reply reply) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_[path].push_back(std::move(reply));
  }
  std::vector<RecordedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  size_t request_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    routes_.clear();
    requests_.clear();
  }
  // Sleeps, waking early when the server shuts down.
  void nap(std::chrono::milliseconds ms) const {
    const auto until = std::chrono::steady_clock::now() + ms;
    while (!stopping_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

 private:
  void serve(const httplib::Request& req, httplib::Response& res) {
    Reply reply;
    bool found = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      RecordedRequest rec;
      rec.method = req.method;
      rec.path = req.path;
      for (const auto& [k, v] : req.params)
        rec.query += (rec.query.empty() ? "" : "&") + k + "=" + v;
      for (const auto& [k, v] : req.headers) rec.headers.emplace(k, v);
      rec.body = req.body;
      requests_.push_back(std::move(rec));
      auto it = routes_.find(req.path);
      if (it != routes_.end() && !it->second.empty()) {
        found = true;
        reply = it->second.front();
        if (it->second.size() > 1) it->second.erase(it->second.begin());
      }
    }
    if (!found) {
      res.status = 404;
      res.set_content(R"({"error":{"message":"no replay for )" + req.path +
                          R"(","type":"not_found_error","code":404}})",
                      "application/json");
      return;
    }
    if (reply.delay_head.count() > 0) nap(reply.delay_head);
    res.status = reply.status;
    for (const auto& [k, v] : reply.headers) res.set_header(k, v);
    auto shared = std::make_shared<Reply>(std::move(reply));
    const Reply& r = *shared;
    if (!r.chunked && !r.cut_after) {
      res.set_content(r.body, r.content_type);
      return;
    }
    if (!r.chunked) {
      // A whole body that falls short of its announced length.
      res.set_content_provider(r.body.size(), r.content_type,
                               [shared](size_t offset, size_t, httplib::DataSink& sink) {
                                 if (offset > 0) return false;
                                 const size_t n = std::min(*shared->cut_after, shared->body.size());
                                 if (n > 0) sink.write(shared->body.data(), n);
                                 return false;
                               });
      return;
    }
    res.set_chunked_content_provider(
        r.content_type, [this, shared](size_t offset, httplib::DataSink& sink) {
          if (offset > 0) return false;  // everything is written in the first call
          const Reply& rp = *shared;
          const std::string& b = rp.body;
          const size_t end = rp.cut_after ? std::min(*rp.cut_after, b.size()) : b.size();
          size_t pos = 0;
          size_t piece = 0;
          bool stalled = false;
          while (pos < end) {
            size_t n = rp.chunk_sizes.empty() ? end - pos
                                              : rp.chunk_sizes[piece++ % rp.chunk_sizes.size()];
            n = std::max<size_t>(n, 1);
            if (rp.stall_after && !stalled && *rp.stall_after > pos)
              n = std::min(n, *rp.stall_after - pos);
            n = std::min(n, end - pos);
            if (!sink.write(b.data() + pos, n)) return false;
            pos += n;
            if (rp.stall_after && !stalled && pos >= *rp.stall_after) {
              stalled = true;
              nap(rp.stall);
              if (stopping_) return false;
            }
            if (rp.chunk_delay.count() > 0 && pos < end) nap(rp.chunk_delay);
            if (stopping_) return false;
          }
          if (rp.stall_after && !stalled) nap(rp.stall);
          if (rp.cut_after) return false;  // no final zero-length chunk: the stream is cut
          sink.done();
          return true;
        });
  }

  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Reply>> routes_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace chaja::test
