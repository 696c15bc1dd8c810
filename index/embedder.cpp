#include "index/embedder.h"

#include <cmath>

#include "index/builtin_embedder.h"

namespace chaja {

void l2_normalise(float* v, size_t dim) {
  double sum = 0;
  for (size_t i = 0; i < dim; ++i) sum += static_cast<double>(v[i]) * v[i];
  if (sum <= 0) return;
  const auto inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (size_t i = 0; i < dim; ++i) v[i] *= inv;
}

void EmbedderRegistry::add(const std::string& provider, Factory factory) {
  std::lock_guard<std::mutex> lock(mu_);
  factories_[provider] = std::move(factory);
}

Result<std::unique_ptr<Embedder>> EmbedderRegistry::create(const std::string& name) const {
  const size_t colon = name.find(':');
  const std::string provider = name.substr(0, colon);
  const std::string model = colon == std::string::npos ? "" : name.substr(colon + 1);
  Factory factory;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = factories_.find(provider);
    if (it == factories_.end()) {
      std::string known;
      for (const auto& [p, f] : factories_) known += (known.empty() ? "" : ", ") + p;
      return make_error(ErrorKind::kInvalidInput,
                        "unknown embedder '" + name + "' (known providers: " + known + ")");
    }
    factory = it->second;
  }
  return factory(model);
}

std::vector<std::string> EmbedderRegistry::providers() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [p, f] : factories_) out.push_back(p);
  return out;
}

EmbedderRegistry& EmbedderRegistry::global() {
  static EmbedderRegistry registry;
  static std::once_flag once;
  std::call_once(once, [] {
    registry.add("builtin", [](const std::string& model) -> Result<std::unique_ptr<Embedder>> {
      if (!model.empty())
        return make_error(ErrorKind::kInvalidInput, "the builtin embedder takes no model name");
      return std::unique_ptr<Embedder>(std::make_unique<BuiltinEmbedder>());
    });
  });
  return registry;
}

}  // namespace chaja
