#include "runtime/omp_team.h"

#include <omp.h>

namespace qtune {

int omp_team_size() {
  int n = 0;
#pragma omp parallel
  {
#pragma omp single
    n = omp_get_num_threads();
  }
  return n;
}

} // namespace qtune
