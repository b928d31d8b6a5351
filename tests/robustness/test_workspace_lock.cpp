// The tuning workspace is locked by one run at a time and cleans the
// temporaries that killed runs left behind.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qtune/error.h"
#include "tune/workspace.h"

namespace fs = std::filesystem;
using qtune::tune::Workspace;

namespace {

fs::path fresh_dir(const std::string &name) {
  fs::path d = fs::temp_directory_path() / ("qtune_ws_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The pid of a process that has exited (and been reaped).
pid_t dead_pid() {
  pid_t p = fork();
  if (p == 0)
    _exit(0);
  waitpid(p, nullptr, 0);
  return p;
}

TEST(WorkspaceLock, SecondRunOnOneWorkspaceFailsNamingTheFirst) {
  fs::path d = fresh_dir("lock");
  auto first = std::make_unique<Workspace>(d.string(), "ctx", false);
  try {
    Workspace second(d.string(), "ctx", false);
    FAIL() << "a second Workspace on " << d << " was opened";
  } catch (const qtune::InputError &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(d.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("in use by another qtune process (pid " + std::to_string(getpid())),
              std::string::npos)
        << msg;
  }
  first.reset(); // released: the next run gets it
  EXPECT_NO_THROW(Workspace(d.string(), "ctx", false));
  fs::remove_all(d);
}

TEST(WorkspaceLock, StaleTemporariesOfDeadProcessesAreRemoved) {
  fs::path d = fresh_dir("stale");
  std::string dead = std::to_string(dead_pid()), alive = std::to_string(getppid());
  for (const std::string &name :
       {"calibration-ab.json.tmp." + dead, "baseline_cache.json.tmp." + dead,
        "calibration-ab.json.tmp." + alive, std::string("notes.tmp"), std::string("keep.txt")})
    std::ofstream(d / name) << "x";
  { Workspace ws(d.string(), "ctx", false); }
  EXPECT_FALSE(fs::exists(d / ("calibration-ab.json.tmp." + dead)));
  EXPECT_FALSE(fs::exists(d / ("baseline_cache.json.tmp." + dead)));
  EXPECT_TRUE(fs::exists(d / ("calibration-ab.json.tmp." + alive))); // its writer still runs
  EXPECT_TRUE(fs::exists(d / "notes.tmp"));                          // not ours
  EXPECT_TRUE(fs::exists(d / "keep.txt"));
  fs::remove_all(d);
}

TEST(WorkspaceLock, OnlyTheOutputsOwnTemporariesAreRemovedBesideIt) {
  fs::path d = fresh_dir("out");
  std::string dead = std::to_string(dead_pid());
  std::ofstream(d / ("m_int8.onnx.tmp." + dead)) << "x";
  std::ofstream(d / ("other.onnx.tmp." + dead)) << "x";
  qtune::tune::remove_stale_temporaries(d.string(), "m_int8.onnx.tmp.");
  EXPECT_FALSE(fs::exists(d / ("m_int8.onnx.tmp." + dead)));
  EXPECT_TRUE(fs::exists(d / ("other.onnx.tmp." + dead)));
  fs::remove_all(d);
}

} // namespace
