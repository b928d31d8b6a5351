// TF 1.x while frames -> tf:While nodes with cond/body sub-graphs (see the
// header for the node's form).
//
// Frames are found the way TensorFlow's executor propagates them: an Enter
// moves into its frame, an Exit back to the frame's parent, and every other
// node lives in the innermost frame among its inputs. The importer drops
// control inputs, so constants that TF kept inside a frame through a control
// edge arrive as initializers (usable anywhere) and a node computed only from
// constants lands in the enclosing frame; a frame reading such outer values
// captures them as inputs. A frame's parent is therefore the innermost frame
// its Enters read from, found by iterating to a fixed point.
#include "frontends/tensorflow/tf_control_flow.h"

#include <algorithm>
#include <fmt/format.h>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "qtune/error.h"

namespace qtune::tf {

namespace {

constexpr int kRoot = 0;

ValueInfo named(const std::string &name) {
  ValueInfo vi;
  vi.name = name;
  return vi;
}

bool is_tf(const Node &n, std::string_view op) {
  return n.domain == "tf" && n.op_type == op;
}

std::string prefix(const Graph &g) {
  return g.source.empty() ? "" : g.source + ": ";
}

[[noreturn]] void fail(const Graph &g, const Node &n, const std::string &what) {
  throw InputError(fmt::format("{}{}: {}", prefix(g), n.describe(), what));
}

// While frames by name; 0 is the top level.
struct Frames {
  std::vector<std::string> name{""};
  std::vector<int> parent{-1};
  std::unordered_map<std::string, int> id;

  int get(const std::string &n) {
    auto it = id.find(n);
    if (it != id.end())
      return it->second;
    name.push_back(n);
    parent.push_back(kRoot);
    return id[n] = static_cast<int>(name.size()) - 1;
  }
  // True when `outer` is `f` or one of its ancestors.
  bool encloses(int outer, int f) const {
    for (; f >= 0; f = parent[f])
      if (f == outer)
        return true;
    return false;
  }
  int depth(int f) const {
    int d = 0;
    for (; f > kRoot; f = parent[f])
      ++d;
    return d;
  }
  std::string label(int f) const {
    return f == kRoot ? "the top level" : fmt::format("while frame '{}'", name[f]);
  }
  // The inner one of two nested frames (the deeper one if they are unrelated;
  // validate() reports that case once the parents are final).
  int inner(int a, int b) const {
    if (encloses(a, b))
      return b;
    if (encloses(b, a))
      return a;
    return depth(a) >= depth(b) ? a : b;
  }
};

struct Analysis {
  Frames frames;
  std::vector<int> frame; // per node
  std::unordered_map<std::string, size_t> producer;

  // Frame of the node producing `v` (initializers and graph inputs: top level).
  int frame_of_value(const std::string &v) const {
    auto it = producer.find(v);
    return it == producer.end() ? kRoot : frame[it->second];
  }
};

void check_arity(const Graph &g) {
  for (const Node &n : g.nodes) {
    if (n.domain != "tf")
      continue;
    if (n.op_type == "Merge" && n.num_inputs() == 0)
      fail(g, n, "has no inputs");
    if (n.op_type == "Switch" && (n.num_inputs() != 2 || n.inputs[0].empty()))
      fail(g, n, "needs a data input and a predicate input");
    bool unary = n.op_type == "Enter" || n.op_type == "Exit" || n.op_type == "NextIteration" ||
                 n.op_type == "LoopCond";
    if (unary && (n.num_inputs() != 1 || n.inputs[0].empty()))
      fail(g, n, "needs exactly one input");
    if (unary && n.outputs.empty())
      fail(g, n, "has no output");
    if (n.op_type == "Enter" && n.attr_string("frame_name", "").empty())
      fail(g, n, "has no frame_name");
  }
}

// A node on a cycle among the nodes frame propagation could not reach.
size_t node_on_cycle(const Graph &g, size_t i, const std::vector<int> &frame,
                     const std::unordered_map<std::string, size_t> &prod) {
  std::unordered_set<size_t> seen;
  while (seen.insert(i).second) {
    for (const std::string &in : g.nodes[i].inputs) {
      auto it = prod.find(in);
      if (it != prod.end() && frame[it->second] < 0) {
        i = it->second;
        break;
      }
    }
  }
  return i;
}

[[noreturn]] void fail_cycle(const Graph &g, const Node &n) {
  fail(g, n, "graph has a cycle through this node outside any while frame");
}

// One propagation of frames over the (possibly cyclic) graph with the current
// frame parents: Kahn's order, where a Merge is ready once any input is known
// (its NextIteration input closes the loop later).
std::vector<int> assign_frames(const Graph &g, Frames &fr,
                               const std::unordered_map<std::string, size_t> &prod) {
  size_t n = g.nodes.size();
  std::vector<std::vector<size_t>> users(n);
  std::vector<int> pending(n, 0);
  for (size_t i = 0; i < n; ++i)
    for (const std::string &in : g.nodes[i].inputs) {
      auto it = prod.find(in);
      if (in.empty() || it == prod.end())
        continue;
      users[it->second].push_back(i);
      pending[i]++;
    }
  std::vector<int> frame(n, -1);
  std::vector<bool> queued(n, false);
  std::vector<size_t> queue;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) {
      queue.push_back(i);
      queued[i] = true;
    }
  auto input_frame = [&](const std::string &v) {
    auto it = prod.find(v);
    return v.empty() ? -1 : it == prod.end() ? kRoot : frame[it->second];
  };
  for (size_t q = 0; q < queue.size(); ++q) {
    size_t i = queue[q];
    const Node &node = g.nodes[i];
    int f = kRoot;
    if (is_tf(node, "Enter")) {
      f = fr.get(node.attr_string("frame_name", ""));
    } else if (is_tf(node, "Exit")) {
      int x = input_frame(node.inputs[0]);
      if (x == kRoot)
        fail(g, node, fmt::format("'{}' is not inside a while frame", node.inputs[0]));
      f = fr.parent[x];
    } else {
      for (const std::string &in : node.inputs)
        if (int x = input_frame(in); x >= 0)
          f = fr.inner(f, x);
    }
    frame[i] = f;
    for (size_t j : users[i]) {
      if (queued[j])
        continue;
      if (is_tf(g.nodes[j], "Merge") || --pending[j] == 0) {
        queued[j] = true;
        queue.push_back(j);
      }
    }
  }
  for (size_t i = 0; i < n; ++i)
    if (frame[i] < 0)
      fail_cycle(g, g.nodes[node_on_cycle(g, i, frame, prod)]);
  return frame;
}

// Sets each frame's parent to the innermost frame its Enters read from.
// Returns whether any parent changed.
bool update_parents(const Graph &g, Analysis &a) {
  Frames &fr = a.frames;
  std::vector<int> want(fr.name.size(), kRoot);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node &n = g.nodes[i];
    if (!is_tf(n, "Enter"))
      continue;
    int f = a.frame[i], x = a.frame_of_value(n.inputs[0]);
    if (fr.encloses(f, x))
      fail(g, n, fmt::format("enters {} with a value computed inside it", fr.label(f)));
    want[f] = fr.inner(want[f], x);
  }
  bool changed = false;
  for (size_t f = 1; f < want.size(); ++f) {
    if (want[f] == fr.parent[f])
      continue;
    if (fr.encloses(static_cast<int>(f), want[f]))
      throw InputError(fmt::format("{}while frames '{}' and '{}' enclose each other", prefix(g),
                                   fr.name[f], fr.name[want[f]]));
    fr.parent[f] = want[f];
    changed = true;
  }
  return changed;
}

// Every value a node reads must come from its own frame or an enclosing one.
void validate(const Graph &g, const Analysis &a) {
  const Frames &fr = a.frames;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node &n = g.nodes[i];
    int f = a.frame[i];
    if (is_tf(n, "Exit"))
      continue; // placed in its input frame's parent by construction
    int reader = is_tf(n, "Enter") ? fr.parent[f] : f;
    for (const std::string &in : n.inputs) {
      if (in.empty())
        continue;
      int x = a.frame_of_value(in);
      if (!fr.encloses(x, reader))
        fail(g, n,
             fmt::format("reads '{}' of {} from {} (not through an Exit)", in, fr.label(x),
                         fr.label(reader)));
    }
  }
}

Analysis analyze(const Graph &g) {
  Analysis a;
  a.producer = g.producers();
  for (size_t round = 0;; ++round) {
    a.frame = assign_frames(g, a.frames, a.producer);
    if (!update_parents(g, a))
      break;
    if (round > a.frames.name.size() + 1)
      throw InputError(fmt::format("{}while frames nest in a cycle", prefix(g)));
  }
  validate(g, a);
  return a;
}

struct LoopVar {
  size_t enter = 0, merge = 0, next = 0;
  std::vector<size_t> exits;
};

// The parts of one while frame and the two closed sub-graphs cut from it.
class FrameConverter {
public:
  FrameConverter(Graph &g, const Analysis &a, int f) : g_(g), a_(a), f_(f) {
    is_member_.assign(g.nodes.size(), false);
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (a.frame[i] == f) {
        is_member_[i] = true;
        members_.push_back(i);
      }
  }

  void convert() {
    find_loop_cond();
    find_loop_vars();
    find_switches_and_exits();
    find_enters_and_next();
    SubGraph cond, body;
    cond.take.assign(g_.nodes.size(), false);
    body.take.assign(g_.nodes.size(), false);
    std::vector<std::string> cond_out{resolve(node(loop_cond_).inputs[0])}, body_out;
    for (const LoopVar &v : vars_)
      body_out.push_back(resolve(node(v.next).inputs[0]));
    for (const auto &o : cond_out)
      need(cond, o);
    for (const auto &o : body_out)
      need(body, o);
    replace(make_graph(cond, cond_out, "cond"), make_graph(body, body_out, "body"));
  }

private:
  struct SubGraph {
    std::vector<bool> take;
    std::unordered_map<std::string, Tensor> inits;
  };

  const Node &node(size_t i) const { return g_.nodes[i]; }
  std::string frame_name() const { return a_.frames.name[f_]; }
  [[noreturn]] void fail_frame(const std::string &what) const {
    throw InputError(fmt::format("{}while frame '{}': {}", prefix(g_), frame_name(), what));
  }
  int producer(const std::string &v) const {
    auto it = a_.producer.find(v);
    return it == a_.producer.end() ? -1 : static_cast<int>(it->second);
  }
  bool member_op(int i, std::string_view op) const {
    return i >= 0 && is_member_[i] && is_tf(node(i), op);
  }
  std::string resolve(const std::string &v) const {
    auto it = rename_.find(v);
    return it == rename_.end() ? v : it->second;
  }

  void find_loop_cond() {
    bool found = false;
    for (size_t i : members_)
      if (is_tf(node(i), "LoopCond")) {
        if (found)
          fail(g_, node(i), fmt::format("is a second LoopCond of while frame '{}'", frame_name()));
        loop_cond_ = i;
        found = true;
      }
    if (!found)
      fail_frame("has no LoopCond");
  }

  // Loop variables: Merge(Enter, NextIteration) pairs of this frame.
  void find_loop_vars() {
    for (size_t i : members_) {
      const Node &m = node(i);
      if (!is_tf(m, "Merge"))
        continue;
      bool loop = false;
      for (const std::string &in : m.inputs)
        loop |= member_op(producer(in), "NextIteration");
      if (!loop)
        continue; // a tf.cond Merge inside the body
      LoopVar v;
      v.merge = i;
      int enter = -1, next = -1;
      for (const std::string &in : m.inputs) {
        int p = producer(in);
        if (member_op(p, "Enter"))
          enter = p;
        else if (member_op(p, "NextIteration"))
          next = p;
      }
      if (m.num_inputs() != 2 || enter < 0 || next < 0)
        fail(g_, m, "a loop Merge must merge one Enter and one NextIteration");
      if (node(enter).attr_int("is_constant", 0) != 0)
        fail(g_, m, fmt::format("merges constant Enter '{}'", node(enter).name));
      if (m.outputs.empty() || m.outputs[0].empty())
        fail(g_, m, "has no value output");
      v.enter = static_cast<size_t>(enter);
      v.next = static_cast<size_t>(next);
      var_of_merge_[i] = vars_.size();
      inputs_.insert(m.outputs[0]);
      vars_.push_back(v);
    }
    if (vars_.empty())
      fail_frame("has no loop variables (no Merge of an Enter and a NextIteration)");
  }

  void find_switches_and_exits() {
    const std::string &pred = node(loop_cond_).outputs[0];
    for (size_t i : members_) {
      const Node &s = node(i);
      if (!is_tf(s, "Switch") || s.inputs[1] != pred)
        continue;
      int m = producer(s.inputs[0]);
      auto it = var_of_merge_.find(static_cast<size_t>(std::max(m, 0)));
      if (m < 0 || it == var_of_merge_.end() || node(m).outputs[0] != s.inputs[0])
        fail(g_, s,
             fmt::format("switches '{}' on the loop condition, but it is not a loop Merge output",
                         s.inputs[0]));
      loop_switch_[i] = it->second;
      if (s.outputs.size() > 1 && !s.outputs[1].empty())
        rename_[s.outputs[1]] = node(m).outputs[0];
    }
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node &e = node(i);
      if (!is_tf(e, "Exit"))
        continue;
      int s = producer(e.inputs[0]);
      if (s < 0 || !is_member_[s])
        continue;
      auto it = loop_switch_.find(static_cast<size_t>(s));
      if (it == loop_switch_.end() || node(s).outputs[0] != e.inputs[0])
        fail(g_, e,
             fmt::format("leaves while frame '{}' from '{}', which is not the false output of a "
                         "loop Switch",
                         frame_name(), e.inputs[0]));
      vars_[it->second].exits.push_back(i);
      exits_.push_back(i);
    }
  }

  void find_enters_and_next() {
    std::unordered_set<size_t> merged, nexts;
    for (const LoopVar &v : vars_) {
      merged.insert(v.enter);
      nexts.insert(v.next);
    }
    for (size_t i : members_) {
      const Node &n = node(i);
      if (is_tf(n, "Enter") && n.attr_int("is_constant", 0) != 0) {
        invariants_.push_back(i);
        inputs_.insert(n.outputs[0]);
      } else if (is_tf(n, "Enter") && !merged.count(i)) {
        fail(g_, n, "is a non-constant Enter that feeds no loop Merge");
      } else if (is_tf(n, "NextIteration") && !nexts.count(i)) {
        fail(g_, n, "feeds no loop Merge");
      }
    }
  }

  // Marks what computing `value` inside the frame needs (iteratively).
  void need(SubGraph &sub, const std::string &value) {
    std::vector<std::string> stack{value};
    while (!stack.empty()) {
      std::string v = resolve(stack.back());
      stack.pop_back();
      if (v.empty() || inputs_.count(v) || capture_set_.count(v) || sub.inits.count(v))
        continue;
      int p = producer(v);
      if (p < 0 && g_.is_initializer(v)) {
        sub.inits[v] = *g_.initializer(v);
        continue;
      }
      if (p < 0 || !is_member_[p]) { // an outer value read directly
        capture_set_.insert(v);
        captures_.push_back(v);
        continue;
      }
      if (sub.take[p])
        continue;
      check_readable(static_cast<size_t>(p), v);
      sub.take[p] = true;
      for (const std::string &in : node(p).inputs)
        stack.push_back(in);
    }
  }

  // Loop plumbing a body or condition must not read directly.
  void check_readable(size_t p, const std::string &v) const {
    const Node &n = node(p);
    if (var_of_merge_.count(p))
      throw UnsupportedError(fmt::format("{}{}: its value_index '{}' is read inside the loop",
                                         prefix(g_), n.describe(), v));
    if (loop_switch_.count(p))
      fail(g_, n, fmt::format("its exit output '{}' is read inside the loop", v));
    if (is_tf(n, "NextIteration") || is_tf(n, "Enter"))
      fail(g_, n, fmt::format("'{}' is read inside the loop", v));
  }

  std::vector<std::string> input_names() const {
    std::vector<std::string> names;
    for (const LoopVar &v : vars_)
      names.push_back(node(v.merge).outputs[0]);
    for (size_t i : invariants_)
      names.push_back(node(i).outputs[0]);
    names.insert(names.end(), captures_.begin(), captures_.end());
    return names;
  }

  std::shared_ptr<Graph> make_graph(const SubGraph &sub, const std::vector<std::string> &outputs,
                                    const std::string &kind) const {
    auto sg = std::make_shared<Graph>();
    sg->name = frame_name() + "/" + kind;
    sg->source = g_.source;
    sg->opset = g_.opset;
    for (const std::string &n : input_names())
      sg->inputs.push_back(named(n));
    for (size_t i : members_) {
      if (!sub.take[i])
        continue;
      Node c = node(i);
      for (std::string &in : c.inputs)
        in = resolve(in);
      if (is_tf(c, "LoopCond")) { // true inside the body: a plain copy
        c.op_type = "Identity";
        c.domain.clear();
        c.attrs.clear();
      }
      sg->nodes.push_back(std::move(c));
    }
    sg->initializers = sub.inits;
    for (const std::string &o : outputs)
      sg->outputs.push_back(named(o));
    sg->toposort();
    return sg;
  }

  std::string while_name() const {
    std::string n = frame_name();
    const std::string suffix = "/while_context";
    if (n.size() > suffix.size() && n.ends_with(suffix))
      n.resize(n.size() - suffix.size());
    return n;
  }

  Node make_while(std::shared_ptr<Graph> cond, std::shared_ptr<Graph> body) const {
    Node w;
    w.name = while_name();
    w.op_type = "While";
    w.domain = "tf";
    for (const LoopVar &v : vars_) {
      w.inputs.push_back(node(v.enter).inputs[0]);
      w.outputs.push_back(v.exits.empty() ? "" : node(v.exits[0]).outputs[0]);
    }
    for (size_t i : invariants_)
      w.inputs.push_back(node(i).inputs[0]);
    w.inputs.insert(w.inputs.end(), captures_.begin(), captures_.end());
    w.attrs["cond"] = std::move(cond);
    w.attrs["body"] = std::move(body);
    w.attrs["num_loop_vars"] = static_cast<int64_t>(vars_.size());
    w.attrs["frame_name"] = frame_name();
    const Node &e = node(vars_[0].enter);
    w.attrs["parallel_iterations"] = e.attr_int("parallel_iterations", 10);
    return w;
  }

  // Swaps the frame's nodes and Exits for the While node (plus an Identity per
  // extra Exit of the same loop variable).
  void replace(std::shared_ptr<Graph> cond, std::shared_ptr<Graph> body) {
    std::vector<bool> remove = is_member_;
    for (size_t i : exits_)
      remove[i] = true;
    std::vector<Node> added{make_while(std::move(cond), std::move(body))};
    for (const LoopVar &v : vars_)
      for (size_t k = 1; k < v.exits.size(); ++k) {
        const Node &e = node(v.exits[k]);
        Node id;
        id.name = e.name;
        id.op_type = "Identity";
        id.inputs = {node(v.exits[0]).outputs[0]};
        id.outputs = e.outputs;
        added.push_back(std::move(id));
      }
    std::unordered_set<std::string> gone;
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (remove[i])
        for (const std::string &o : node(i).outputs)
          gone.insert(o);
    for (const Node &n : added)
      for (const std::string &o : n.outputs)
        gone.erase(o);
    std::vector<Node> kept;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (remove[i])
        continue;
      for (const std::string &in : node(i).inputs)
        if (!in.empty() && gone.count(in))
          fail(g_, node(i),
               fmt::format("reads '{}' from inside while frame '{}' without an Exit", in,
                           frame_name()));
      kept.push_back(std::move(g_.nodes[i]));
    }
    for (const ValueInfo &o : g_.outputs)
      if (gone.count(o.name))
        fail_frame(fmt::format("graph output '{}' is computed inside it without an Exit", o.name));
    for (Node &n : added)
      kept.push_back(std::move(n));
    g_.nodes = std::move(kept);
  }

  Graph &g_;
  const Analysis &a_;
  int f_;
  std::vector<bool> is_member_;
  std::vector<size_t> members_, invariants_, exits_;
  size_t loop_cond_ = 0;
  std::vector<LoopVar> vars_;
  std::unordered_map<size_t, size_t> var_of_merge_, loop_switch_; // node -> loop variable
  std::unordered_map<std::string, std::string> rename_; // loop Switch true output -> Merge
  std::unordered_set<std::string> inputs_;              // loop variables and invariants
  std::vector<std::string> captures_;
  std::unordered_set<std::string> capture_set_;
};

// After all frames are gone the graph must be acyclic and free of loop plumbing.
void check_top_level(const Graph &g) {
  auto prod = g.producers();
  std::vector<int> frame(g.nodes.size(), -1);
  std::vector<int> pending(g.nodes.size(), 0);
  std::vector<std::vector<size_t>> users(g.nodes.size());
  std::vector<size_t> queue;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const std::string &in : g.nodes[i].inputs)
      if (auto it = prod.find(in); !in.empty() && it != prod.end()) {
        users[it->second].push_back(i);
        pending[i]++;
      }
    if (pending[i] == 0)
      queue.push_back(i);
  }
  for (size_t q = 0; q < queue.size(); ++q) {
    frame[queue[q]] = kRoot;
    for (size_t j : users[queue[q]])
      if (--pending[j] == 0)
        queue.push_back(j);
  }
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (frame[i] < 0)
      fail_cycle(g, g.nodes[node_on_cycle(g, i, frame, prod)]);
  for (const Node &n : g.nodes)
    if (is_tf(n, "Enter") || is_tf(n, "Exit") || is_tf(n, "NextIteration") || is_tf(n, "LoopCond"))
      fail(g, n, "is outside any while frame");
}

// The deepest frame that still has nodes (it has no inner frames left).
int innermost_frame(const Analysis &a) {
  int best = kRoot, best_depth = 0;
  for (int f : a.frame)
    if (f != kRoot && a.frames.depth(f) > best_depth) {
      best = f;
      best_depth = a.frames.depth(f);
    }
  return best;
}

} // namespace

void build_while_loops(Graph &g) {
  check_arity(g);
  for (;;) {
    Analysis a = analyze(g);
    int f = innermost_frame(a);
    if (f == kRoot)
      break;
    FrameConverter(g, a, f).convert();
  }
  check_top_level(g);
}

} // namespace qtune::tf
