// How much text fits a model's context, by model family, without a tokenizer: a per-family
// estimate of tokens per character (Latin text about 4 characters a token everywhere; Hangul
// from about half a token a syllable with HyperCLOVA X's Korean vocabulary to one and a half with
// Llama's), and the context a deployment of that family usually has. Conservative on purpose: an
// estimate that runs over costs a 400 from the provider, one that runs under only leaves room.
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "connectors/model_name.h"

namespace chaja {

struct ModelBudget {
  size_t context_tokens = 8192;
  double latin_chars_per_token = 4.0;   // ASCII and other space-separated scripts
  double hangul_tokens_per_char = 1.5;  // Hangul, Han, Kana
  double other_tokens_per_char = 1.0;   // anything else (symbols, emoji)
};

ModelBudget model_budget(const ModelName& model);

// Estimated tokens of a text (rounded up).
size_t estimate_tokens(std::string_view text, const ModelBudget& budget);

// The longest prefix of text within `tokens`, cut on a character boundary (never inside a
// UTF-8 sequence).
std::string_view cut_to_tokens(std::string_view text, size_t tokens, const ModelBudget& budget);

}  // namespace chaja
