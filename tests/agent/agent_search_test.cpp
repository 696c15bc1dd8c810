// Searching like an agent, measured: the cross-lingual questions of the labelled set
// (tests/fixtures/paraphrase_queries.tsv, Korean questions over English documents and the
// reverse) and six compound questions that need two documents, over tests/fixtures/corpus_ko_en.
// For each question: are all the documents it needs among the 5 passages the answer is given?
//   single   one search for the question (what the pipeline did before planning)
//   rules    no model: the pipeline's rule plan (compound questions split)
//   planned  a model's plan: the recorded planner outputs of tests/fixtures/recorded_plans.tsv
//            (a translation into the documents' language, one query per part), as a model
//            returns them; searched and fused by the real pipeline
// The planner here replays those recorded outputs: the figures measure what the pipeline does
// with a plan, not how well a given LLM plans.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "agent/pipeline.h"
#include "index/ingest.h"
#include "tests/agent/fixed_answer_model.h"
#include "tests/index/test_util.h"

using namespace chaja;

namespace {

struct Row {
  std::string question;
  std::vector<std::string> needed;
  std::string plan;  // the recorded model output
  bool compound = false;
};

std::vector<Row> load_rows() {
  std::vector<Row> rows;
  for (auto& f : test::read_tsv(std::string(CHAJA_FIXTURES) + "/recorded_plans.tsv")) {
    if (f.size() < 3) continue;
    Row r{f[0], {}, f[2]};
    for (size_t start = 0; start <= f[1].size();) {
      size_t comma = f[1].find(',', start);
      if (comma == std::string::npos) comma = f[1].size();
      r.needed.push_back(f[1].substr(start, comma - start));
      start = comma + 1;
    }
    r.compound = r.needed.size() > 1;
    rows.push_back(std::move(r));
  }
  return rows;
}

// Replays recorded plans; answers "NONE" to a bridge question; or fails every helper call (the
// pipeline then plans by rule).
class PlannerModel final : public test::FixedAnswerModel {
 public:
  PlannerModel(const std::map<std::string, std::string>* plans, bool fail)
      : FixedAnswerModel("openai:planner", "See the sources [1]."), plans_(plans), fail_(fail) {}
  Result<ChatResult> chat(const ChatRequest& r, const CancelFlag*) override {
    if (fail_) return make_error(ErrorKind::kUpstream, "planner down");
    ChatResult result;
    auto it = plans_->find(r.messages.back().content);
    const bool plan_call = r.system.find("\"queries\"") != std::string::npos;
    result.text = plan_call && it != plans_->end() ? it->second : "NONE";
    return result;
  }

 private:
  const std::map<std::string, std::string>* plans_;
  bool fail_;
};

std::string file_of(const std::string& source) {
  return std::filesystem::path(source).filename().string();
}

bool all_found(const std::vector<std::string>& needed, const std::set<std::string>& files) {
  for (const std::string& n : needed)
    if (!files.count(n)) return false;
  return true;
}

struct Tally {
  size_t n = 0, single = 0, rules = 0, planned = 0;
};

}  // namespace

TEST_CASE("agent search: translated and split queries find what one search misses",
          "[agent_search][quality]") {
  test::TempDir dir;
  auto store = Store::open(dir.path());
  REQUIRE(store.ok());
  REQUIRE(
      ingest_paths(**store, {std::filesystem::path(CHAJA_FIXTURES) / "corpus_ko_en"}, {}, nullptr)
          .ok());
  Retriever retriever(**store);
  const std::vector<Row> rows = load_rows();
  REQUIRE(rows.size() >= 30);
  std::map<std::string, std::string> plans;
  for (const Row& r : rows) plans[r.question] = r.plan;

  auto factory = [&](bool fail) -> ChatModelFactory {
    return [&plans, fail](const ModelName&) -> Result<std::unique_ptr<ChatModel>> {
      return std::unique_ptr<ChatModel>(new PlannerModel(&plans, fail));
    };
  };
  Answerer planned(retriever, factory(false));
  Answerer rules(retriever, factory(true));

  // The files of the passages an answer was given, and the steps it streamed.
  auto given = [&](Answerer& a, const std::string& q, std::vector<StepEvent>* steps) {
    AskRequest req;
    req.query = q;
    req.k = 5;
    req.model = "openai:planner";
    auto s = a.start(req);
    REQUIRE(s.ok());
    std::set<std::string> files;
    while (auto e = (*s)->next()) {
      if (auto* src = std::get_if<SourcesEvent>(&*e))
        for (const Citation& c : src->citations) files.insert(file_of(c.source));
      if (auto* st = std::get_if<StepEvent>(&*e); st && steps) steps->push_back(*st);
      if (auto* err = std::get_if<ErrorEvent>(&*e)) FAIL(err->error.message);
    }
    return files;
  };

  Tally cross, compound;
  for (const Row& r : rows) {
    SearchRequest one;
    one.query = r.question;
    one.k = 5;
    auto hits = retriever.search(one);
    REQUIRE(hits.ok());
    std::set<std::string> single_files;
    for (const RetrievedHit& h : *hits) single_files.insert(file_of(h.hit.source));

    std::vector<StepEvent> steps;
    const auto planned_files = given(planned, r.question, &steps);
    const auto rule_files = given(rules, r.question, nullptr);
    // The plan shows in the stream, then one search per query.
    REQUIRE(steps.size() >= 3);
    CHECK(steps[0].kind == "search");
    CHECK(steps[1].kind == "plan");

    Tally& t = r.compound ? compound : cross;
    ++t.n;
    t.single += all_found(r.needed, single_files);
    t.rules += all_found(r.needed, rule_files);
    t.planned += all_found(r.needed, planned_files);
    if (!all_found(r.needed, planned_files))
      std::printf("  planned misses: %s\n", r.question.c_str());
  }
  auto share = [](size_t k, size_t n) { return n ? static_cast<double>(k) / n : 0.0; };
  std::printf(
      "\nagent search: all needed documents among the 5 passages given (corpus_ko_en)\n"
      "subset          n |  single   rules  planned\n"
      "cross-lingual  %2zu |   %.3f   %.3f   %.3f\n"
      "compound       %2zu |   %.3f   %.3f   %.3f\n",
      cross.n, share(cross.single, cross.n), share(cross.rules, cross.n),
      share(cross.planned, cross.n), compound.n, share(compound.single, compound.n),
      share(compound.rules, compound.n), share(compound.planned, compound.n));
  // A plan never loses what the single search found, and finds much more across languages.
  CHECK(cross.planned >= cross.single);
  CHECK(compound.planned >= compound.single);
  CHECK(compound.rules >= compound.single);
  CHECK(share(cross.planned, cross.n) >= 0.75);
  CHECK(share(compound.planned, compound.n) >= 0.8);
}

namespace {

// Plans nothing beyond the question; the first bridge question gets `bridge`, later ones NONE.
class BridgeModel final : public test::FixedAnswerModel {
 public:
  explicit BridgeModel(std::string bridge)
      : FixedAnswerModel("openai:bridge", "See [1][2]."), bridge_(std::move(bridge)) {}
  Result<ChatResult> chat(const ChatRequest& r, const CancelFlag*) override {
    ChatResult result;
    if (r.system.find("\"queries\"") != std::string::npos)
      result.text = "{\"queries\": []}";
    else
      result.text = bridge_calls++ == 0 ? bridge_ : "NONE";
    return result;
  }
  int bridge_calls = 0;

 private:
  std::string bridge_;
};

}  // namespace

TEST_CASE("agent search: a bridge search follows what the first passages name", "[agent_search]") {
  test::TempDir dir;
  auto store = Store::open(dir.path());
  REQUIRE(store.ok());
  REQUIRE(
      ingest_paths(**store, {std::filesystem::path(CHAJA_FIXTURES) / "corpus_ko_en"}, {}, nullptr)
          .ok());
  Retriever retriever(**store);
  Answerer answerer(retriever, [](const ModelName&) -> Result<std::unique_ptr<ChatModel>> {
    return std::unique_ptr<ChatModel>(new BridgeModel("다온소프트 사내 식당 식권 가격"));
  });
  AskRequest req;
  req.query = "서버실 누수 장애 보고서를 낸 회사의 사내 식당 식권은 얼마인가요?";
  req.model = "openai:bridge";
  req.k = 5;
  auto s = answerer.start(req);
  REQUIRE(s.ok());
  std::vector<StepEvent> steps;
  std::set<std::string> files;
  while (auto e = (*s)->next()) {
    if (auto* st = std::get_if<StepEvent>(&*e)) steps.push_back(*st);
    if (auto* src = std::get_if<SourcesEvent>(&*e))
      for (const Citation& c : src->citations) files.insert(file_of(c.source));
  }
  // The question, then the bridge; the second bridge question answered NONE.
  std::vector<std::string> searched;
  for (const StepEvent& st : steps)
    if (st.kind == "search") searched.push_back(st.text);
  REQUIRE(searched.size() == 2);
  CHECK(searched[1] == "다온소프트 사내 식당 식권 가격");
  CHECK(files.count("서버실-누수.md"));
  CHECK(files.count("사내식당.md"));
}

TEST_CASE("agent search: a helper model that fails once is not asked again in that answer",
          "[agent_search]") {
  test::TempDir dir;
  auto store = Store::open(dir.path());
  REQUIRE(store.ok());
  REQUIRE(
      ingest_paths(**store, {std::filesystem::path(CHAJA_FIXTURES) / "corpus_ko_en"}, {}, nullptr)
          .ok());
  Retriever retriever(**store);
  const std::map<std::string, std::string> no_plans;
  std::atomic<int> made{0};
  Answerer answerer(retriever, [&](const ModelName&) -> Result<std::unique_ptr<ChatModel>> {
    ++made;
    return std::unique_ptr<ChatModel>(new PlannerModel(&no_plans, /*fail=*/true));
  });
  AskRequest req;
  req.query = "그곳의 식권은 얼마인가요?";
  req.history = {{"다온소프트 사내 식당은 어디에 있나요?", "본관 지하 1층입니다 [1]."}};
  req.model = "openai:planner";
  auto r = answerer.ask(req);
  REQUIRE(r.ok());
  // The rewrite failed: the rule made the query, and no plan or bridge was asked for. One
  // model made for the rewrite, one for the answer (the related questions use the answer's).
  CHECK(r->query.find("다온소프트") != std::string::npos);
  CHECK(made == 2);
}

TEST_CASE("agent search: a metadata filter holds for the question, the plan and the bridge",
          "[agent_search][filter]") {
  auto store = Store::open("");
  REQUIRE(store.ok());
  std::set<int64_t> legal;
  for (int i = 0; i < 12; ++i) {
    const bool is_legal = i == 2 || i == 8;
    DocumentInput d;
    d.source = "note-" + std::to_string(i);
    d.title = std::string(is_legal ? "Legal" : "HR") + " note " + std::to_string(i);
    d.text = is_legal ? "The annual leave policy grants 15 days, per the contract of note " +
                            std::to_string(i) + "."
                      : "The annual leave rota of the keepers, note " + std::to_string(i) +
                            ", lists 15 days of leave.";
    d.metadata_json = is_legal ? R"({"department":"legal"})" : R"({"department":"hr"})";
    auto put = (*store)->put(d, chunk_text(d.text));
    REQUIRE(put.ok());
    if (is_legal) legal.insert(put->doc_id);
  }
  Retriever retriever(**store);
  // The bridge searches for the hr notes' words: the filter keeps them out all the same.
  Answerer answerer(retriever, [](const ModelName&) -> Result<std::unique_ptr<ChatModel>> {
    return std::unique_ptr<ChatModel>(new BridgeModel("keepers leave rota"));
  });
  AskRequest req;
  req.query = "How many days of annual leave? And what does the rota list?";
  req.filter.conditions.push_back({"department", {FilterValue::of_string("legal")}});
  for (const std::string model : {"openai:bridge", "extractive"}) {
    INFO(model);
    req.model = model;
    auto s = answerer.start(req);
    REQUIRE(s.ok());
    size_t searches = 0, sources = 0;
    std::optional<AskResponse> done;
    while (auto e = (*s)->next()) {
      if (auto* st = std::get_if<StepEvent>(&*e)) searches += st->kind == "search";
      if (auto* src = std::get_if<SourcesEvent>(&*e))
        for (const Citation& c : src->citations) {
          ++sources;
          CHECK(legal.count(c.doc_id) == 1);
        }
      if (auto* d = std::get_if<DoneEvent>(&*e)) done = d->response;
      if (auto* err = std::get_if<ErrorEvent>(&*e)) FAIL(err->error.message);
    }
    CHECK(searches >= 2);  // the question's parts (and the bridge, with the model)
    CHECK(sources >= 1);
    REQUIRE(done.has_value());
    REQUIRE_FALSE(done->citations.empty());
    for (const Citation& c : done->citations) CHECK(legal.count(c.doc_id) == 1);
  }
  // A bad filter is refused before the stream starts.
  req.filter.conditions.push_back({"bad key", {FilterValue::of_bool(true)}});
  auto bad = answerer.start(req);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidInput);
}
