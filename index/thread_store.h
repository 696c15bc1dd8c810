// Conversation threads (follow-up questions and their answers) in their own SQLite file,
// <data>/threads.db. This is user data, unlike the page cache: a file this build cannot read
// (not SQLite, another application's, a newer schema) is an error and is never removed or
// recreated. WAL with synchronous=NORMAL: an append that returned ok survives kill -9; a power or
// OS failure may lose the last appends (never corrupt the file). See open_schema for why.
//
// Thread safety: one ThreadStore may be used by any number of threads at once; it holds one
// SQLite connection behind one mutex, so calls run one at a time. Several processes (the CLI and
// the server) may open the same file: writes take SQLite's write lock (BEGIN IMMEDIATE), and a
// call waits up to 5 s for another process's lock before failing with kUnavailable.
//
// Thread ids are 32 lowercase hex characters: 16 bytes read from /dev/urandom (the kernel's
// CSPRNG), so an id is also an unguessable handle. Turn ids are SQLite AUTOINCREMENT integers,
// increasing in append order and never reused, also after a remove.
//
// Schema: versioned by PRAGMA user_version (1 today) under its own application_id. Opening runs
// the migrations from the file's version up to this build's; a newer version is kUnsupported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "index/result.h"

namespace chaja {

struct ThreadTurn {
  int64_t id = 0;              // assigned on append
  std::string question;        // as asked; not empty
  std::string query;           // the standalone query searched for ("" = the question)
  std::string answer;          // the final answer text
  std::string citations_json;  // JSON array, stored and returned verbatim (validated by the
                               // caller); "" is stored as "[]"
  std::string related_json;    // JSON array of strings, verbatim; "" is stored as "[]"
  std::string model;
  int64_t created_at = 0;  // unix seconds, set on append
};

struct ThreadInfo {
  std::string id;
  std::string collection;
  std::string owner;  // the API key's id that created it ("" on an open server)
  int64_t created_at = 0, updated_at = 0;  // unix seconds; updated_at: the last append
  std::vector<ThreadTurn> turns;           // oldest first (the newest max_turns when limited)
  int64_t turn_count = 0;                  // all turns of the thread, also when turns holds fewer
};

struct ThreadStoreOptions {
  // Appending beyond: kConflict ("thread is full, start a new one").
  size_t max_turns_per_thread = 200;
  size_t max_question_bytes = 16 << 10;  // question and query, each
  size_t max_answer_bytes = 256 << 10;
  size_t max_json_bytes = 256 << 10;  // citations_json and related_json, each
  // Unix seconds for created_at / updated_at; empty: the system clock. Tests set a fake clock.
  std::function<int64_t()> clock;
};

// The error for a thread that does not exist (and, at the API, for another key's thread: the two
// must read the same).
Error thread_not_found(const std::string& id);

class ThreadStore {
 public:
  // Opens or creates the store file (missing parent folders are created); "" = a private
  // in-memory store. Errors: kInvalidInput (max_turns_per_thread 0, a size limit over 64 MiB),
  // kUnsupported (a schema version newer than this build's), kIo (cannot create or open; not a
  // SQLite file; another application's database), kUnavailable (another process held a lock
  // for over 5 s).
  static Result<std::unique_ptr<ThreadStore>> open(const std::filesystem::path& file,
                                                   ThreadStoreOptions options = {});
  ~ThreadStore();
  ThreadStore(const ThreadStore&) = delete;
  ThreadStore& operator=(const ThreadStore&) = delete;

  // A new, empty thread; returns its id. collection and owner: valid UTF-8, at most 1 KiB each
  // (kInvalidInput otherwise); either may be "".
  Result<std::string> create(const std::string& collection, const std::string& owner);

  // The thread with its newest max_turns turns, oldest first (0: no turns, only the info).
  // kInvalidInput for a malformed id (not 32 lowercase hex), kNotFound for an unknown one.
  Result<ThreadInfo> get(const std::string& id, size_t max_turns = 50);

  // Appends a turn (id and created_at of the argument are ignored) and bumps the thread's
  // updated_at; returns the turn as stored, with its id and created_at. Errors: kInvalidInput
  // (malformed id; empty question; a text field that is not valid UTF-8), kTooLarge (question or
  // query over max_question_bytes, answer over max_answer_bytes, citations_json or related_json
  // over max_json_bytes, model over 1 KiB), kNotFound (unknown thread), kConflict (the thread
  // already holds max_turns_per_thread turns: start a new one).
  Result<ThreadTurn> append(const std::string& id, ThreadTurn turn);

  // Deletes the thread and all its turns in one transaction. kInvalidInput, kNotFound as get.
  Status remove(const std::string& id);

  // The threads of owner, newest (most recently created) first, at most limit of them; turns
  // left empty, turn_count filled in.
  Result<std::vector<ThreadInfo>> list(const std::string& owner, size_t limit);

 private:
  struct Impl;
  explicit ThreadStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaja
