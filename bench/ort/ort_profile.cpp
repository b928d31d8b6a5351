// ort_profile MODEL THREADS RUNS PREFIX: ONNX Runtime's own per-node profile of
// RUNS runs (after 5 untimed ones) of a model with one float input, random
// data; ORT writes PREFIX_<date>.json when the session is released. Built and
// summarised by bench/ort_profile.sh (the binding to ORT's function table is
// ../shared/peers/ort_abi.h; OrtApi slot 14 is EnableProfiling, the member
// after SetSessionExecutionMode, 13). Benchmarks only: qtune never links ORT.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "ort_abi.h"

using namespace ortabi;

namespace {

void check(St s, const char *what) {
  if (s) {
    std::fprintf(stderr, "ort_profile: %s: %s\n", what, GetErrorMessage(s));
    std::exit(1);
  }
}

St enable_profiling(SessionOptions *o, const char *prefix) {
  return slot<St (*)(SessionOptions *, const char *)>(14)(o, prefix);
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: ort_profile MODEL THREADS RUNS PREFIX\n");
    return 2;
  }
  if (!init()) {
    std::fprintf(stderr, "ort_profile: no ORT API version %u\n", kApiVersion);
    return 1;
  }
  Env *env = nullptr;
  check(CreateEnv(LOG_ERROR, "ort_profile", &env), "CreateEnv");
  SessionOptions *opt = nullptr;
  check(CreateSessionOptions(&opt), "CreateSessionOptions");
  check(SetIntraOpNumThreads(opt, std::atoi(argv[2])), "SetIntraOpNumThreads");
  check(SetInterOpNumThreads(opt, 1), "SetInterOpNumThreads");
  check(SetSessionExecutionMode(opt, EXEC_SEQUENTIAL), "SetSessionExecutionMode");
  check(SetSessionGraphOptimizationLevel(opt, OPT_ALL), "SetSessionGraphOptimizationLevel");
  check(enable_profiling(opt, argv[4]), "EnableProfiling");
  Session *sess = nullptr;
  check(CreateSession(env, argv[1], opt, &sess), "CreateSession");

  Allocator *alloc = nullptr;
  check(GetAllocatorWithDefaultOptions(&alloc), "GetAllocatorWithDefaultOptions");
  char *in_name = nullptr, *out_name = nullptr;
  check(SessionGetInputName(sess, 0, alloc, &in_name), "SessionGetInputName");
  check(SessionGetOutputName(sess, 0, alloc, &out_name), "SessionGetOutputName");
  TypeInfo *ti = nullptr;
  const TensorInfo *info = nullptr;
  check(SessionGetInputTypeInfo(sess, 0, &ti), "SessionGetInputTypeInfo");
  check(CastTypeInfoToTensorInfo(ti, &info), "CastTypeInfoToTensorInfo");
  size_t rank = 0;
  check(GetDimensionsCount(info, &rank), "GetDimensionsCount");
  std::vector<int64_t> dims(rank);
  check(GetDimensions(info, dims.data(), rank), "GetDimensions");
  size_t n = 1;
  for (int64_t &d : dims)
    n *= static_cast<size_t>(d = d > 0 ? d : 1);
  std::vector<float> data(n);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (float &v : data)
    v = u(rng);
  MemoryInfo *mi = nullptr;
  check(CreateCpuMemoryInfo(ALLOC_ARENA, MEM_DEFAULT, &mi), "CreateCpuMemoryInfo");
  Value *input = nullptr;
  check(CreateTensorWithDataAsOrtValue(mi, data.data(), n * sizeof(float), dims.data(), rank,
                                       T_FLOAT, &input),
        "CreateTensorWithDataAsOrtValue");
  const int runs = 5 + std::atoi(argv[3]);
  for (int r = 0; r < runs; ++r) {
    Value *out = nullptr;
    check(Run(sess, nullptr, &in_name, &input, 1, &out_name, 1, &out), "Run");
    ReleaseValue(out);
  }
  ReleaseValue(input);
  ReleaseMemoryInfo(mi);
  ReleaseTypeInfo(ti);
  ReleaseSession(sess); // writes the profile
  ReleaseSessionOptions(opt);
  ReleaseEnv(env);
  return 0;
}
