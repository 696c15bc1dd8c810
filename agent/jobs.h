// Ingest jobs: a large upload is answered at once (202 and a job id) and stored in the
// background, its progress read with GET /v1/jobs/{id}.
//
// Nothing acknowledged is lost: a job's document is written to <data>/jobs/<id>.job and
// fsync'd before submit() returns, and removed only once the store has committed it. At start,
// jobs left by a process that died (kill -9, power loss) are queued again. One worker thread
// runs the jobs in order; finished jobs are remembered (the newest 1,000) until the process ends.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "index/ingest.h"
#include "index/store.h"

namespace chaja {

struct JobStatus {
  std::string id;
  std::string owner;    // the key id that submitted it ("" on an open server)
  std::string state;    // "queued", "running", "done", "failed"
  double progress = 0;  // 0 queued, 0.1 chunking, 0.5 storing, 1 done or failed
  std::string collection;
  std::string source;
  int64_t bytes = 0;  // the document's text
  std::optional<PutResult> result;
  std::optional<Error> error;
  int64_t created_at = 0, finished_at = 0;  // unix seconds
};

// A job as written to its file: the document and who submitted it.
struct JobFile {
  DocumentInput document;
  std::string owner;
  int64_t created_at = 0;
};

class IngestJobs {
 public:
  // Opens <dir> (creating it), queues the jobs found there, and starts the worker.
  static Result<std::unique_ptr<IngestJobs>> open(const std::filesystem::path& dir, Store& store,
                                                  ChunkOptions chunking);
  ~IngestJobs();  // finishes the running job, leaves queued ones on disk for the next start
  IngestJobs(const IngestJobs&) = delete;
  IngestJobs& operator=(const IngestJobs&) = delete;

  // Persists the job, then queues it; its id (32 hex).
  Result<std::string> submit(DocumentInput document, const std::string& owner);
  // kNotFound for an unknown id.
  Result<JobStatus> get(const std::string& id);

 private:
  IngestJobs(std::filesystem::path dir, Store& store, ChunkOptions chunking);
  void run();
  void finish(const std::string& id, Result<PutResult> result);

  std::filesystem::path dir_;
  Store& store_;
  ChunkOptions chunking_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  std::map<std::string, JobStatus> jobs_;
  std::deque<std::string> finished_;  // oldest first, for forgetting
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace chaja
