// The built-in `extractive` model: no LLM. Picks the sentences of the retrieved passages that best
// cover the question's terms (IDF-weighted, the same tokenizer as the index) and writes them as a
// short answer, each followed by the [n] of the passage it came from. Every marker points into the
// citation list by construction.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "agent/answer.h"
#include "index/store.h"

namespace chaja {

struct ExtractiveOptions {
  size_t max_sentences = 3;
  size_t max_chars = 700;      // answer length budget (code points, markers excluded)
  double min_coverage = 0.25;  // share of the question's weighted terms a sentence must match
  double keep_ratio = 0.6;     // further sentences need at least this share of the best score
};

struct ExtractiveAnswer {
  std::vector<std::string> parts;   // answer pieces, each "sentence [n]"; empty when nothing fits
  std::vector<Citation> citations;  // numbered in order of first use
};

ExtractiveAnswer extract_answer(std::string_view question, const std::vector<Passage>& hits,
                                const ExtractiveOptions& options = {});

// The extractive model's whole answer as stream events (Sources, Delta per sentence, Related,
// Done): `base` carries what the answer reports besides (timings, warnings).
std::deque<AnswerEvent> extractive_events(std::string_view question,
                                          const std::vector<Passage>& passages, AskResponse base);

// The "nothing found" sentence, in the question's language.
std::string no_answer_text(std::string_view question);

}  // namespace chaja
