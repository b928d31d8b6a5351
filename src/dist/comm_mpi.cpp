#include "dist/comm_mpi.h"

#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>

#include "qtune/error.h"

#ifdef QTUNE_WITH_MPI
#include <mpi.h>
#endif

namespace qtune::dist {

#ifndef QTUNE_WITH_MPI

bool built_with_mpi() {
  return false;
}
std::unique_ptr<Comm> join_mpi_job(int *, char ***) {
  if (std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK"))
    throw InputError("started by mpirun, but this qtune was built without MPI (configure with "
                     "-DQTUNE_MPI=ON and install libopenmpi-dev)");
  return nullptr;
}
void leave_mpi_job() {}

#else

bool built_with_mpi() {
  return true;
}

namespace {

bool joined = false;

void check(int rc, const char *what) {
  if (rc != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(rc, text, &n);
    throw Error(std::string("MPI ") + what + " failed: " + std::string(text, n));
  }
}

// Waits for a non-blocking collective with short sleeps instead of OpenMPI's
// busy polling: an idle rank (rank 0 measuring latency, ranks done with their
// shard) must not take a core from the ranks still computing, and ranks are
// often oversubscribed on the cores they share.
void wait(MPI_Request &request, const char *what) {
  auto pause = std::chrono::microseconds(20);
  for (;;) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
    if (done)
      return;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(2000));
  }
}

int checked_count(size_t n, const char *what) {
  if (n > static_cast<size_t>(INT_MAX))
    throw Error(std::string("MPI ") + what + ": message of " + std::to_string(n) +
                " bytes is over 2 GiB");
  return static_cast<int>(n);
}

class MpiComm : public Comm {
public:
  // `owned`: a communicator split off (freed with this object), not the world.
  explicit MpiComm(MPI_Comm comm, bool owned = false) : comm_(comm), owned_(owned) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiComm() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owned_ && !finalized)
      MPI_Comm_free(&comm_);
  }
  MpiComm(const MpiComm &) = delete;
  MpiComm &operator=(const MpiComm &) = delete;
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void barrier() override {
    MPI_Request r;
    check(MPI_Ibarrier(comm_, &r), "barrier");
    wait(r, "barrier");
  }

  void broadcast(std::string &data, int root) override {
    uint64_t n = data.size();
    MPI_Request r;
    check(MPI_Ibcast(&n, 1, MPI_UINT64_T, root, comm_, &r), "broadcast");
    wait(r, "broadcast");
    data.resize(n);
    check(MPI_Ibcast(data.data(), checked_count(n, "broadcast"), MPI_BYTE, root, comm_, &r),
          "broadcast");
    wait(r, "broadcast");
  }

  std::vector<std::string> gather(const std::string &data, int root) override {
    int n = checked_count(data.size(), "gather");
    std::vector<int> counts(rank_ == root ? size_ : 0);
    MPI_Request r;
    check(MPI_Igather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm_, &r), "gather");
    wait(r, "gather");
    std::vector<int> offsets(counts.size());
    size_t total = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      offsets[i] = checked_count(total, "gather");
      total += static_cast<size_t>(counts[i]);
    }
    checked_count(total, "gather");
    std::string all(total, '\0');
    check(MPI_Igatherv(data.data(), n, MPI_BYTE, all.data(), counts.data(), offsets.data(),
                       MPI_BYTE, root, comm_, &r),
          "gather");
    wait(r, "gather");
    std::vector<std::string> out;
    for (size_t i = 0; i < counts.size(); ++i)
      out.push_back(all.substr(static_cast<size_t>(offsets[i]), static_cast<size_t>(counts[i])));
    return out;
  }

  std::unique_ptr<Comm> split(int color, int key) override {
    MPI_Comm part;
    check(MPI_Comm_split(comm_, color, key, &part), "split"); // once per run: blocking is fine
    return std::make_unique<MpiComm>(part, true);
  }

  void allreduce(std::span<double> values, ReduceOp op) override {
    MPI_Op mop = op == ReduceOp::sum ? MPI_SUM : op == ReduceOp::min ? MPI_MIN : MPI_MAX;
    MPI_Request r;
    check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), checked_count(values.size(), "allreduce"),
                         MPI_DOUBLE, mop, comm_, &r),
          "allreduce");
    wait(r, "allreduce");
  }

private:
  MPI_Comm comm_;
  bool owned_ = false;
  int rank_ = 0, size_ = 1;
};

} // namespace

std::unique_ptr<Comm> join_mpi_job(int *argc, char ***argv) {
  // Only under a launcher: a plain `qtune` run must not pay for (or print
  // from) an MPI singleton start.
  if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("PMIX_RANK"))
    return nullptr;
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "init");
  joined = true;
  return std::make_unique<MpiComm>(MPI_COMM_WORLD);
}

void leave_mpi_job() {
  if (joined)
    MPI_Finalize();
  joined = false;
}

#endif

} // namespace qtune::dist
