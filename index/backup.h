// A consistent copy of a data folder while `chaja serve` keeps writing to it.
//
// Each SQLite file (chaja.db, threads.db, keys.db) is copied with SQLite's online backup API in
// one step: the copy is the database as of one committed transaction, and writers are never
// blocked (WAL). web_cache.db is left out: it is a disposable cache.
//
// The dense side's cache (vectors/<collection>.faiss, .stats, .gen) is copied too, before the
// databases, so its generation is never newer than the copied store's and the retriever only has
// to catch it up (as after a crash) instead of re-embedding everything, which for a provider
// embedder means paying for every chunk again. The server rewrites those files at any time (each
// by rename, .gen last), so a collection is copied only when its three files were not replaced
// while being read and its .gen is not older than the others; otherwise it is left out and
// rebuilt from the store on the first search.
//
// The copy is written to a hidden sibling folder (.partial-<name>-<random>), every file and
// folder fsynced, then renamed onto the target in one step: a crash never leaves a half backup
// under the target's name. The target must not exist or be an empty folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "index/result.h"

namespace chaja {

struct BackupFile {
  std::string name;  // relative to the backup folder: "chaja.db", "vectors/docs.faiss"
  uint64_t bytes = 0;
};

struct BackupReport {
  std::vector<BackupFile> files;
  uint64_t bytes = 0;
  double seconds = 0;
  std::vector<std::string> skipped;  // what was left out and why, one line each
};

// Copies one SQLite database as of one committed transaction into `to` (which must not exist),
// then fsyncs it. Returns the copy's size in bytes. kIo on failure, kUnavailable when the
// source stays locked.
Result<uint64_t> backup_database(const std::filesystem::path& from,
                                 const std::filesystem::path& to);

// Backs up the data folder `data` into `target`. kInvalidInput when the target exists and is not
// an empty folder, kNotFound when `data` holds no chaja.db, kIo for the rest. On failure
// nothing is left under the target's name.
Result<BackupReport> backup_data_dir(const std::filesystem::path& data,
                                     const std::filesystem::path& target);

}  // namespace chaja
