#pragma once
// Small helpers shared by the passes.
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace qtune::passes {

// Removes nodes whose flag is set, keeping the order of the rest.
void erase_nodes(Graph &g, const std::vector<bool> &dead);

// The only consumer of `value`, or -1 if it has none, several, or is a graph output.
int single_consumer(const Graph &g,
                    const std::unordered_map<std::string, std::vector<size_t>> &consumers,
                    const std::string &value);

// Static shape of a value when known (initializer, input, inferred value_info).
std::optional<Shape> known_shape(const Graph &g, const std::string &value);
// The same without the declared graph outputs (nothing checks those at run
// time): for passes that turn a shape into data.
std::optional<Shape> inferred_shape(const Graph &g, const std::string &value);

// A new initializer holding `t`, named after `hint`; returns its name.
std::string add_initializer(Graph &g, const std::string &hint, Tensor t);

} // namespace qtune::passes
