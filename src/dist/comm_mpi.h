#pragma once
// The OpenMPI side of dist/comm.h (comm_mpi.cpp; without MPI the functions
// report that no job is there). Internal to src/dist/.
#include <memory>

#include "dist/comm.h"

namespace qtune::dist {

// MPI_COMM_WORLD when this process was started by mpirun (and the build has
// MPI), else null.
std::unique_ptr<Comm> join_mpi_job(int *argc, char ***argv);
// MPI_Finalize if joined.
void leave_mpi_job();

} // namespace qtune::dist
