#include "dist/comm.h"

#include <algorithm>
#include <cstdint>
#include <memory>

#include "dist/comm_mpi.h"

namespace qtune::dist {

namespace {

// One process: rank 0 of 1; every collective returns its own input.
class LocalComm : public Comm {
public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void barrier() override {}
  void broadcast(std::string &, int) override {}
  std::vector<std::string> gather(const std::string &data, int) override { return {data}; }
  void allreduce(std::span<double>, ReduceOp) override {}
  std::unique_ptr<Comm> split(int, int) override { return std::make_unique<LocalComm>(); }
};

std::unique_ptr<Comm> &current() {
  static std::unique_ptr<Comm> comm = std::make_unique<LocalComm>();
  return comm;
}

} // namespace

Comm &world() {
  return *current();
}

void init(int *argc, char ***argv) {
  if (std::unique_ptr<Comm> mpi = join_mpi_job(argc, argv))
    current() = std::move(mpi);
}

void finalize() {
  leave_mpi_job();
  current() = std::make_unique<LocalComm>();
}

Range shard(size_t items, size_t unit, int rank, int size) {
  unit = unit == 0 ? 1 : unit;
  const size_t units = (items + unit - 1) / unit;
  const size_t n = static_cast<size_t>(size), r = static_cast<size_t>(rank);
  Range out;
  out.begin = std::min(items, units * r / n * unit);
  out.end = std::min(items, units * (r + 1) / n * unit);
  return out;
}

int group_of(int rank, int size, int groups) {
  return static_cast<int>(static_cast<int64_t>(rank) * groups / size);
}

} // namespace qtune::dist
