#pragma once
// TensorFlow 1.x control flow in the flat IR.
//
// The importer emits TF's dataflow control flow as it is: tf:Enter, tf:Merge,
// tf:Switch, tf:LoopCond, tf:NextIteration and tf:Exit nodes, with cycles
// (NextIteration -> Merge). build_while_loops() turns every while frame into
// one acyclic `tf:While` node:
//
//   inputs  = [initial values of the n loop variables (non-constant Enters),
//              loop invariants (is_constant Enters),
//              outer values the frame reads directly (captures)]
//   outputs = one per loop variable: the value leaving through its Exit (the
//             Exit's name, so consumers are unchanged), "" when it has none
//   attrs   = cond (Graph: all inputs -> bool scalar), body (Graph: all inputs
//             -> the n next loop variables), num_loop_vars (int), frame_name
//
// Both sub-graphs are closed: their inputs are named like the While node's
// inputs in order (loop variable i takes the name of its Merge output,
// invariants the Enter output, captures the outer name) and they read no outer
// value; initializers they need are copied in. Nested frames are converted
// innermost first, so an outer body holds the inner loop as a tf:While node.
// tf.cond (Switch/Merge whose predicate is not a LoopCond) stays as tf:Switch
// and tf:Merge nodes, which the executor runs with dead-tensor semantics.
#include "ir/graph.h"

namespace qtune::tf {

// Rewrites g in place (g need not be toposorted and may contain cycles).
// Throws InputError naming the node for a cycle outside a while frame or a
// malformed frame (Merge without inputs, no LoopCond, Exit outside a frame ...).
void build_while_loops(Graph &g);

} // namespace qtune::tf
