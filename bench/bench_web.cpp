// bench_web: time from question to first answer token with the web on, and where it goes
// (local retrieval, web search, page fetch, main-text extraction, ranking), over a local web of
// 20+ pages served on 127.0.0.1 with simulated network latency. The baseline, measured in the
// same run, fetches the same pages one at a time (max_parallel = 1); a third run answers from the
// page cache.
//
//   bench_web [--reps 1] [--search-ms 100] [--page-ms 20,120]
//
// The pages are the sample documents (docs/sample), each split into two articles wrapped in a
// news-site layout (menu, cookie banner, footer), plus the saved pages of tests/fixtures/web:
// 26 pages. Each question is one of tests/fixtures/answers_ko_en.tsv; its search returns 8
// results (the two articles of the labelled document first, then others in rotation), of which
// the answer reads 6 pages, so the batch fetches every page. Each page answers after a delay drawn
// uniformly from --page-ms, the search after --search-ms. The answer is the extractive model's,
// so the first token is the pipeline's own time (an LLM adds its own latency after it).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/pipeline.h"
#include "agent/web_retrieval.h"
#include "bench/bench_util.h"
#include "index/ingest.h"
#include "index/page_cache.h"
#include "index/utf8.h"
#include "tests/support/web_site.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace chaja;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

// A news-site article around some paragraphs.
std::string article(const std::string& title, const std::vector<std::string>& paragraphs) {
  std::string html =
      "<!doctype html><html lang=\"ko\"><head><meta charset=\"utf-8\"><title>" + escape(title) +
      "</title><meta property=\"article:published_time\" content=\"2026-10-01T09:00:00Z\">"
      "</head><body><div class=\"cookie-banner\"><p>This site uses cookies.</p></div>"
      "<header><a href=\"/\">Daily Bench</a></header><nav><ul>";
  for (const char* m : {"Politics", "Economy", "Tech", "Culture", "Sports", "Opinion"})
    html += std::string("<li><a href=\"/") + m + "\">" + m + "</a></li>";
  html += "</ul></nav><main><article><h1>" + escape(title) + "</h1>";
  for (const std::string& p : paragraphs) html += "<p>" + escape(p) + "</p>";
  html += "</article><aside class=\"related\"><h2>Related</h2><ul>";
  for (int i = 0; i < 6; ++i)
    html += "<li><a href=\"/r" + std::to_string(i) + "\">Another story " + std::to_string(i) +
            "</a></li>";
  html += "</ul></aside></main><footer>© Daily Bench</footer></body></html>";
  return html;
}

std::vector<std::string> paragraphs_of(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.starts_with("#")) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
      continue;
    }
    cur += (cur.empty() ? "" : " ") + line;
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

struct Page {
  std::string path, title, snippet, file;
};

struct Question {
  std::string text, file;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Sample {
  double ttft = 0;
  AnswerTimings t;
};

struct Args {
  int reps = 1;
  int search_ms = 100;
  int page_lo = 20, page_hi = 120;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--reps") {
      a.reps = std::max(1, std::atoi(v.c_str()));
    } else if (k == "--search-ms") {
      a.search_ms = std::max(0, std::atoi(v.c_str()));
    } else if (k == "--page-ms") {
      a.page_lo = std::max(0, std::atoi(v.c_str()));
      a.page_hi = std::max(a.page_lo, std::atoi(v.substr(v.find(',') + 1).c_str()));
    } else {
      std::fprintf(stderr, "usage: bench_web [--reps N] [--search-ms MS] [--page-ms LO,HI]\n");
      std::exit(2);
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  const std::filesystem::path root(CHAJA_SOURCE_DIR);
  test::WebSite site(CHAJA_FIXTURES);
  site.search_delay = std::chrono::milliseconds(args.search_ms);
  bench::Rng rng{42};
  auto delay = [&] {
    return std::chrono::milliseconds(
        args.page_lo +
        static_cast<int>(rng.next() % static_cast<uint64_t>(args.page_hi - args.page_lo + 1)));
  };

  // The local web: two articles per sample document, plus the saved fixture pages.
  std::vector<Page> pages;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(root / "docs/sample"))
    files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const std::string name = f.filename().string();
    const std::string body = read_file(f);
    if (f.extension() == ".html") {
      const std::string path = "/site/" + std::to_string(pages.size());
      site.html(path, body, delay());
      pages.push_back({path, name, "", name});
      continue;
    }
    const auto paras = paragraphs_of(body);
    const size_t half = (paras.size() + 1) / 2;
    for (int part = 0; part < 2; ++part) {
      std::vector<std::string> some(paras.begin() + (part ? half : 0),
                                    part ? paras.end() : paras.begin() + half);
      if (some.empty()) some.push_back(paras.empty() ? name : paras.front());
      const std::string path = "/site/" + std::to_string(pages.size());
      const std::string title = name + " (" + std::to_string(part + 1) + "/2)";
      site.html(path, article(title, some), delay());
      const std::string& first = some.front();
      pages.push_back({path, title, first.substr(0, utf8::floor_boundary(first, 200)), name});
    }
  }
  for (const char* f : {"docs_en.html", "news_ko.html", "table_en.html", "nav_only.html"}) {
    const std::string path = "/site/" + std::to_string(pages.size());
    site.html(path, read_file(std::filesystem::path(CHAJA_FIXTURES) / "web" / f), delay());
    pages.push_back({path, f, "", f});
  }

  std::vector<Question> questions;
  {
    std::ifstream in(std::filesystem::path(CHAJA_FIXTURES) / "answers_ko_en.tsv");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      const size_t tab = line.find('\t');
      if (tab == std::string::npos) continue;
      const size_t tab2 = line.find('\t', tab + 1);
      questions.push_back({line.substr(0, tab), line.substr(tab + 1, tab2 - tab - 1)});
    }
  }

  // The local collection: the sample set, as `scripts/demo` indexes it.
  auto store = Store::open("");
  if (!store || !ingest_paths(**store, {root / "docs/sample"}, {}, nullptr)) {
    std::fprintf(stderr, "bench_web: cannot index docs/sample\n");
    return 1;
  }
  Retriever retriever(**store);

  auto results_for = [&](size_t qi) {
    std::vector<test::SiteResult> r;
    for (const Page& p : pages)
      if (p.file == questions[qi].file) r.push_back({p.title, p.path, p.snippet, ""});
    for (size_t j = 0; r.size() < 8; ++j) {
      const Page& p = pages[(qi * 6 + j) % pages.size()];
      if (p.file != questions[qi].file) r.push_back({p.title, p.path, p.snippet, ""});
    }
    return r;
  };

  auto run = [&](size_t max_parallel, bool cache, bool warm) {
    WebSettings s;
    s.fetch.use_env_allow = false;
    s.fetch.allow = *FetchAllowList::parse("127.0.0.1");
    s.fetch.max_parallel = max_parallel;
    s.fetch.total_timeout = std::chrono::milliseconds(30'000);
    s.cache = cache;
    auto chain = make_web_search_chain(Env{{"SEARXNG_URL", site.base_url()}}, "", s.search);
    if (!chain) {
      std::fprintf(stderr, "bench_web: %s\n", chain.error().message.c_str());
      std::exit(1);
    }
    std::unique_ptr<PageCache> page_cache;
    if (cache) page_cache = std::move(*PageCache::open(""));
    auto web = std::make_shared<WebRetriever>(std::move(*chain), std::move(page_cache), s);
    Answerer answerer(retriever);
    answerer.set_web(web);
    std::vector<Sample> samples;
    for (int rep = 0; rep < args.reps + (warm ? 1 : 0); ++rep)
      for (size_t qi = 0; qi < questions.size(); ++qi) {
        site.results(results_for(qi));
        AskRequest req;
        req.query = questions[qi].text;
        req.web = true;
        const auto t0 = Clock::now();
        auto stream = answerer.start(req);
        if (!stream) {
          std::fprintf(stderr, "bench_web: %s\n", stream.error().message.c_str());
          std::exit(1);
        }
        Sample sample;
        while (auto e = (*stream)->next()) {
          if (std::holds_alternative<DeltaEvent>(*e) && sample.ttft == 0)
            sample.ttft = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          if (auto* done = std::get_if<DoneEvent>(&*e)) {
            sample.t = done->response.timings;
            if (std::getenv("BENCH_WEB_DEBUG"))
              for (const std::string& w : done->response.warnings)
                std::fprintf(stderr, "warning: %s\n", w.c_str());
          }
        }
        if (!warm || rep > 0) samples.push_back(sample);
      }
    return samples;
  };

  std::printf(
      "bench_web: %zu pages on 127.0.0.1 (%d-%d ms each), search %d ms, %zu questions x %d\n",
      pages.size(), args.page_lo, args.page_hi, args.search_ms, questions.size(), args.reps);
  std::printf("%-28s %9s %8s %8s %8s %8s %8s %7s %7s\n", "mode (medians, ms)", "1st token", "local",
              "search", "fetch", "extract", "rank", "pages", "ratio");
  double baseline = 0;
  struct Mode {
    const char* name;
    size_t parallel;
    bool cache, warm;
  };
  const Mode modes[] = {{"serial fetch (baseline)", 1, false, false},
                        {"parallel fetch, cold", 8, false, false},
                        {"parallel fetch, page cache", 8, true, true}};
  for (const Mode& m : modes) {
    auto samples = run(m.parallel, m.cache, m.warm);
    auto pick = [&](auto f) {
      std::vector<double> v;
      for (const Sample& s : samples) v.push_back(f(s));
      return median(v);
    };
    const double ttft = pick([](const Sample& s) { return s.ttft; });
    if (baseline == 0) baseline = ttft;
    std::printf("%-28s %9.1f %8.1f %8.1f %8.1f %8.2f %8.2f %7.1f %6.2fx\n", m.name, ttft,
                pick([](const Sample& s) { return s.t.retrieval_ms; }),
                pick([](const Sample& s) { return s.t.web_search_ms; }),
                pick([](const Sample& s) { return s.t.web_fetch_ms; }),
                pick([](const Sample& s) { return s.t.web_extract_ms; }),
                pick([](const Sample& s) { return s.t.rank_ms; }),
                pick([](const Sample& s) { return static_cast<double>(s.t.web_pages); }),
                baseline / std::max(ttft, 1e-9));
  }
  std::printf(
      "ratio: the baseline's median time to first token over this mode's (higher is "
      "faster)\n");
  return 0;
}
