#include "agent/metrics.h"

#include <cstdio>

namespace chaja {
namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// A label value in Prometheus' quoting: backslash, quote and newline escaped.
std::string label_value(std::string_view v) {
  std::string out = "\"";
  for (const char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, double value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(number(value)).append("\n");
}

class MeteredModel : public ChatModel {
 public:
  MeteredModel(std::unique_ptr<ChatModel> inner, std::string provider,
               std::shared_ptr<Metrics> metrics)
      : inner_(std::move(inner)), provider_(std::move(provider)), metrics_(std::move(metrics)) {}
  std::string name() const override { return inner_->name(); }
  Result<ChatResult> chat(const ChatRequest& request, const CancelFlag* cancel) override {
    return record(inner_->chat(request, cancel));
  }
  Result<ChatResult> stream(const ChatRequest& request, const ChatSink& sink,
                            const CancelFlag* cancel) override {
    return record(inner_->stream(request, sink, cancel));
  }

 private:
  Result<ChatResult> record(Result<ChatResult> r) {
    if (r)
      metrics_->model_call(provider_, "ok", &r->stats);
    else
      metrics_->model_call(provider_, error_kind_name(r.error().kind), nullptr);
    return r;
  }
  std::unique_ptr<ChatModel> inner_;
  std::string provider_;
  std::shared_ptr<Metrics> metrics_;
};

}  // namespace

void Histogram::observe(double seconds) {
  for (size_t i = 0; i < kBounds.size(); ++i)
    if (seconds <= kBounds[i]) {
      ++counts_[i];
      break;
    }
  ++count_;
  sum_ += seconds;
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  const std::string prefix = labels.empty() ? "" : std::string(labels) + ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += counts_[i];
    sample(out, std::string(name) + "_bucket", prefix + "le=" + label_value(number(kBounds[i])),
           static_cast<double>(cumulative));
  }
  sample(out, std::string(name) + "_bucket", prefix + "le=\"+Inf\"", static_cast<double>(count_));
  sample(out, std::string(name) + "_sum", labels, sum_);
  sample(out, std::string(name) + "_count", labels, static_cast<double>(count_));
}

void Metrics::request(std::string_view route, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(route), status}];
  latency_[std::string(route)].observe(seconds);
}

void Metrics::first_token(double seconds) {
  std::lock_guard lock(mu_);
  first_token_.observe(seconds);
}

void Metrics::model_call(std::string_view provider, std::string_view outcome,
                         const CallStats* stats) {
  std::lock_guard lock(mu_);
  ++model_calls_[{std::string(provider), std::string(outcome)}];
  if (!stats) return;
  if (stats->usage.input_tokens > 0)
    tokens_[{std::string(provider), "prompt"}] += static_cast<uint64_t>(stats->usage.input_tokens);
  if (stats->usage.output_tokens > 0)
    tokens_[{std::string(provider), "completion"}] +=
        static_cast<uint64_t>(stats->usage.output_tokens);
}

void Metrics::ingest(int64_t bytes, double seconds) {
  std::lock_guard lock(mu_);
  ++ingest_documents_;
  ingest_bytes_ += static_cast<uint64_t>(std::max<int64_t>(0, bytes));
  ingest_seconds_ += seconds;
}

std::string Metrics::render(const MetricGauges& g) const {
  std::lock_guard lock(mu_);
  std::string out;
  header(out, "chaja_http_requests_total", "counter", "HTTP requests by route and status.");
  for (const auto& [key, n] : requests_)
    sample(out, "chaja_http_requests_total",
           "route=" + label_value(key.first) + ",status=" + label_value(std::to_string(key.second)),
           static_cast<double>(n));
  header(out, "chaja_http_request_duration_seconds", "histogram",
         "Time from a request to its response's last byte (a stream's end), by route.");
  for (const auto& [route, h] : latency_)
    h.render(out, "chaja_http_request_duration_seconds", "route=" + label_value(route));
  header(out, "chaja_time_to_first_token_seconds", "histogram",
         "Time from a streamed answer's request to its first answer text.");
  first_token_.render(out, "chaja_time_to_first_token_seconds", "");
  header(out, "chaja_model_calls_total", "counter",
         "Model calls (answers and helper calls) by provider and outcome (ok or an error kind).");
  for (const auto& [key, n] : model_calls_)
    sample(out, "chaja_model_calls_total",
           "provider=" + label_value(key.first) + ",outcome=" + label_value(key.second),
           static_cast<double>(n));
  header(out, "chaja_model_tokens_total", "counter",
         "Tokens the providers reported, by provider and direction.");
  for (const auto& [key, n] : tokens_)
    sample(out, "chaja_model_tokens_total",
           "provider=" + label_value(key.first) + ",direction=" + label_value(key.second),
           static_cast<double>(n));
  header(out, "chaja_ingest_documents_total", "counter", "Documents stored through the API.");
  sample(out, "chaja_ingest_documents_total", "", static_cast<double>(ingest_documents_));
  header(out, "chaja_ingest_bytes_total", "counter", "Text bytes of those documents.");
  sample(out, "chaja_ingest_bytes_total", "", static_cast<double>(ingest_bytes_));
  header(out, "chaja_ingest_seconds_total", "counter",
         "Time spent chunking, embedding and storing them (bytes / seconds = throughput).");
  sample(out, "chaja_ingest_seconds_total", "", ingest_seconds_);
  const std::pair<const char*, int64_t> gauges[] = {
      {"chaja_index_documents", g.documents},   {"chaja_index_chunks", g.chunks},
      {"chaja_index_bytes", g.bytes},           {"chaja_index_collections", g.collections},
      {"chaja_api_keys_active", g.active_keys}, {"chaja_streams_open", g.open_streams}};
  for (const auto& [name, value] : gauges) {
    header(out, name, "gauge", "Read at scrape time.");
    sample(out, name, "", static_cast<double>(value));
  }
  return out;
}

std::string route_of(std::string_view method, std::string_view path) {
  static constexpr std::string_view kRoutes[] = {
      "/healthz",   "/metrics", "/v1/models",           "/v1/collections",
      "/v1/search", "/v1/ask",  "/v1/chat/completions", "/v1/documents"};
  for (const std::string_view r : kRoutes)
    if (path == r) return std::string(method) + " " + std::string(r);
  for (const std::string_view prefix : {"/v1/documents/", "/v1/threads/", "/v1/jobs/"})
    if (path.starts_with(prefix) && path.size() > prefix.size() &&
        path.find('/', prefix.size()) == std::string_view::npos)
      return std::string(method) + " " + std::string(prefix) + "{id}";
  if (path == "/" || (path.find('/', 1) == std::string_view::npos &&
                      (path.ends_with(".js") || path.ends_with(".css") || path.ends_with(".svg"))))
    return std::string(method) + " /assets";
  return "other";
}

ChatModelFactory metered(ChatModelFactory factory, std::shared_ptr<Metrics> metrics) {
  return [factory = std::move(factory), metrics = std::move(metrics)](
             const ModelName& name) -> Result<std::unique_ptr<ChatModel>> {
    auto model = factory(name);
    if (!model) {
      metrics->model_call(name.provider, error_kind_name(model.error().kind), nullptr);
      return model;
    }
    return std::unique_ptr<ChatModel>(new MeteredModel(std::move(*model), name.provider, metrics));
  };
}

}  // namespace chaja
