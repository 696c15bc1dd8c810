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
  bool lead = true;  // a direct lookup's short answer first ("박서연 [1].") when found confidently
};

struct ExtractiveAnswer {
  std::vector<std::string> parts;   // answer pieces, each "sentence [n]"; empty when nothing fits
  std::vector<Citation> citations;  // numbered in order of first use
  // The short answer of a direct lookup (a name, a date, an amount with its unit) when one was
  // found in the best sentence, else "". When set, parts[0] is "lead [1]." and the supporting
  // sentences follow.
  std::string lead;
};

// Sentences are deduplicated (a sentence sharing most of its terms with a chosen one adds
// nothing) and ordered: the best first, then by source rank, passage and position.
ExtractiveAnswer extract_answer(std::string_view question, const std::vector<Passage>& hits,
                                const ExtractiveOptions& options = {});

// The short answer of a direct-lookup question in a sentence that supports it: a person's or
// organisation's name for who/누구/누가/대표/이름, a date or time for when/언제/몇 년/날짜, an
// amount with its unit for how many/how much/몇/며칠/얼마/가격/금액 ("18만 6천 명", "$4.2
// billion"). "" when the question is no direct lookup or no span stands out as the one nearest
// the question's words: a missing lead is preferred to a wrong one.
std::string lookup_span(std::string_view question, std::string_view sentence);

// Up to n follow-up questions in the question's language (Korean when it has Hangul), derived
// from the passages without a model: their section headings, then words that recur in them and
// that the question lacks, through fixed templates. Distinct from the question and from each
// other, each ending in "?", deterministic; none without passages. Earlier passages go first.
std::vector<std::string> derived_related_questions(std::string_view question,
                                                   const std::vector<Passage>& passages,
                                                   size_t n = 3);

// The extractive model's whole answer as stream events (Sources, Delta per sentence, Related,
// Done): `base` carries what the answer reports besides (timings, warnings). The related
// questions are derived_related_questions() over the cited passages first.
std::deque<AnswerEvent> extractive_events(std::string_view question,
                                          const std::vector<Passage>& passages, AskResponse base);

// The "nothing found" sentence, in the question's language.
std::string no_answer_text(std::string_view question);

}  // namespace chaja
