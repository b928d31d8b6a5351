#pragma once
// The OpenMP thread count of the calling thread set for one scope (kernel
// tests that run the same case on 1 and 2 threads), restored on exit.
#include <omp.h>

namespace qtune::test {

class ThreadsScope {
public:
  explicit ThreadsScope(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ThreadsScope() { omp_set_num_threads(saved_); }
  ThreadsScope(const ThreadsScope &) = delete;
  ThreadsScope &operator=(const ThreadsScope &) = delete;

private:
  int saved_;
};

} // namespace qtune::test
