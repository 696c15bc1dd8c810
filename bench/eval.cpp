// chaja_eval: retrieval and answer quality on a labelled set (bench/eval/README.md).
//
//   chaja_eval --corpus DIR --questions FILE [--model NAME] [--embedder NAME] [--config FILE]
//              [--weights BM25,DENSE] [--json] [--verbose] [--floor RETRIEVER:METRIC=VALUE]...
//
// The corpus is ingested into a fresh temporary data dir as `chaja index` does (index/ingest.h);
// every question is then searched three ways with k = 10: BM25 alone, dense alone (the
// collection's embedder, builtin by default; BM25 weight 0), and hybrid (the Retriever as the
// server runs it); and answered by the real pipeline (agent/pipeline.h) with the extractive model
// and, with --model, that model too. --weights sets the hybrid's RRF weights (default 1,1), for
// trying a ranking change on the set before making it.
//
// Relevance: a chunk is relevant to a question when its text contains one of the question's
// evidence strings, both with white space collapsed. Evidence that no chunk holds whole (it
// spans a chunk boundary) is covered by a chunk that ends with its first half or more, or
// starts with its last half or more. Recall@k is the share of a question's evidence strings
// covered by the top k, averaged over questions (for one evidence string: whether any of the
// top k is relevant). MRR@10: 1/rank of the first relevant chunk. nDCG@10: gain at a rank is
// the share of the question's evidence newly covered there; the ideal order is the greedy one.
//
// Answers: "gold" = the answer text, its [n] markers removed, contains one of the gold spans
// (both: white space collapsed, ASCII lower-cased, commas between digits dropped). "cite_p" =
// cited chunks that are relevant / all citations (micro); "cite_r" = share of the question's
// evidence covered by its cited chunks (macro); "uncited" = answers without a citation.
//
// A set whose evidence is not found in the corpus, or whose answer span is not inside its
// evidence, is refused with the line named (exit 1). --floor makes a metric of the "all" row a
// requirement (exit 1 below it): the regression test uses it.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/pipeline.h"
#include "connectors/provider.h"
#include "index/chunker.h"
#include "index/embedder.h"
#include "index/ingest.h"
#include "index/retriever.h"
#include "index/store.h"
#include "index/utf8.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace chaja {
namespace {

constexpr size_t kDepth = 10;  // k of every search

struct Question {
  size_t line = 0;
  std::string question;
  std::vector<std::string> answers;
  std::vector<std::string> evidence;
  std::string lang, type;
  std::string source;  // only chunks of this file count (TSV sets); "" for any
};

struct Options {
  fs::path corpus, questions;
  std::string model, embedder, config;
  double bm25_weight = 1.0, dense_weight = 1.0;  // the hybrid's RRF weights (--weights B,D)
  bool json = false, verbose = false;
  std::vector<std::string> floors;
};

// --- normalisation ------------------------------------------------------------------------------

// White space (ASCII, NBSP, ideographic space) collapsed to single spaces, trimmed.
std::string collapse_space(std::string_view s) {
  std::string out;
  bool pending = false;
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    bool space = false;
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      space = true;
    } else if (s.compare(i, 2, "\xC2\xA0") == 0) {
      space = true, len = 2;
    } else if (s.compare(i, 3, "\xE3\x80\x80") == 0) {
      space = true, len = 3;
    }
    if (space) {
      pending = !out.empty();
    } else {
      if (pending) out += ' ';
      pending = false;
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

// For answer matching: collapsed space, ASCII lower case, no comma between two digits.
std::string answer_form(std::string_view s) {
  std::string t = collapse_space(s);
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == ',' && i > 0 && i + 1 < t.size() &&
        std::isdigit(static_cast<unsigned char>(t[i - 1])) &&
        std::isdigit(static_cast<unsigned char>(t[i + 1])))
      continue;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

// The answer's text without its citation markers ("[1]", "[1, 2]").
std::string without_markers(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (const size_t n = footnote_marker_length(s, i); n > 0) {
      i += n;
      continue;
    }
    out += s[i++];
  }
  return out;
}

bool has_hangul(std::string_view s) {
  // U+AC00..U+D7A3 are EA B0 80 .. ED 9E A3 in UTF-8.
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0xEA && c <= 0xED) return true;
  }
  return false;
}

// --- the set ------------------------------------------------------------------------------------

std::vector<std::string> string_list(const json& j, const char* key, size_t line) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  const json& v = j.at(key);
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array())
    throw std::runtime_error("line " + std::to_string(line) + ": " + key +
                             " must be a string or a list of strings");
  for (const json& s : v) {
    if (!s.is_string() || s.get<std::string>().empty())
      throw std::runtime_error("line " + std::to_string(line) + ": " + key +
                               " must hold non-empty strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

// JSONL {question, answers, evidence, lang?, type?}; or the fixtures' TSV (question,
// expected_file, answer_substring), where the answer is its own evidence within that file.
Result<std::vector<Question>> load_questions(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorKind::kNotFound, "cannot read " + path.string());
  const bool tsv = path.extension() == ".tsv";
  bool whole_files = false;
  std::vector<Question> out;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (collapse_space(line).empty()) continue;
    Question q;
    q.line = n;
    if (tsv) {
      std::vector<std::string> cols;
      std::stringstream ss(line);
      for (std::string c; std::getline(ss, c, '\t');) cols.push_back(c);
      if (n == 1 && !cols.empty() && (cols[0] == "question" || cols[0] == "query")) {
        whole_files = cols[0] == "query";  // (query, expected_file, note): no answer span
        continue;
      }
      if (cols.size() < (whole_files ? 2u : 3u))
        return make_error(
            ErrorKind::kInvalidInput,
            path.string() + " line " + std::to_string(n) +
                (whole_files ? ": expected query, file" : ": expected question, file, answer"));
      q.question = cols[0];
      q.source = cols[1];
      if (!whole_files) q.answers = q.evidence = {cols[2]};
      q.type = whole_files
                   ? (cols.size() > 2 && !cols[2].empty() ? cols[2].substr(0, cols[2].find(';'))
                                                          : "file")
                   : "tsv";
    } else {
      try {
        const json j = json::parse(line);
        if (!j.is_object() || !j.contains("question") || !j.at("question").is_string())
          throw std::runtime_error("line " + std::to_string(n) + ": no \"question\" string");
        q.question = j.at("question").get<std::string>();
        q.answers = string_list(j, "answers", n);
        q.evidence = string_list(j, "evidence", n);
        q.lang = j.value("lang", "");
        q.type = j.value("type", "");
      } catch (const std::exception& e) {
        std::string what = e.what();
        if (!what.starts_with("line ")) what = "line " + std::to_string(n) + ": " + what;
        return make_error(ErrorKind::kInvalidInput, path.string() + " " + what);
      }
      if (q.answers.empty() || q.evidence.empty())
        return make_error(ErrorKind::kInvalidInput, path.string() + " line " + std::to_string(n) +
                                                        ": needs answers and evidence");
    }
    if (q.lang.empty()) q.lang = has_hangul(q.question) ? "ko" : "en";
    if (q.type.empty()) q.type = "untyped";
    out.push_back(std::move(q));
  }
  if (out.empty()) return make_error(ErrorKind::kInvalidInput, path.string() + " has no questions");
  return out;
}

// --- relevance ----------------------------------------------------------------------------------

struct ChunkText {
  int64_t id = 0;
  std::string file;  // the source's file name
  std::string text;  // collapsed
};

// Which of the question's evidence strings (by index) each relevant chunk covers.
using Coverage = std::map<int64_t, std::set<size_t>>;

bool from_source(const ChunkText& c, const Question& q) {
  return q.source.empty() || c.file == q.source;
}

Coverage coverage_of(const Question& q, const std::vector<ChunkText>& chunks) {
  Coverage cover;
  if (q.evidence.empty()) {  // a whole-file question: every chunk of its file
    for (const ChunkText& c : chunks)
      if (from_source(c, q)) cover[c.id].insert(0);
    return cover;
  }
  for (size_t e = 0; e < q.evidence.size(); ++e) {
    const std::string ev = collapse_space(q.evidence[e]);
    bool whole = false;
    for (const ChunkText& c : chunks)
      if (from_source(c, q) && c.text.find(ev) != std::string::npos) {
        cover[c.id].insert(e);
        whole = true;
      }
    if (whole) continue;
    // Across a boundary: a chunk ending with the first half (or more), or starting with the
    // last half (or more).
    const size_t half = utf8::floor_boundary(ev, ev.size() / 2);
    const std::string head = ev.substr(0, half), tail = ev.substr(half);
    for (const ChunkText& c : chunks) {
      if (!from_source(c, q)) continue;
      for (size_t at = c.text.find(head); at != std::string::npos; at = c.text.find(head, at + 1))
        if (ev.starts_with(std::string_view(c.text).substr(at))) cover[c.id].insert(e);
      const size_t end = c.text.find(tail);
      if (end != std::string::npos &&
          ev.ends_with(std::string_view(c.text).substr(0, end + tail.size())))
        cover[c.id].insert(e);
    }
  }
  return cover;
}

// --- metrics ------------------------------------------------------------------------------------

struct RetrievalScore {
  double recall1 = 0, recall5 = 0, recall10 = 0, mrr = 0, ndcg = 0;
  size_t first = 0;  // rank of the first relevant chunk, 0 for none
};

RetrievalScore score_ranking(const std::vector<int64_t>& ranked, const Coverage& cover,
                             size_t evidence) {
  RetrievalScore s;
  std::set<size_t> seen;
  double dcg = 0;
  for (size_t i = 0; i < ranked.size() && i < kDepth; ++i) {
    auto it = cover.find(ranked[i]);
    if (it != cover.end()) {
      if (s.first == 0) s.first = i + 1;
      size_t fresh = 0;
      for (size_t e : it->second) fresh += seen.insert(e).second;
      dcg += static_cast<double>(fresh) / static_cast<double>(evidence) / std::log2(i + 2.0);
    }
    const double r = static_cast<double>(seen.size()) / static_cast<double>(evidence);
    if (i == 0) s.recall1 = r;
    if (i < 5) s.recall5 = r;
    s.recall10 = r;
  }
  if (ranked.size() < 5) s.recall5 = s.recall10;
  if (s.first) s.mrr = 1.0 / static_cast<double>(s.first);
  // The ideal: greedily the chunk covering the most evidence not yet covered.
  double ideal = 0;
  std::set<size_t> got;
  for (size_t rank = 1; rank <= kDepth; ++rank) {
    size_t best = 0;
    const std::set<size_t>* pick = nullptr;
    for (const auto& [id, es] : cover) {
      size_t fresh = 0;
      for (size_t e : es) fresh += !got.count(e);
      if (fresh > best) best = fresh, pick = &es;
    }
    if (!pick) break;
    got.insert(pick->begin(), pick->end());
    ideal += static_cast<double>(best) / static_cast<double>(evidence) / std::log2(rank + 1.0);
  }
  s.ndcg = ideal > 0 ? dcg / ideal : 0;
  return s;
}

struct AnswerScore {
  bool graded = false;  // the question has gold spans (whole-file questions have none)
  bool gold = false;
  size_t citations = 0, relevant_citations = 0;
  double cite_recall = 0;
};

// Means over a slice of questions.
struct Row {
  size_t n = 0;
  double sum[5] = {0, 0, 0, 0, 0};
  void add(const RetrievalScore& s) {
    ++n;
    sum[0] += s.recall1, sum[1] += s.recall5, sum[2] += s.recall10, sum[3] += s.mrr,
        sum[4] += s.ndcg;
  }
  double mean(int i) const { return n ? sum[i] / static_cast<double>(n) : 0; }
};

struct AnswerRow {
  size_t n = 0, graded = 0, gold = 0, citations = 0, relevant = 0, uncited = 0;
  double cite_recall = 0;
  void add(const AnswerScore& s) {
    ++n;
    graded += s.graded;
    gold += s.gold;
    citations += s.citations;
    relevant += s.relevant_citations;
    uncited += s.citations == 0;
    cite_recall += s.cite_recall;
  }
  double gold_rate() const {
    return graded ? static_cast<double>(gold) / static_cast<double>(graded) : 0;
  }
  double precision() const {
    return citations ? static_cast<double>(relevant) / static_cast<double>(citations) : 0;
  }
  double recall() const { return n ? cite_recall / static_cast<double>(n) : 0; }
};

// Slices in print order: all, each language, each type.
std::vector<std::string> slices_of(const std::vector<Question>& qs) {
  std::vector<std::string> out = {"all"};
  std::set<std::string> langs, types;
  for (const Question& q : qs) langs.insert("lang:" + q.lang), types.insert("type:" + q.type);
  out.insert(out.end(), langs.begin(), langs.end());
  out.insert(out.end(), types.begin(), types.end());
  return out;
}

bool in_slice(const Question& q, const std::string& slice) {
  return slice == "all" || slice == "lang:" + q.lang || slice == "type:" + q.type;
}

std::string one_line(std::string s, size_t max) {
  s = collapse_space(s);
  if (s.size() > max) s = s.substr(0, utf8::floor_boundary(s, max)) + "…";
  return s;
}

// --- the run ------------------------------------------------------------------------------------

int usage(const char* why) {
  std::fprintf(stderr,
               "chaja_eval: %s\nusage: chaja_eval --corpus DIR --questions FILE [--model NAME] "
               "[--embedder NAME] [--config FILE] [--weights BM25,DENSE] [--json] [--verbose] "
               "[--floor RETRIEVER:METRIC=VALUE]...\n",
               why);
  return 2;
}

int fail(const std::string& why) {
  std::fprintf(stderr, "chaja_eval: %s\n", why.c_str());
  return 1;
}

// A temporary data dir, removed with its contents.
struct TempDataDir {
  fs::path path;
  TempDataDir() {
    std::string tmpl = (fs::temp_directory_path() / "chaja-eval-XXXXXX").string();
    if (mkdtemp(tmpl.data())) path = tmpl;
  }
  ~TempDataDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run(const Options& o) {
  auto questions = load_questions(o.questions);
  if (!questions) return fail(questions.error().message);
  FileConfig config;
  if (!o.config.empty()) {
    auto c = load_config(o.config);
    if (!c) return fail(c.error().message);
    config = std::move(*c);
  } else if (const char* env = std::getenv("CHAJA_CONFIG")) {
    auto c = load_config(env);
    if (!c) return fail(c.error().message);
    config = std::move(*c);
  }
  auto providers = make_provider_registry(merged_env(config, from_process_env()), config.settings);
  register_provider_embedders(providers, EmbedderRegistry::global());

  // Ingest, as `chaja index` does.
  TempDataDir data;
  if (data.path.empty()) return fail("cannot make a temporary directory");
  auto store = Store::open(data.path);
  if (!store) return fail(store.error().message);
  const std::string embedder = o.embedder.empty() ? config.embedder : o.embedder;
  if (!embedder.empty() && embedder != "builtin") {
    auto e = EmbedderRegistry::global().create(embedder);
    if (!e) return fail(e.error().message);
    auto probe = (*e)->embed({"dimension probe"}, EmbedKind::kQuery);
    if (!probe) return fail(probe.error().message);
    if (Status s = (*store)->bind_embedder(kDefaultCollection, embedder, probe->size()); !s)
      return fail(s.error().message);
  }
  const auto t_ingest = std::chrono::steady_clock::now();
  size_t failed_files = 0;
  auto stats =
      ingest_paths(**store, {o.corpus}, IngestOptions{}, [&](const FileReport& r, size_t, size_t) {
        if (r.kind != FileReport::Kind::kStored) {
          ++failed_files;
          std::fprintf(stderr, "chaja_eval: %s: %s\n", r.path.c_str(), r.message.c_str());
        }
      });
  if (!stats) return fail(stats.error().message);
  if (failed_files) return fail("the corpus has files that could not be indexed");
  const double ingest_s = seconds_since(t_ingest);

  // Every chunk, collapsed, and every document's text for the set's check.
  std::vector<int64_t> ids;
  if (Status s = (*store)->for_each_chunk(
          kDefaultCollection, [&](const Store::ChunkRow& r) { ids.push_back(r.chunk_id); });
      !s)
    return fail(s.error().message);
  auto rows = (*store)->chunks_by_id(ids);
  if (!rows) return fail(rows.error().message);
  std::vector<ChunkText> chunks;
  std::map<int64_t, std::string> chunk_file;
  for (const SearchHit& h : *rows) {
    chunks.push_back({h.chunk_id, fs::path(h.source).filename().string(), collapse_space(h.text)});
    chunk_file[h.chunk_id] = chunks.back().file;
  }
  auto docs = (*store)->list(kDefaultCollection, 1u << 20, 0);
  if (!docs) return fail(docs.error().message);
  std::vector<std::pair<std::string, std::string>> doc_texts;  // file name, collapsed text
  for (const DocumentInfo& d : *docs) {
    auto text = (*store)->text_of(d.id);
    if (!text) return fail(text.error().message);
    doc_texts.emplace_back(fs::path(d.source).filename().string(), collapse_space(*text));
  }

  // The set's check: evidence in the corpus, the answer inside its evidence.
  std::vector<std::string> problems;
  for (const Question& q : *questions) {
    if (!q.source.empty() && std::none_of(doc_texts.begin(), doc_texts.end(),
                                          [&](const auto& d) { return d.first == q.source; }))
      problems.push_back("line " + std::to_string(q.line) + ": no file " + q.source +
                         " in the corpus");
    for (const std::string& e : q.evidence) {
      const std::string ev = collapse_space(e);
      const bool found = std::any_of(doc_texts.begin(), doc_texts.end(), [&](const auto& d) {
        return (q.source.empty() || d.first == q.source) && d.second.find(ev) != std::string::npos;
      });
      if (!found)
        problems.push_back("line " + std::to_string(q.line) +
                           ": evidence not found in the corpus: " + one_line(e, 80));
    }
    for (const std::string& a : q.answers) {
      const std::string af = answer_form(a);
      const bool inside = std::any_of(q.evidence.begin(), q.evidence.end(), [&](const auto& e) {
        return answer_form(e).find(af) != std::string::npos;
      });
      if (!inside)
        problems.push_back("line " + std::to_string(q.line) +
                           ": answer not inside its evidence: " + one_line(a, 80));
    }
  }
  if (!problems.empty()) {
    for (const std::string& p : problems)
      std::fprintf(stderr, "chaja_eval: %s: %s\n", o.questions.c_str(), p.c_str());
    return fail("the set does not validate (" + std::to_string(problems.size()) + " problems)");
  }
  std::vector<Coverage> cover;
  for (const Question& q : *questions) cover.push_back(coverage_of(q, chunks));

  const std::vector<std::string> slices = slices_of(*questions);
  std::map<std::string, double> all_metrics;  // "retriever:metric" of the all row, for --floor
  if (o.json) {
    std::printf("%s\n", json{{"kind", "set"},
                             {"questions", questions->size()},
                             {"documents", docs->size()},
                             {"chunks", chunks.size()},
                             {"ingest_s", ingest_s},
                             {"valid", true}}
                            .dump()
                            .c_str());
  } else {
    std::printf(
        "set: %zu questions over %zu documents (%zu chunks), all evidence found; "
        "ingested in %.2f s\n\n",
        questions->size(), docs->size(), chunks.size(), ingest_s);
    std::printf("%-10s %-22s %5s %7s %7s %7s %7s %7s %8s\n", "retriever", "slice", "n", "R@1",
                "R@5", "R@10", "MRR@10", "nDCG@10", "ms/query");
  }

  // --- retrieval, three ways
  struct Way {
    const char* name;
    RetrieverOptions options;
  };
  std::vector<Way> ways(3);
  for (Way& w : ways) {
    w.options.lexical_in_memory = true;  // as the server searches
    w.options.embedder = embedder;
  }
  ways[0].name = "bm25";
  ways[0].options.dense = false;
  ways[1].name = "dense";
  ways[1].options.hybrid.bm25_weight = 0;
  ways[2].name = "hybrid";
  ways[2].options.hybrid.bm25_weight = o.bm25_weight;
  ways[2].options.hybrid.dense_weight = o.dense_weight;
  std::vector<std::string> failures;
  for (const Way& w : ways) {
    Retriever retriever(**store, w.options);
    std::vector<RetrievalScore> scores;
    double ms = 0;
    for (size_t i = 0; i < questions->size(); ++i) {
      const Question& q = (*questions)[i];
      SearchRequest req;
      req.query = q.question;
      req.k = kDepth;
      const auto t0 = std::chrono::steady_clock::now();
      auto hits = retriever.search(req);
      ms += seconds_since(t0) * 1000;
      if (!hits) return fail(std::string(w.name) + " search failed: " + hits.error().message);
      std::vector<int64_t> ranked;
      for (const RetrievedHit& h : *hits) ranked.push_back(h.hit.chunk_id);
      scores.push_back(score_ranking(ranked, cover[i], std::max<size_t>(1, q.evidence.size())));
      if (o.verbose && scores.back().recall10 < 1) {
        std::string got;
        for (size_t r = 0; r < hits->size() && r < 3; ++r)
          got += "\n      " + std::to_string(r + 1) + ". " + chunk_file[(*hits)[r].hit.chunk_id] +
                 ": " + one_line((*hits)[r].hit.text, 100);
        if (o.json)
          failures.push_back(json{
              {"kind", "retrieval_miss"},
              {"retriever", w.name},
              {"line", q.line},
              {"question", q.question},
              {"evidence", q.evidence},
              {"recall@10", scores.back().recall10},
              {"top", [&] {
                 json top = json::array();
                 for (const auto& h : *hits) top.push_back(chunk_file[h.hit.chunk_id]);
                 return top;
               }()}}.dump());
        else
          failures.push_back(
              std::string(w.name) + " line " + std::to_string(q.line) + " [" + q.lang + "/" +
              q.type + "] " + q.question + "\n    expected: " +
              (q.evidence.empty() ? "file " + q.source : one_line(q.evidence[0], 100)) +
              "\n    got:" + got);
      }
    }
    const double per_query = ms / static_cast<double>(questions->size());
    for (const std::string& slice : slices) {
      Row row;
      for (size_t i = 0; i < questions->size(); ++i)
        if (in_slice((*questions)[i], slice)) row.add(scores[i]);
      if (slice == "all") {
        const char* names[] = {"recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"};
        for (int m = 0; m < 5; ++m) all_metrics[std::string(w.name) + ":" + names[m]] = row.mean(m);
      }
      if (o.json)
        std::printf("%s\n", json{{"kind", "retrieval"},
                                 {"retriever", w.name},
                                 {"slice", slice},
                                 {"n", row.n},
                                 {"recall@1", row.mean(0)},
                                 {"recall@5", row.mean(1)},
                                 {"recall@10", row.mean(2)},
                                 {"mrr@10", row.mean(3)},
                                 {"ndcg@10", row.mean(4)},
                                 {"ms_per_query", per_query}}
                                .dump()
                                .c_str());
      else
        std::printf("%-10s %-22s %5zu %7.3f %7.3f %7.3f %7.3f %7.3f %8.2f\n", w.name, slice.c_str(),
                    row.n, row.mean(0), row.mean(1), row.mean(2), row.mean(3), row.mean(4),
                    per_query);
    }
  }

  // --- answers, by the pipeline over the hybrid retriever
  std::vector<std::string> models = {"extractive"};
  if (!o.model.empty() && o.model != "extractive") models.push_back(o.model);
  RetrieverOptions served;
  served.lexical_in_memory = true;
  served.embedder = embedder;
  served.hybrid = ways[2].options.hybrid;
  Retriever retriever(**store, served);
  Answerer answerer(retriever,
                    [providers](const ModelName& name) { return providers->chat_model(name); });
  if (!o.json)
    std::printf("\n%-22s %-22s %5s %7s %7s %7s %8s %9s\n", "model", "slice", "n", "gold", "cite_p",
                "cite_r", "uncited", "s/answer");
  for (const std::string& model : models) {
    std::vector<AnswerScore> scores;
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < questions->size(); ++i) {
      const Question& q = (*questions)[i];
      AskRequest req;
      req.query = q.question;
      req.model = model;
      auto r = answerer.ask(req);
      if (!r)
        return fail(model + " could not answer line " + std::to_string(q.line) + ": " +
                    r.error().message);
      AnswerScore s;
      const std::string text = answer_form(without_markers(r->answer));
      for (const std::string& a : q.answers)
        s.gold = s.gold || text.find(answer_form(a)) != std::string::npos;
      std::set<size_t> covered;
      for (const Citation& c : r->citations) {
        if (c.kind != SourceKind::kLocal) continue;
        ++s.citations;
        auto it = cover[i].find(c.chunk_id);
        if (it == cover[i].end()) continue;
        ++s.relevant_citations;
        covered.insert(it->second.begin(), it->second.end());
      }
      s.graded = !q.answers.empty();
      s.cite_recall = static_cast<double>(covered.size()) /
                      static_cast<double>(std::max<size_t>(1, q.evidence.size()));
      scores.push_back(s);
      if (o.verbose && ((s.graded && !s.gold) || s.relevant_citations < s.citations)) {
        std::string cited;
        for (const Citation& c : r->citations) cited += " " + chunk_file[c.chunk_id];
        if (o.json)
          failures.push_back(json{
              {"kind", "answer_miss"},
              {"model", model},
              {"line", q.line},
              {"question", q.question},
              {"answers", q.answers},
              {"gold", s.gold},
              {"citations", s.citations},
              {"relevant_citations", s.relevant_citations},
              {"answer",
               r->answer}}.dump());
        else
          failures.push_back(model + " line " + std::to_string(q.line) + " [" + q.lang + "/" +
                             q.type + "] " + q.question + "\n    expected: " +
                             (s.graded ? q.answers[0] + (s.gold ? " (found)" : " (missing)")
                                       : "file " + q.source) +
                             "; citations " + std::to_string(s.relevant_citations) + "/" +
                             std::to_string(s.citations) + " relevant:" + cited +
                             "\n    answer: " + one_line(without_markers(r->answer), 200));
      }
    }
    const double per_answer = seconds_since(t0) / static_cast<double>(questions->size());
    for (const std::string& slice : slices) {
      AnswerRow row;
      for (size_t i = 0; i < questions->size(); ++i)
        if (in_slice((*questions)[i], slice)) row.add(scores[i]);
      if (slice == "all") {
        all_metrics[model + ":gold"] = row.gold_rate();
        all_metrics[model + ":cite_p"] = row.precision();
        all_metrics[model + ":cite_r"] = row.recall();
      }
      if (o.json)
        std::printf("%s\n", json{{"kind", "answer"},
                                 {"model", model},
                                 {"slice", slice},
                                 {"n", row.n},
                                 {"gold", row.graded ? json(row.gold_rate()) : json(nullptr)},
                                 {"cite_p", row.precision()},
                                 {"cite_r", row.recall()},
                                 {"uncited", row.uncited},
                                 {"s_per_answer", per_answer}}
                                .dump()
                                .c_str());
      else {
        char gold[16] = "-";  // no gold spans: whole-file questions
        if (row.graded) std::snprintf(gold, sizeof gold, "%.3f", row.gold_rate());
        std::printf("%-22s %-22s %5zu %7s %7.3f %7.3f %8zu %9.3f\n", model.c_str(), slice.c_str(),
                    row.n, gold, row.precision(), row.recall(), row.uncited, per_answer);
      }
    }
  }
  if (!o.json && !failures.empty())
    std::printf("\nfailures (R@10 < 1; gold missing or a citation not relevant):\n");
  for (const std::string& f : failures) std::printf("%s\n", f.c_str());

  // --- floors
  int status = 0;
  for (const std::string& f : o.floors) {
    const size_t eq = f.find('=');
    const std::string key = f.substr(0, eq);
    auto it = all_metrics.find(key);
    if (eq == std::string::npos || it == all_metrics.end())
      return usage(
          ("unknown --floor " + f + " (e.g. hybrid:recall@10=0.8, extractive:gold=0.5)").c_str());
    const double floor = std::atof(f.c_str() + eq + 1);
    if (it->second + 1e-9 < floor) {
      std::fprintf(stderr, "chaja_eval: floor failed: %s is %.3f, below %.3f\n", key.c_str(),
                   it->second, floor);
      status = 1;
    }
  }
  return status;
}

}  // namespace
}  // namespace chaja

int main(int argc, char** argv) {
  chaja::Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--json") {
      o.json = true;
    } else if (a == "--verbose") {
      o.verbose = true;
    } else if (a == "--corpus" || a == "--questions" || a == "--model" || a == "--embedder" ||
               a == "--config" || a == "--floor" || a == "--weights") {
      const char* v = value();
      if (!v) return chaja::usage((a + " needs a value").c_str());
      if (a == "--corpus") o.corpus = v;
      if (a == "--questions") o.questions = v;
      if (a == "--model") o.model = v;
      if (a == "--embedder") o.embedder = v;
      if (a == "--config") o.config = v;
      if (a == "--floor") o.floors.push_back(v);
      if (a == "--weights" && std::sscanf(v, "%lf,%lf", &o.bm25_weight, &o.dense_weight) != 2)
        return chaja::usage("--weights takes BM25,DENSE (e.g. 1,0.5)");
    } else {
      return chaja::usage(("unknown argument " + a).c_str());
    }
  }
  if (o.corpus.empty() || o.questions.empty())
    return chaja::usage("--corpus and --questions are required");
  if (!std::filesystem::is_directory(o.corpus))
    return chaja::usage(("not a folder: " + o.corpus.string()).c_str());
  return chaja::run(o);
}
