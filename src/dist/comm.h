#pragma once
// Scale-out seam (issue 15): the few collective operations distributed
// evaluation and tuning need, behind one interface. Built with OpenMPI
// (CMake QTUNE_MPI) and launched by `mpirun`, world() is MPI_COMM_WORLD;
// otherwise, or when started without mpirun, it is one process of rank 0 and
// every operation is the identity, so callers never branch on MPI being there.
// Payloads are byte strings (dist/bytes.h writes and reads them).
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace qtune::dist {

enum class ReduceOp { sum, min, max };

class Comm {
public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }
  virtual void barrier() = 0;
  // Every rank ends with the root's `data`.
  virtual void broadcast(std::string &data, int root = 0) = 0;
  // The root gets every rank's `data` in rank order; the others get nothing.
  virtual std::vector<std::string> gather(const std::string &data, int root = 0) = 0;
  // Element-wise over ranks, result on every rank.
  virtual void allreduce(std::span<double> values, ReduceOp op) = 0;
  // Collective: the ranks passing the same `color` form a new communicator,
  // ranked by `key` (MPI_Comm_split). Used for rank groups that each evaluate
  // their own tuning trial.
  virtual std::unique_ptr<Comm> split(int color, int key) = 0;
};

// The process's communicator (single-process unless init() joined an MPI job).
Comm &world();
// Joins the MPI job when the process was started by mpirun and qtune was built
// with MPI; otherwise nothing. Call once, before threads start.
void init(int *argc, char ***argv);
// Leaves the MPI job after a successful run (collective: every rank must call it).
void finalize();
// Whether this build can join an MPI job.
bool built_with_mpi();

// Contiguous shard of `items` for `rank` of `size`, cut on multiples of `unit`
// (the batch size, so batches are the ones one process would form): [begin, end).
struct Range {
  size_t begin = 0, end = 0;
};
Range shard(size_t items, size_t unit, int rank, int size);

// The rank group of `rank` when `size` ranks form `groups` groups of
// consecutive ranks (sizes differ by at most one; group 0 holds rank 0).
int group_of(int rank, int size, int groups);

} // namespace qtune::dist
