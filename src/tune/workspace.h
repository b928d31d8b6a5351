#pragma once
// The tuning workspace folder, locked by one run at a time (flock on <dir>/lock,
// released by the kernel when the process dies): history.jsonl (one fsync'ed JSON line per event,
// only ever appended), baseline_cache.json (FP32 results keyed by model hash +
// evaluation data + metric), deploy.yaml (the final plan).
// Resume: with `resume: true` every earlier trial of the same context is reused;
// without it, trials of a run that never finished (crash, kill -9) are reused.
#include <map>
#include <optional>
#include <string>

#include "metrics/sample_results.h"
#include "tune/bootstrap.h"
#include "tune/plan.h"

namespace qtune::tune {

struct TrialRecord {
  std::string key;
  TunePlan plan;
  double accuracy = 0;
  double objective = 0;
  double seconds = 0;
  LossInterval interval; // history fields loss, ci_low, ci_high, confidence, resamples
};

struct BaselineRecord {
  double accuracy = 0;
  double objective = 0;
};

class Workspace {
public:
  Workspace(const std::string &dir, const std::string &context, bool resume);
  ~Workspace();
  Workspace(const Workspace &) = delete;
  Workspace &operator=(const Workspace &) = delete;

  const std::string &dir() const { return dir_; }
  std::string history_path() const;
  std::string deploy_path() const;

  std::optional<BaselineRecord> cached_baseline() const;
  void store_baseline(const BaselineRecord &b);
  // The FP32 baseline's per-sample results (baseline_samples-<context hash>.json).
  std::optional<metrics::SampleResults> cached_baseline_samples() const;
  void store_baseline_samples(const metrics::SampleResults &s);

  // A trial of this context found in the history (resume), or null.
  const TrialRecord *resumed(const std::string &plan_key) const;
  size_t resumed_count() const { return resumed_.size(); }

  void begin_run(const std::string &strategy);
  void append_trial(const TrialRecord &t);
  // `threads`: OpenMP threads inference ran with (0: unknown, not written).
  // With rank groups (trial_groups > 1) the record also says how many plans
  // were evaluated ahead and not needed (`unused_ahead`; not trial lines).
  void end_run(bool goal_met, int threads = 0, int trial_groups = 1, int64_t unused_ahead = 0);

private:
  void append_line(const std::string &line);
  void load_history(bool resume);

  std::string dir_;
  int lock_fd_ = -1; // flock'ed <dir>/lock, held for the Workspace's lifetime
  std::string context_;
  std::string run_id_;
  int fd_ = -1;
  std::map<std::string, TrialRecord> resumed_;
};

// Removes "<name>.tmp.<pid>" files in `dir` whose pid is no longer running (the
// temporaries of killed writes), only names starting with `prefix`.
void remove_stale_temporaries(const std::string &dir, const std::string &prefix = "");

// Writes `text` to `path` through a temp file + fsync + rename.
void write_file_atomic(const std::string &path, const std::string &text);

// 64-bit FNV-1a of `s` as 16 hex digits: short stable keys for file names.
std::string fnv1a_hex(const std::string &s);

// FNV-1a 64 of a file's bytes, as 16 hex digits.
std::string file_hash(const std::string &path);

} // namespace qtune::tune
