#pragma once
// How many threads an OpenMP parallel region entered now, on the calling
// thread, gets. The executor sets the thread count (omp_set_num_threads) on the
// thread that calls run() and it stays set there, so right after a run this is
// the team its kernels had: what callers report as the threads really used.
namespace qtune {

int omp_team_size();

} // namespace qtune
