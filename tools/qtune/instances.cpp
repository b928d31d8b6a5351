#include "instances.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qtune/error.h"

namespace qtune::cli {

std::vector<int> usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0)
    return {0};
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set))
      cpus.push_back(c);
  return cpus;
}

namespace {

struct Child {
  pid_t pid = -1;
  int out_fd = -1;
};

// In the forked child: pin, set the OpenMP thread count, become `self args`.
[[noreturn]] void exec_instance(const std::vector<std::string> &args, const std::vector<int> &cpus,
                                int out_fd) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus)
    CPU_SET(c, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0)
    _exit(125);
  setenv("OMP_NUM_THREADS", std::to_string(cpus.size()).c_str(), 1);
  dup2(out_fd, STDOUT_FILENO);
  std::vector<char *> argv;
  static char self[] = "/proc/self/exe";
  argv.push_back(self);
  for (const std::string &a : args)
    argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  execv(self, argv.data());
  _exit(126);
}

std::string read_all(int fd) {
  std::string s;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    s.append(buf, static_cast<size_t>(n));
  }
  return s;
}

} // namespace

std::vector<InstanceRun> run_instances(const std::vector<std::string> &args, int instances,
                                       int cores) {
  std::vector<int> cpus = usable_cpus();
  if (instances < 1 || cores < 1)
    throw InputError("--instances and --cores-per-instance must be >= 1");
  if (static_cast<size_t>(instances) * cores > cpus.size())
    throw InputError(fmt::format("{} instances x {} cores need {} CPUs, this process may use {}",
                                 instances, cores, instances * cores, cpus.size()));
  std::fflush(stdout);
  std::fflush(stderr);
  std::vector<InstanceRun> runs(instances);
  std::vector<Child> children(instances);
  for (int k = 0; k < instances; ++k) {
    runs[k].instance = k;
    runs[k].cpus.assign(cpus.begin() + k * cores, cpus.begin() + (k + 1) * cores);
    int fds[2];
    if (pipe(fds) != 0)
      throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      exec_instance(args, runs[k].cpus, fds[1]);
    }
    close(fds[1]);
    if (pid < 0)
      throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
    children[k] = {pid, fds[0]};
  }
  // One short JSON line each: reading the pipes in order cannot block a child.
  for (int k = 0; k < instances; ++k) {
    runs[k].stdout_text = read_all(children[k].out_fd);
    close(children[k].out_fd);
    int status = 0;
    while (waitpid(children[k].pid, &status, 0) < 0 && errno == EINTR) {
    }
    runs[k].exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return runs;
}

namespace {

bool machine_busy() {
  const double cpus = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  double load1 = 0;
  std::ifstream("/proc/loadavg") >> load1;
  std::ifstream stat("/proc/stat");
  std::string key;
  long running = 0;
  while (stat >> key) {
    if (key == "procs_running") {
      stat >> running;
      break;
    }
    stat.ignore(1 << 16, '\n');
  }
  return load1 > cpus || static_cast<double>(running - 1) > cpus; // minus ourselves
}

} // namespace

void tune_omp_environment(int argc, char **argv) {
  const char *keep = std::getenv("QTUNE_OMP_SPIN");
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT") ||
      (keep && std::string(keep) == "keep") || !machine_busy())
    return;
  setenv("GOMP_SPINCOUNT", "1000", 1);
  setenv("QTUNE_OMP_SPIN", "keep", 1); // once
  execv("/proc/self/exe", argv);
  // exec failed: run on with the default spinning (libgomp has read its env already)
}

} // namespace qtune::cli
