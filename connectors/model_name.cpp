#include "connectors/model_name.h"

namespace chaja {

const std::vector<ProviderInfo>& known_providers() {
  static const std::vector<ProviderInfo> providers = {
      {"extractive", "extractive", {}, true, true},
      {"openai", "openai:gpt-4o-mini", {"OPENAI_API_KEY", "OPENAI_BASE_URL"}, false, true},
      {"anthropic",
       "anthropic:claude-sonnet-4-5",
       {"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"},
       false,
       true},
      {"mistral",
       "mistral:mistral-small-latest",
       {"MISTRAL_API_KEY", "MISTRAL_BASE_URL"},
       false,
       true},
      {"ollama", "ollama:llama3.1", {"OLLAMA_HOST"}, false, true},
      {"openai-compat",
       "openai-compat:llama-3.1-8b",
       {"OPENAI_COMPAT_BASE_URL", "OPENAI_COMPAT_API_KEY"},
       false,
       true},
      {"clova", "clova:HCX-005", {"CLOVASTUDIO_API_KEY", "CLOVASTUDIO_BASE_URL"}, false, true},
  };
  return providers;
}

Result<ModelName> parse_model_name(std::string_view name) {
  if (name.empty() || name.size() > 200)
    return make_error(ErrorKind::kInvalidInput,
                      "a model name is 1 to 200 characters, as provider:model");
  ModelName m;
  const size_t colon = name.find(':');
  m.provider = std::string(name.substr(0, colon));
  if (colon != std::string_view::npos) m.model = std::string(name.substr(colon + 1));
  for (const ProviderInfo& p : known_providers()) {
    if (p.name != m.provider) continue;
    if (p.built_in && !m.model.empty())
      return make_error(ErrorKind::kInvalidInput, "'" + p.name + "' takes no model name");
    if (!p.built_in && m.model.empty())
      return make_error(ErrorKind::kInvalidInput, "name the model, e.g. '" + p.example + "'");
    if (!p.available)
      return make_error(
          ErrorKind::kUnsupported,
          "the '" + p.name + "' connector is not in this build yet; use 'extractive'");
    return m;
  }
  std::string known;
  for (const ProviderInfo& p : known_providers()) known += (known.empty() ? "" : ", ") + p.name;
  return make_error(ErrorKind::kInvalidInput,
                    "unknown model provider '" + m.provider + "' (known: " + known + ")");
}

}  // namespace chaja
