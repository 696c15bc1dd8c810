// Model names as users write them: `provider:model` (CONTRACT §2), and the table of known
// providers with the environment variables that configure each. The provider connectors and
// their registry come with the LLM-connector work; this is the naming they will plug into.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "index/result.h"

namespace chaja {

struct ModelName {
  std::string provider;  // "extractive", "openai", "anthropic", ...
  std::string model;     // "" for extractive
  std::string full() const { return model.empty() ? provider : provider + ":" + model; }
};

struct ProviderInfo {
  std::string name;
  std::string example;
  std::vector<std::string> env;  // variables that configure it (key first)
  bool built_in = false;         // answers without any configuration
  bool available = false;        // this build has its connector
};

const std::vector<ProviderInfo>& known_providers();

// Parses "provider:model" or a bare provider name. kInvalidInput for a malformed or unknown name,
// kUnsupported for a known provider whose connector this build does not have yet.
Result<ModelName> parse_model_name(std::string_view name);

}  // namespace chaja
