// What `GET /metrics` reports, in Prometheus' text format (version 0.0.4): requests by route and
// status with their latency, time to first answer token, model calls by provider and outcome
// with their tokens, ingest throughput, and the index's size. Thread-safe: every request thread
// records into one Metrics. Labels are from small fixed sets (route patterns, provider names,
// error kinds), never from what a caller sends, so a client cannot blow up the series.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/model_answer.h"

namespace chaja {

// Latency buckets in seconds, as Prometheus histograms want them (cumulative on output).
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                     1,     2.5,  5,     10,   30,  60,   120};
  void observe(double seconds);
  // "name_bucket{labels,le=...} n" lines, then _sum and _count; `labels` is "" or `a="b"`.
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<uint64_t, kBounds.size()> counts_{};
  uint64_t count_ = 0;
  double sum_ = 0;
};

// Values read at scrape time.
struct MetricGauges {
  int64_t documents = 0;
  int64_t chunks = 0;
  int64_t bytes = 0;
  int64_t collections = 0;
  int64_t active_keys = 0;
  int64_t open_streams = 0;
};

class Metrics {
 public:
  // One HTTP request: its route pattern (route_of), status and time to the last byte.
  void request(std::string_view route, int status, double seconds);
  // Time from a streamed answer's request to its first answer text.
  void first_token(double seconds);
  // One model call (answer or helper), its provider's outcome ("ok" or an error kind's name),
  // and its tokens when the provider reported them.
  void model_call(std::string_view provider, std::string_view outcome, const CallStats* stats);
  // One document stored through the API: its text's bytes and the time to chunk, embed, store.
  void ingest(int64_t bytes, double seconds);

  std::string render(const MetricGauges& gauges) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  Histogram first_token_;
  std::map<std::pair<std::string, std::string>, uint64_t> model_calls_;
  std::map<std::pair<std::string, std::string>, uint64_t> tokens_;  // (provider, direction)
  uint64_t ingest_documents_ = 0;
  uint64_t ingest_bytes_ = 0;
  double ingest_seconds_ = 0;
};

// The route pattern a path belongs to, for the route label: "/v1/threads/{id}" rather than each
// id, "/assets" for the page's files, "other" for anything unknown.
std::string route_of(std::string_view method, std::string_view path);

// A ChatModelFactory whose models record every call in `metrics` (provider, outcome, tokens).
ChatModelFactory metered(ChatModelFactory factory, std::shared_ptr<Metrics> metrics);

}  // namespace chaja
