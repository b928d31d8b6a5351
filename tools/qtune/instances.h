#pragma once
// Multi-instance benchmarking as LPOT does it: N separate processes (this
// executable re-run with the same benchmark arguments), instance k pinned with
// sched_setaffinity to its own `cores` CPUs of the ones we may use, each
// printing one JSON object that the parent collects. And the OpenMP
// environment every qtune process starts with (omp_env).
#include <string>
#include <vector>

namespace qtune::cli {

struct InstanceRun {
  int instance = 0;
  std::vector<int> cpus;
  int exit_code = 0;
  std::string stdout_text; // the child's --json line
};

// The CPUs this process may run on (sched_getaffinity), ascending.
std::vector<int> usable_cpus();

// Starts `instances` children `self args...` at once, each with its CPU
// set and OMP_NUM_THREADS = cores, and waits for all. Throws InputError when
// instances * cores exceeds the usable CPUs.
std::vector<InstanceRun> run_instances(const std::vector<std::string> &args, int instances,
                                       int cores);

// Before anything starts OpenMP: when the user set neither OMP_WAIT_POLICY nor
// GOMP_SPINCOUNT and the machine is busy (more runnable tasks or 1-minute
// load than CPUs), re-executes this program with GOMP_SPINCOUNT=1000, a short
// spin before libgomp's threads sleep (its default spins ~300000 times, which
// on a loaded 2-core machine made a 0.6 ms int8 op take 50 ms). libgomp reads
// the variable once at load, hence the re-exec. QTUNE_OMP_SPIN=keep turns
// this off. Returns only when no re-exec happened.
void tune_omp_environment(int argc, char **argv);

} // namespace qtune::cli
