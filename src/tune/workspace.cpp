#include "tune/workspace.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <unistd.h>

#include "qtune/error.h"

namespace qtune::tune {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void write_all(int fd, const std::string &text, const std::string &path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw Error(path + ": write failed: " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool all_digits(const std::string &s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// One tuning run per workspace: two would race on the baseline cache and the
// calibration files. The lock file holds the owner's pid for the message.
int lock_workspace(const std::string &dir) {
  std::string path = (fs::path(dir) / "lock").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error(path + ": cannot open the workspace lock: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string owner = read_file(path);
    ::close(fd);
    owner.erase(owner.find_last_not_of(" \n") + 1);
    if (err == EWOULDBLOCK)
      throw InputError(dir + ": workspace is in use by another qtune process (pid " +
                       (all_digits(owner) ? owner : "unknown") +
                       "); wait for it to finish or choose another workspace");
    throw Error(path + ": cannot lock the workspace: " + std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is only for other runs' messages; the lock itself holds.
  }
  return fd;
}

} // namespace

void remove_stale_temporaries(const std::string &dir, const std::string &prefix) {
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    size_t p = name.rfind(".tmp.");
    if (p == std::string::npos || name.compare(0, prefix.size(), prefix) != 0)
      continue;
    std::string pid = name.substr(p + 5);
    if (!all_digits(pid) || pid.size() > 9)
      continue;
    pid_t owner = static_cast<pid_t>(std::stol(pid));
    std::error_code rec;
    if (owner != ::getpid() && ::kill(owner, 0) != 0 && errno == ESRCH && e.is_regular_file(rec))
      fs::remove(e.path(), rec);
  }
}

void write_file_atomic(const std::string &path, const std::string &text) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    throw Error(tmp + ": cannot create: " + std::strerror(errno));
  try {
    write_all(fd, text, tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw Error(path + ": cannot rename temp file into place: " + std::strerror(errno));
  }
}

std::string file_hash(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(path + ": cannot open");
  uint64_t h = 1469598103934665603ull;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof(buf));
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 1099511628211ull;
    }
  }
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(h));
  return out;
}

Workspace::Workspace(const std::string &dir, const std::string &context, bool resume)
    : dir_(dir), context_(context) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    throw InputError(dir_ + ": cannot create workspace folder: " + ec.message());
  lock_fd_ = lock_workspace(dir_);
  remove_stale_temporaries(dir_);
  load_history(resume);
  fd_ = ::open(history_path().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd_ < 0)
    throw Error(history_path() + ": cannot open: " + std::strerror(errno));
  // A run killed in the middle of a write leaves a partial last line: end it so
  // our next line starts clean (the partial one is skipped when reading).
  auto size = fs::file_size(history_path(), ec);
  if (!ec && size > 0) {
    std::ifstream in(history_path(), std::ios::binary);
    in.seekg(static_cast<std::streamoff>(size - 1));
    if (in.get() != '\n')
      write_all(fd_, "\n", history_path());
  }
}

Workspace::~Workspace() {
  if (fd_ >= 0)
    ::close(fd_);
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
}

std::string Workspace::history_path() const {
  return (fs::path(dir_) / "history.jsonl").string();
}
std::string Workspace::deploy_path() const {
  return (fs::path(dir_) / "deploy.yaml").string();
}

void Workspace::load_history(bool resume) {
  std::ifstream in(history_path());
  if (!in)
    return;
  std::string line;
  bool last_run_ended = true;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("event"))
      continue; // partial line
    if (j.value("context", "") != context_)
      continue;
    std::string ev = j["event"];
    if (ev == "start") {
      if (!resume && last_run_ended)
        resumed_.clear();
      last_run_ended = false;
    } else if (ev == "end") {
      last_run_ended = true;
    } else if (ev == "trial") {
      TrialRecord t;
      t.key = j["key"];
      t.plan = TunePlan::from_json(j["plan"]);
      t.accuracy = j["accuracy"];
      t.objective = j["objective"];
      t.seconds = j["seconds"];
      if (j.contains("ci_low")) {
        t.interval.valid = true;
        t.interval.loss = j.value("loss", 0.0);
        t.interval.low = j["ci_low"];
        t.interval.high = j["ci_high"];
        t.interval.confidence = j.value("confidence", 0.9);
        t.interval.resamples = j.value("resamples", 0);
        t.interval.samples = j.value("samples", size_t(0));
      }
      resumed_[t.key] = std::move(t);
    }
  }
  if (!resume && last_run_ended)
    resumed_.clear();
}

const TrialRecord *Workspace::resumed(const std::string &plan_key) const {
  auto it = resumed_.find(plan_key);
  return it == resumed_.end() ? nullptr : &it->second;
}

std::optional<BaselineRecord> Workspace::cached_baseline() const {
  std::string path = (fs::path(dir_) / "baseline_cache.json").string();
  if (!fs::exists(path))
    return std::nullopt;
  json j = json::parse(read_file(path), nullptr, false);
  if (j.is_discarded() || !j.contains(context_))
    return std::nullopt;
  return BaselineRecord{j[context_]["accuracy"], j[context_]["objective"]};
}

void Workspace::store_baseline(const BaselineRecord &b) {
  std::string path = (fs::path(dir_) / "baseline_cache.json").string();
  json j = json::object();
  if (fs::exists(path)) {
    j = json::parse(read_file(path), nullptr, false);
    if (j.is_discarded() || !j.is_object())
      j = json::object();
  }
  j[context_] = {{"accuracy", b.accuracy}, {"objective", b.objective}};
  write_file_atomic(path, j.dump(2) + "\n");
}

void Workspace::append_line(const std::string &line) {
  write_all(fd_, line + "\n", history_path());
  ::fsync(fd_);
}

void Workspace::begin_run(const std::string &strategy) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  run_id_ = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) +
            "-" + std::to_string(::getpid());
  append_line(
      json{{"event", "start"}, {"run", run_id_}, {"context", context_}, {"strategy", strategy}}
          .dump());
}

void Workspace::append_trial(const TrialRecord &t) {
  json j{{"event", "trial"},         {"run", run_id_},
         {"context", context_},      {"key", t.key},
         {"plan", t.plan.to_json()}, {"accuracy", t.accuracy},
         {"objective", t.objective}, {"seconds", t.seconds}};
  if (t.interval.valid) {
    // Loss in the criterion's units (relative fraction or absolute) and its
    // paired-bootstrap interval at `confidence` (tune/bootstrap.h).
    j["loss"] = t.interval.loss;
    j["ci_low"] = t.interval.low;
    j["ci_high"] = t.interval.high;
    j["confidence"] = t.interval.confidence;
    j["resamples"] = t.interval.resamples;
    j["samples"] = t.interval.samples;
  }
  append_line(j.dump());
}

std::string fnv1a_hex(const std::string &s) {
  uint64_t h = 1469598103934665603ull;
  for (char ch : s)
    h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::optional<metrics::SampleResults> Workspace::cached_baseline_samples() const {
  std::string path =
      (fs::path(dir_) / ("baseline_samples-" + fnv1a_hex(context_) + ".json")).string();
  if (!fs::exists(path))
    return std::nullopt;
  json j = json::parse(read_file(path), nullptr, false);
  if (j.is_discarded())
    return std::nullopt;
  try {
    return metrics::sample_results_from_json(j, path);
  } catch (const InputError &) {
    return std::nullopt; // unreadable cache: the baseline is evaluated again
  }
}

void Workspace::store_baseline_samples(const metrics::SampleResults &s) {
  std::string path =
      (fs::path(dir_) / ("baseline_samples-" + fnv1a_hex(context_) + ".json")).string();
  write_file_atomic(path, metrics::to_json(s).dump() + "\n");
}

void Workspace::end_run(bool goal_met, int threads, int trial_groups, int64_t unused_ahead) {
  json j{{"event", "end"}, {"run", run_id_}, {"context", context_}, {"goal_met", goal_met}};
  if (threads > 0)
    j["threads"] = threads;
  if (trial_groups > 1) { // evaluated ahead but not needed: counted here, not as trials
    j["trial_groups"] = trial_groups;
    j["unused_ahead"] = unused_ahead;
  }
  append_line(j.dump());
}

} // namespace qtune::tune
