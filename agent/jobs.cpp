#include "agent/jobs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "agent/json_api.h"
#include "index/fs_util.h"

namespace chaja {
namespace {

constexpr size_t kFinishedKept = 1000;
constexpr const char* kSuffix = ".job";

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Writes path atomically and durably: a temporary file, fsync, rename, fsync of the folder.
Status write_durably(const std::filesystem::path& path, const std::string& bytes) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(ErrorKind::kIo, "cannot write " + tmp.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return make_error(ErrorKind::kIo, "cannot write " + tmp.string() + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0)
    return make_error(ErrorKind::kIo,
                      "cannot store " + path.string() + ": " + std::strerror(errno));
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

bool is_job_id(const std::string& id) {
  if (id.size() != 32) return false;
  for (const char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Error unknown_job(const std::string& id) {
  return make_error(ErrorKind::kNotFound, "job " + id + " not found");
}

}  // namespace

IngestJobs::IngestJobs(std::filesystem::path dir, Store& store, ChunkOptions chunking)
    : dir_(std::move(dir)), store_(store), chunking_(chunking) {}

Result<std::unique_ptr<IngestJobs>> IngestJobs::open(const std::filesystem::path& dir, Store& store,
                                                     ChunkOptions chunking) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorKind::kIo, "cannot create " + dir.string() + ": " + ec.message());
  std::unique_ptr<IngestJobs> jobs(new IngestJobs(dir, store, chunking));
  // Jobs a previous process acknowledged but did not finish, oldest first.
  std::vector<std::pair<int64_t, std::string>> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".tmp")) {
      std::filesystem::remove(entry.path(), ec);  // never acknowledged
      continue;
    }
    if (!name.ends_with(kSuffix)) continue;
    const std::string id = name.substr(0, name.size() - std::strlen(kSuffix));
    auto bytes = read_file_bytes(entry.path(), size_t{1} << 30);
    auto job = bytes ? parse_job_file(*bytes) : Result<JobFile>(bytes.error());
    if (!is_job_id(id) || !job) {
      std::fprintf(stderr, "warning: skipping the damaged job file %s\n", entry.path().c_str());
      continue;
    }
    JobStatus status;
    status.id = id;
    status.owner = job->owner;
    status.state = "queued";
    status.collection = job->document.collection;
    status.source = job->document.source;
    status.bytes = static_cast<int64_t>(job->document.text.size());
    status.created_at = job->created_at;
    jobs->jobs_[id] = status;
    found.emplace_back(job->created_at, id);
  }
  std::sort(found.begin(), found.end());
  for (const auto& [t, id] : found) jobs->queue_.push_back(id);
  jobs->worker_ = std::thread([p = jobs.get()] { p->run(); });
  return jobs;
}

IngestJobs::~IngestJobs() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

Result<std::string> IngestJobs::submit(DocumentInput document, const std::string& owner) {
  auto id = random_hex(16);
  if (!id) return id.error();
  JobFile file{std::move(document), owner, unix_now()};
  if (Status s = write_durably(dir_ / (*id + kSuffix), job_file_json(file)); !s) return s.error();
  JobStatus status;
  status.id = *id;
  status.owner = owner;
  status.state = "queued";
  status.collection = file.document.collection;
  status.source = file.document.source;
  status.bytes = static_cast<int64_t>(file.document.text.size());
  status.created_at = file.created_at;
  {
    std::lock_guard lock(mu_);
    jobs_[*id] = std::move(status);
    queue_.push_back(*id);
  }
  wake_.notify_one();
  return *id;
}

Result<JobStatus> IngestJobs::get(const std::string& id) {
  if (!is_job_id(id))
    return make_error(ErrorKind::kInvalidInput, "a job id is 32 lowercase hex characters");
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return unknown_job(id);
  return it->second;
}

void IngestJobs::run() {
  for (;;) {
    std::string id;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // queued jobs stay on disk for the next start
      id = queue_.front();
      queue_.pop_front();
      jobs_[id].state = "running";
      jobs_[id].progress = 0.1;
    }
    const std::filesystem::path path = dir_ / (id + kSuffix);
    auto bytes = read_file_bytes(path, size_t{1} << 30);
    auto job = bytes ? parse_job_file(*bytes) : Result<JobFile>(bytes.error());
    if (!job) {
      finish(id, job.error());
      continue;
    }
    const auto chunks = chunk_text(job->document.text, chunking_);
    {
      std::lock_guard lock(mu_);
      jobs_[id].progress = 0.5;
    }
    finish(id, store_.put(job->document, chunks));
  }
}

void IngestJobs::finish(const std::string& id, Result<PutResult> result) {
  // Committed, or refused for good: the job file has done its work. A storage failure keeps it,
  // to be tried again at the next start.
  const bool retry = !result && (result.error().kind == ErrorKind::kIo ||
                                 result.error().kind == ErrorKind::kUnavailable);
  std::error_code ec;
  if (!retry) std::filesystem::remove(dir_ / (id + kSuffix), ec);
  std::lock_guard lock(mu_);
  JobStatus& job = jobs_[id];
  job.progress = 1;
  job.finished_at = unix_now();
  if (result) {
    job.state = "done";
    job.result = *result;
  } else {
    job.state = "failed";
    job.error = result.error();
  }
  finished_.push_back(id);
  while (finished_.size() > kFinishedKept) {
    jobs_.erase(finished_.front());
    finished_.pop_front();
  }
}

}  // namespace chaja
