#include "agent/config.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string_view>

#include "agent/model_answer.h"
#include "index/fs_util.h"
#include "index/key_store.h"
#include "index/utf8.h"

namespace chaja {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr size_t kMaxSecretFileBytes = 64 << 10;

// Each provider's settings, by key, as the variable that carries it.
const std::map<std::string, std::map<std::string, std::string>>& provider_keys() {
  static const std::map<std::string, std::map<std::string, std::string>> keys = {
      {"openai", {{"api_key", "OPENAI_API_KEY"}, {"base_url", "OPENAI_BASE_URL"}}},
      {"anthropic", {{"api_key", "ANTHROPIC_API_KEY"}, {"base_url", "ANTHROPIC_BASE_URL"}}},
      {"mistral", {{"api_key", "MISTRAL_API_KEY"}, {"base_url", "MISTRAL_BASE_URL"}}},
      {"ollama", {{"host", "OLLAMA_HOST"}, {"api_key", "OLLAMA_API_KEY"}}},
      {"openai-compat",
       {{"api_key", "OPENAI_COMPAT_API_KEY"}, {"base_url", "OPENAI_COMPAT_BASE_URL"}}},
      {"clova", {{"api_key", "CLOVASTUDIO_API_KEY"}, {"base_url", "CLOVASTUDIO_BASE_URL"}}},
  };
  return keys;
}

// The web search backends' settings, by key, as the variable that carries it (CONTRACT §2).
const std::map<std::string, std::map<std::string, std::string>>& search_keys() {
  static const std::map<std::string, std::map<std::string, std::string>> keys = {
      {"searxng", {{"url", "SEARXNG_URL"}}},
      {"brave", {{"api_key", "BRAVE_API_KEY"}, {"base_url", "BRAVE_BASE_URL"}}},
      {"tavily", {{"api_key", "TAVILY_API_KEY"}, {"base_url", "TAVILY_BASE_URL"}}},
  };
  return keys;
}

// Errors point at a line: the first line holding `"key"` (JSON keeps no positions; a key that
// appears twice is rare in a config and the first is the likely culprit).
class Reporter {
 public:
  Reporter(std::string_view text, std::string name) : text_(text), name_(std::move(name)) {}

  // The same file, with keys looked up after the first `"section"` (so a key that appears in two
  // sections is found in the right one).
  Reporter within(const std::string& section) const {
    Reporter r = *this;
    const size_t pos = text_.find("\"" + section + "\"", from_);
    if (pos != std::string_view::npos) r.from_ = pos;
    return r;
  }

  Error at(const std::string& key, const std::string& what) const {
    const size_t pos = text_.find("\"" + key + "\"", from_);
    std::string where = name_;
    if (pos != std::string_view::npos) where += ": line " + std::to_string(line_of(pos));
    return make_error(ErrorKind::kInvalidInput, where + ": " + what);
  }
  Error at_byte(size_t byte, const std::string& what) const {
    return make_error(ErrorKind::kInvalidInput,
                      name_ + ": line " + std::to_string(line_of(byte)) + ": " + what);
  }

 private:
  size_t line_of(size_t pos) const {
    size_t line = 1;
    for (size_t i = 0; i < pos && i < text_.size(); ++i) line += text_[i] == '\n';
    return line;
  }
  std::string_view text_;
  std::string name_;
  size_t from_ = 0;
};

Result<int64_t> bounded_int(const json& v, const std::string& key, int64_t lo, int64_t hi,
                            const Reporter& report) {
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    return report.at(key, "\"" + key + "\" must be a whole number from " + std::to_string(lo) +
                              " to " + std::to_string(hi));
  return v.get<int64_t>();
}

Status read_llm(const json& llm, FileConfig& out, const Reporter& report) {
  if (!llm.is_object()) return report.at("llm", "\"llm\" must be an object");
  for (const auto& item : llm.items()) {
    // Named, not a structured binding: the lambdas below capture them, which clang 14
    // rejects for structured bindings (P1091 came in clang 16).
    const std::string& key = item.key();
    const json& v = item.value();
    auto ms = [&](std::chrono::milliseconds& field) -> Status {
      auto n = bounded_int(v, key, 1, 3'600'000, report);
      if (!n) return n.error();
      field = std::chrono::milliseconds(*n);
      return {};
    };
    Status s;
    if (key == "connect_timeout_ms") {
      s = ms(out.settings.timeouts.connect);
    } else if (key == "first_byte_timeout_ms") {
      s = ms(out.settings.timeouts.first_byte);
    } else if (key == "idle_timeout_ms") {
      s = ms(out.settings.timeouts.idle);
    } else if (key == "total_timeout_ms") {
      s = ms(out.settings.timeouts.total);
    } else if (key == "max_attempts") {
      auto n = bounded_int(v, key, 1, 10, report);
      if (!n) return n.error();
      out.settings.retry.max_attempts = static_cast<int>(*n);
    } else if (key == "max_concurrency") {
      auto n = bounded_int(v, key, 0, 1024, report);
      if (!n) return n.error();
      out.settings.max_concurrency = static_cast<int>(*n);
    } else {
      return report.at(key, "unknown key \"" + key + "\" in \"llm\"");
    }
    if (!s) return s;
  }
  return {};
}

Status read_provider(const std::string& provider, const json& p, const std::filesystem::path& dir,
                     FileConfig& out, const Reporter& report, bool search = false) {
  const auto& table = search ? search_keys() : provider_keys();
  auto known = table.find(provider);
  if (known == table.end())
    return report.at(provider, "unknown provider \"" + provider + "\" in \"providers\"");
  if (!p.is_object()) return report.at(provider, "\"" + provider + "\" must be an object");
  const auto& vars = known->second;
  if (p.contains("api_key") && p.contains("api_key_file"))
    return report.at("api_key_file", provider + ": give api_key or api_key_file, not both");
  for (const auto& [key, v] : p.items()) {
    const std::string field = key == "api_key_file" ? "api_key" : key;
    auto var = vars.find(field);
    if (var == vars.end())
      return report.at(key, "unknown key \"" + key + "\" for the " + provider + " provider");
    if (!v.is_string() || v.get_ref<const std::string&>().empty() ||
        !utf8::is_valid(v.get_ref<const std::string&>()))
      return report.at(key, provider + ": \"" + key + "\" must be a non-empty string");
    std::string value = v.get<std::string>();
    if (key == "api_key_file") {
      std::filesystem::path file(value);
      if (file.is_relative()) file = dir / file;
      auto bytes = read_file_bytes(file, kMaxSecretFileBytes);
      if (!bytes)
        return report.at(key, provider + ": cannot read the api_key_file " + file.string() + ": " +
                                  bytes.error().message);
      value = *bytes;
      const size_t first = value.find_first_not_of(" \t\r\n");
      const size_t last = value.find_last_not_of(" \t\r\n");
      value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
      if (value.empty()) return report.at(key, provider + ": the api_key_file is empty");
      out.from_files.insert(var->second);
    }
    out.provider_env[var->second] = value;
  }
  return {};
}

Status read_web(const json& web, const std::filesystem::path& dir, FileConfig& out,
                const Reporter& report) {
  if (!web.is_object()) return report.at("web", "\"web\" must be an object");
  WebSettings& w = out.web;
  for (const auto& item : web.items()) {
    // Not a structured binding: captured below (see read_llm).
    const std::string& key = item.key();
    const json& v = item.value();
    auto ms = [&](std::chrono::milliseconds& field) -> Status {
      auto n = bounded_int(v, key, 100, 600'000, report);
      if (!n) return n.error();
      field = std::chrono::milliseconds(*n);
      return {};
    };
    auto flag = [&](bool& field) -> Status {
      if (!v.is_boolean()) return report.at(key, "\"" + key + "\" must be true or false");
      field = v.get<bool>();
      return {};
    };
    Status s;
    if (search_keys().count(key)) {
      s = read_provider(key, v, dir, out, report.within(key), /*search=*/true);
    } else if (key == "order") {
      if (!v.is_string())
        return report.at(key, "\"order\" must be a string like \"searxng,brave\"");
      w.order = v.get<std::string>();
    } else if (key == "results") {
      auto n = bounded_int(v, key, 1, 20, report);
      if (!n) return n.error();
      w.results = static_cast<int>(*n);
    } else if (key == "pages") {
      auto n = bounded_int(v, key, 0, 20, report);
      if (!n) return n.error();
      w.max_pages = static_cast<size_t>(*n);
    } else if (key == "page_timeout_ms") {
      s = ms(w.fetch.page_timeout);
    } else if (key == "total_timeout_ms") {
      s = ms(w.fetch.total_timeout);
    } else if (key == "search_timeout_ms") {
      s = ms(w.search.timeouts.total);
    } else if (key == "max_page_bytes") {
      auto n = bounded_int(v, key, 1024, int64_t{64} << 20, report);
      if (!n) return n.error();
      w.fetch.max_bytes = static_cast<size_t>(*n);
    } else if (key == "respect_robots") {
      s = flag(w.fetch.respect_robots);
    } else if (key == "cache") {
      s = flag(w.cache);
    } else if (key == "cache_ttl_s") {
      auto n = bounded_int(v, key, 1, 30 * 86'400, report);
      if (!n) return n.error();
      w.cache_options.ttl = std::chrono::seconds(*n);
    } else if (key == "allow") {
      if (!v.is_string()) return report.at(key, "\"allow\" must be a string of hosts and ranges");
      auto allow = FetchAllowList::parse(v.get<std::string>());
      if (!allow) return report.at(key, "\"allow\": " + allow.error().message);
      w.fetch.allow = std::move(*allow);
    } else {
      return report.at(key, "unknown key \"" + key + "\" in \"web\"");
    }
    if (!s) return s;
  }
  return {};
}

Status read_server(const json& server, FileConfig& out, const Reporter& report) {
  if (!server.is_object()) return report.at("server", "\"server\" must be an object");
  ServerLimits& l = out.limits;
  for (const auto& item : server.items()) {
    // Not a structured binding: captured below (see read_llm).
    const std::string& key = item.key();
    const json& v = item.value();
    auto number = [&](int64_t& field, int64_t lo, int64_t hi) -> Status {
      auto n = bounded_int(v, key, lo, hi, report);
      if (!n) return n.error();
      field = *n;
      return {};
    };
    Status s;
    if (key == "cors_origins") {
      if (!v.is_array())
        return report.at(key,
                         "\"cors_origins\" must be an array of origins like "
                         "\"https://intranet.example.com\"");
      for (const json& o : v) {
        auto origin = o.is_string() ? normalize_origin(o.get<std::string>())
                                    : Result<std::string>(make_error(ErrorKind::kInvalidInput,
                                                                     "an origin is a string"));
        if (!origin) return report.at(key, "\"cors_origins\": " + origin.error().message);
        out.cors_origins.push_back(std::move(*origin));
      }
    } else if (key == "max_body_bytes") {
      s = number(l.max_body_bytes, 1024, int64_t{1} << 30);
    } else if (key == "job_threshold_bytes") {
      s = number(l.job_threshold_bytes, 1024, int64_t{1} << 30);
    } else if (key == "max_streams_per_key") {
      s = number(l.max_streams_per_key, 1, 10000);
    } else if (key == "threads") {
      s = number(l.threads, 2, 1024);
    } else if (key == "read_timeout_s") {
      s = number(l.read_timeout_s, 1, 3600);
    } else if (key == "write_timeout_s") {
      s = number(l.write_timeout_s, 1, 3600);
    } else if (key == "drain_seconds") {
      s = number(l.drain_seconds, 1, 3600);
    } else {
      return report.at(key, "unknown key \"" + key +
                                "\" in \"server\" (known: cors_origins, max_body_bytes, "
                                "job_threshold_bytes, max_streams_per_key, threads, "
                                "read_timeout_s, write_timeout_s, drain_seconds)");
    }
    if (!s) return s;
  }
  return {};
}

}  // namespace

Result<std::vector<std::string>> parse_origins(std::string_view comma_separated) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= comma_separated.size()) {
    size_t end = comma_separated.find(',', start);
    if (end == std::string_view::npos) end = comma_separated.size();
    std::string_view item = comma_separated.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      auto origin = normalize_origin(item);
      if (!origin) return origin.error();
      out.push_back(std::move(*origin));
    }
    start = end + 1;
  }
  return out;
}

Result<FileConfig> parse_config(std::string_view text, const std::string& name) {
  const Reporter report(text, name);
  if (text.size() > kMaxConfigBytes)
    return make_error(ErrorKind::kInvalidInput, name + ": larger than 1 MiB");
  if (!utf8::is_valid(text)) return make_error(ErrorKind::kInvalidInput, name + ": not UTF-8");
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // Only the position: nlohmann's message quotes the text it stopped at, which may be a key.
    return report.at_byte(e.byte > 0 ? e.byte - 1 : 0, "not valid JSON");
  } catch (const json::out_of_range&) {
    // A number beyond double (1e400): nlohmann reports it as out_of_range, not parse_error, and
    // gives no position. Found by tests/fuzz/fuzz_config.
    return make_error(ErrorKind::kInvalidInput,
                      name + ": not valid JSON: a number is out of range");
  }
  if (!root.is_object())
    return make_error(ErrorKind::kInvalidInput, name + ": the top level must be a JSON object");
  FileConfig out;
  const std::filesystem::path dir = std::filesystem::path(name).parent_path();
  for (const auto& [key, v] : root.items()) {
    if (key == "default_model") {
      if (!v.is_string() || v.get_ref<const std::string&>().empty())
        return report.at(key, "\"default_model\" must be a model name, e.g. \"extractive\"");
      out.default_model = v.get<std::string>();
      if (auto chain = parse_model_chain(out.default_model); !chain)
        return report.at(key, "\"default_model\": " + chain.error().message);
    } else if (key == "embedder") {
      if (!v.is_string() || v.get_ref<const std::string&>().empty())
        return report.at(key, "\"embedder\" must be an embedder name, e.g. \"builtin\"");
      out.embedder = v.get<std::string>();
    } else if (key == "providers") {
      if (!v.is_object()) return report.at(key, "\"providers\" must be an object");
      for (const auto& [provider, p] : v.items())
        if (Status s = read_provider(provider, p, dir, out, report.within(key).within(provider));
            !s)
          return s.error();
    } else if (key == "llm") {
      if (Status s = read_llm(v, out, report.within(key)); !s) return s.error();
    } else if (key == "web") {
      if (Status s = read_web(v, dir, out, report.within(key)); !s) return s.error();
    } else if (key == "server") {
      if (Status s = read_server(v, out, report.within(key)); !s) return s.error();
    } else {
      return report.at(key, "unknown key \"" + key +
                                "\" (known: default_model, embedder, providers, llm, web, server)");
    }
  }
  return out;
}

std::vector<ConfigVariable> config_variables() {
  std::vector<ConfigVariable> out;
  for (const auto& [owner, keys] : provider_keys())
    for (const auto& [key, variable] : keys) out.push_back({"providers", owner, key, variable});
  for (const auto& [owner, keys] : search_keys())
    for (const auto& [key, variable] : keys) out.push_back({"web", owner, key, variable});
  return out;
}

Result<FileConfig> load_config(const std::filesystem::path& path) {
  auto bytes = read_file_bytes(path, kMaxConfigBytes + 1);
  if (!bytes) {
    Error e = bytes.error();
    e.message = "cannot read the configuration file " + path.string() + ": " + e.message;
    return e;
  }
  return parse_config(*bytes, path.string());
}

Env merged_env(const FileConfig& config, const Env& process) {
  Env env = config.provider_env;
  for (const auto& [k, v] : process)
    if (!v.empty()) env[k] = v;
  return env;
}

}  // namespace chaja
