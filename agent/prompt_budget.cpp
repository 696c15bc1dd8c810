#include "agent/prompt_budget.h"

#include <cmath>

#include "index/utf8.h"

namespace chaja {
namespace {

bool has(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

ModelBudget model_budget(const ModelName& model) {
  ModelBudget b;
  const std::string& m = model.model;
  if (model.provider == "openai") {
    // o200k (gpt-4o, 4.1, o-series) packs Korean about twice as well as cl100k (gpt-4, 3.5).
    const bool o200k = has(m, "4o") || has(m, "4.1") || has(m, "gpt-5") || m.starts_with("o1") ||
                       m.starts_with("o3") || m.starts_with("o4");
    b.context_tokens = o200k || has(m, "turbo") ? 128'000 : 8'192;
    b.hangul_tokens_per_char = o200k ? 1.0 : 1.5;
  } else if (model.provider == "anthropic") {
    b.context_tokens = 200'000;
    b.hangul_tokens_per_char = 1.3;
  } else if (model.provider == "mistral") {
    b.context_tokens = has(m, "large") || has(m, "medium") || has(m, "small") ? 128'000 : 32'000;
    b.hangul_tokens_per_char = 1.5;
  } else if (model.provider == "clova") {
    // HyperCLOVA X's vocabulary is built for Korean.
    b.context_tokens = has(m, "HCX-003") || has(m, "DASH-001") ? 8'192 : 32'000;
    b.hangul_tokens_per_char = 0.6;
  } else {
    // Ollama and OpenAI-compatible servers (llama.cpp, vLLM): the server's context setting
    // decides, and their defaults are small (Ollama's num_ctx, llama.cpp's -c per slot).
    b.context_tokens = 4'096;
    b.hangul_tokens_per_char = 1.5;
  }
  return b;
}

namespace {

// The cost of one code point, in tokens (Latin letters cost 1/latin_chars_per_token each).
double cost(char32_t cp, const ModelBudget& budget) {
  if (utf8::is_hangul(cp) || utf8::is_han_or_kana(cp)) return budget.hangul_tokens_per_char;
  if (cp < 0x80 || utf8::is_word_char(cp)) return 1.0 / budget.latin_chars_per_token;
  return budget.other_tokens_per_char;
}

}  // namespace

size_t estimate_tokens(std::string_view text, const ModelBudget& budget) {
  double tokens = 0;
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    const char32_t cp = utf8::decode(text, i, len);
    i += len == 0 ? 1 : len;
    tokens += cost(cp, budget);
  }
  return static_cast<size_t>(std::ceil(tokens - 1e-9));
}

std::string_view cut_to_tokens(std::string_view text, size_t tokens, const ModelBudget& budget) {
  double used = 0;
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    const char32_t cp = utf8::decode(text, i, len);
    if (len == 0) len = 1;
    used += cost(cp, budget);
    if (used > static_cast<double>(tokens) + 1e-9) return text.substr(0, i);
    i += len;
  }
  return text;
}

}  // namespace chaja
