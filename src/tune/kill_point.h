#pragma once
// Crash-safety test hook (issue 13): with QTUNE_KILL_AT=<point>:<n> in the
// environment, the process SIGKILLs itself the n-th time it passes
// kill_point("<point>"), so a test can stop `qtune tune` at an exact place
// (a baseline or trial evaluation batch, a calibration batch, between writing
// the output model's temporary and renaming it) instead of guessing from
// timings. Without the variable a call is one relaxed atomic load.

namespace qtune::tune {

// Points: "evaluate-batch", "calibrate-batch", "model-write".
void kill_point(const char *point);

} // namespace qtune::tune
