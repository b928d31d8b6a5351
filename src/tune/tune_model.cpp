#include "tune/tune_model.h"

#include <string>

#include "qtune/error.h"
#include "tune/model_backend.h"

namespace qtune::tune {

TuneResult tune_model(const Config &c, const TuneOptions &o) {
  if (c.model.path.empty())
    throw InputError(c.file + ": no model file: give --model or 'model.path' in the YAML");
  if (o.progress)
    std::fprintf(o.progress, "[load] %s (inference threads: %s)\n", c.model.path.c_str(),
                 o.threads > 0 ? std::to_string(o.threads).c_str() : "all cores");
  ModelBackendSetup setup;
  setup.config = &c;
  setup.fp32 = load_model_file(c.model.path, load_options(c.model));
  setup.model_path = c.model.path;
  setup.progress = o.progress;
  setup.threads = o.threads;
  auto backend = make_model_backend(setup);
  return run_tuning(c, *backend, o);
}

} // namespace qtune::tune
