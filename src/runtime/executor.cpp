// The executor: kernels made once per node; on the first run with a new
// input-shape signature every node is inferred and prepared while it runs
// (inference may read values, e.g. Reshape reading a Shape output), then a
// static arena is planned by liveness and later runs reuse it without any
// allocation. Nodes whose shapes depend on values (NonZero, NMS) and their
// consumers are "dynamic": checked every run, outputs allocated per run.
//
// TensorFlow 1.x tf.cond (graphs with a tf:Switch node only): a Switch's
// untaken output is "dead"; a node with a dead input does not run and its
// outputs are dead, except tf:Merge, which forwards its live input (its dead
// inputs reach the kernel as undefined tensors). Everything downstream of a
// Switch is dynamic, so skipped nodes never hold arena space another value
// needs. Graphs without Switch pay nothing: no per-slot flags exist.
#include "runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <fmt/format.h>
#include <omp.h>
#include <string_view>
#include <unordered_map>

#include "ir/checked_size.h"
#include "ir/model_summary.h"
#include "qtune/error.h"
#include "runtime/kernel.h"

namespace qtune {

namespace {

constexpr size_t kAlign = 64;

size_t align_up(size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

// One named value: a constant, a graph input or a node output.
struct Slot {
  std::string name;
  Tensor value;
  int producer = -1; // node index, -1 for inputs and constants
  int last_use = -1; // last node index reading it
  bool is_constant = false;
  bool is_output = false;
  bool dynamic = false; // shape may change from run to run with the same inputs
  bool may_die = false; // downstream of a tf:Switch (see gather())
  size_t offset = 0;    // arena offset when planned
  size_t bytes = 0;     // buffer size (a blocked layout may pad channels)
  // oneDNN layout opt-in: set when the producer wrote a non-plain layout.
  bool blocked = false;
  dnnl::memory::desc layout;
  int shadow = -1; // slot of the plain copy for consumers that need it
  bool shadow_needed = false;
  dnnl::reorder to_plain;
  dnnl::memory from_mem, to_mem;
};

struct NodeState {
  std::unique_ptr<Kernel> kernel;
  std::vector<int> inputs;            // slot index, -1 for absent
  std::vector<int> outputs;           // slot index, -1 for absent
  std::vector<Shape> prepared_shapes; // input shapes of the last prepare()
  std::vector<TensorType> types;      // inferred output types
  bool prepared = false;
  bool dynamic = false;
  bool accepts_layouts = false;
  enum class Flow : uint8_t { plain, tf_switch, tf_merge } flow = Flow::plain;
  double total_ms = 0;
  int64_t calls = 0;
};

bool dims_match(const ValueInfo &vi, const Shape &s) {
  if (!vi.has_shape)
    return true;
  if (vi.dims.size() != s.size())
    return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (vi.dims[i].known() && vi.dims[i].value != s[i])
      return false;
  return true;
}

// Owned, 64-byte aligned buffer of `bytes` (>= the tensor's plain size).
Tensor alloc_tensor(DType dtype, const Shape &shape, size_t bytes) {
  Tensor plain(dtype, shape);
  if (bytes <= plain.nbytes())
    return plain;
  std::shared_ptr<uint8_t[]> buf(new (std::align_val_t(kAlign)) uint8_t[bytes], [](uint8_t *p) {
    operator delete[](p, std::align_val_t(kAlign));
  });
  return Tensor::view(dtype, shape, buf.get(), buf);
}

} // namespace

struct Executor::Impl {
  std::shared_ptr<const Graph> graph;
  ExecutorOptions options;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  KernelEnv env;
  std::vector<Slot> slots;
  std::unordered_map<std::string, int> slot_of;
  std::unordered_set<std::string> fixed_values; // see mark_fixed()
  std::vector<NodeState> nodes;
  std::vector<int> input_slots, output_slots;
  std::vector<Shape> signature; // graph-input shapes of the current plan
  bool track_dead = false;      // the graph has a tf:Switch
  std::vector<uint8_t> dead;    // per slot, this run (only when track_dead)
  bool planned = false;
  std::shared_ptr<uint8_t[]> arena;
  size_t arena_size = 0;
  NodeHook hook;

  static std::string v_plain_name(const std::string &name) { return name + "#plain"; }

  // The tensor a consumer reads: the plain copy unless it takes oneDNN layouts.
  const Tensor &readable(int s, bool accepts_layouts) const {
    const Slot &sl = slots[s];
    return sl.blocked && !accepts_layouts ? slots[sl.shadow].value : sl.value;
  }

  int slot_index(const std::string &name) {
    auto it = slot_of.find(name);
    if (it != slot_of.end())
      return it->second;
    slots.emplace_back();
    slots.back().name = name;
    slot_of[name] = static_cast<int>(slots.size()) - 1;
    return static_cast<int>(slots.size()) - 1;
  }

  // threads 0: OMP_NUM_THREADS when the environment sets it, else every core.
  // (Read from the environment: omp_get_max_threads() would also reflect the last
  // omp_set_num_threads() of another executor in this process.)
  static int default_threads() {
    const char *env = std::getenv("OMP_NUM_THREADS");
    int n = env ? std::atoi(env) : 0;
    return n > 0 ? n : omp_get_num_procs();
  }

  void build() {
    const Graph &g = *graph;
    env.engine = &engine;
    env.stream = &stream;
    env.graph = graph.get();
    env.fixed_values = &fixed_values;
    env.threads = options.threads > 0 ? options.threads : default_threads();
    for (const auto &[name, t] : g.initializers) {
      int s = slot_index(name);
      slots[s].value = t;
      slots[s].is_constant = true;
    }
    for (const ValueInfo &vi : g.inputs)
      input_slots.push_back(slot_index(vi.name));
    nodes.resize(g.nodes.size());
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node &n = g.nodes[i];
      NodeState &ns = nodes[i];
      ns.kernel = make_kernel(n, env);
      if (n.domain == "tf" && n.op_type == "Switch") {
        ns.flow = NodeState::Flow::tf_switch;
        track_dead = true;
      } else if (n.domain == "tf" && n.op_type == "Merge") {
        ns.flow = NodeState::Flow::tf_merge;
      }
      for (const std::string &v : n.inputs) {
        if (v.empty()) {
          ns.inputs.push_back(-1);
          continue;
        }
        auto it = slot_of.find(v);
        if (it == slot_of.end())
          throw InputError(
              fmt::format("{}: {} reads '{}' which nothing produces", g.source, n.describe(), v));
        ns.inputs.push_back(it->second);
        slots[it->second].last_use = static_cast<int>(i);
      }
      // Plain kernels read the plain copy of blocked values.
      if (!ns.kernel->accepts_dnnl_layouts())
        for (int s : ns.inputs)
          if (s >= 0 && slots[s].shadow >= 0) {
            slots[slots[s].shadow].last_use = static_cast<int>(i);
            slots[s].shadow_needed = true;
          }
      for (const std::string &v : n.outputs) {
        if (v.empty()) {
          ns.outputs.push_back(-1);
          continue;
        }
        int s = slot_index(v);
        slots[s].producer = static_cast<int>(i);
        ns.outputs.push_back(s);
      }
      ns.accepts_layouts = ns.kernel->accepts_dnnl_layouts();
      for (int o : ns.outputs) {
        if (o < 0 || !ns.accepts_layouts)
          continue;
        int sh = slot_index(v_plain_name(slots[o].name));
        slots[sh].producer = static_cast<int>(i);
        slots[o].shadow = sh;
      }
      mark_may_die(ns);
      ns.dynamic = ns.kernel->value_dependent_shapes();
      for (int s : ns.inputs)
        if (s >= 0 && slots[s].dynamic)
          ns.dynamic = true;
      for (int s : ns.outputs)
        if (s >= 0) {
          slots[s].dynamic = ns.dynamic;
          if (slots[s].shadow >= 0)
            slots[slots[s].shadow].dynamic = ns.dynamic;
        }
      mark_fixed(n, ns);
    }
    for (const ValueInfo &vi : g.outputs) {
      auto it = slot_of.find(vi.name);
      if (it == slot_of.end())
        throw InputError(
            fmt::format("{}: graph output '{}' is not produced by any node", g.source, vi.name));
      Slot &sl = slots[it->second];
      output_slots.push_back(it->second);
      sl.is_output = true;
      sl.last_use = static_cast<int>(nodes.size());
      if (sl.shadow >= 0) {
        sl.shadow_needed = true;
        slots[sl.shadow].last_use = static_cast<int>(nodes.size());
      }
    }
  }

  // Values a tf:Switch can make dead: its outputs and what reads them (a Merge's
  // output only when every input can die).
  void mark_may_die(const NodeState &ns) {
    bool any = false, all = true;
    for (int s : ns.inputs)
      if (s >= 0) {
        any |= slots[s].may_die;
        all &= slots[s].may_die;
      }
    bool die = ns.flow == NodeState::Flow::tf_switch ||
               (ns.flow == NodeState::Flow::tf_merge ? any && all : any);
    for (int s : ns.outputs)
      if (s >= 0)
        slots[s].may_die = die;
  }

  // A node's outputs are fixed per input-shape signature (env.fixed_values)
  // when it reads only fixed values, or only the shapes of tensors whose
  // shapes are not value-dependent (Shape, Size, Rank). Kernels are pure
  // functions of their inputs, so this holds through any op.
  void mark_fixed(const Node &n, const NodeState &ns) {
    bool shape_only =
        n.op_type == "Shape" || n.op_type == "Size" || (n.domain == "tf" && n.op_type == "Rank");
    for (int s : ns.inputs) {
      if (s < 0)
        continue;
      bool ok = shape_only ? !slots[s].dynamic
                           : slots[s].is_constant || fixed_values.count(slots[s].name) != 0;
      if (!ok)
        return;
    }
    for (const std::string &v : n.outputs)
      if (!v.empty())
        fixed_values.insert(v);
  }

  void check_inputs(const std::unordered_map<std::string, Tensor> &inputs) {
    const Graph &g = *graph;
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      const ValueInfo &vi = g.inputs[i];
      auto it = inputs.find(vi.name);
      if (it == inputs.end())
        throw InputError(fmt::format("{}: input '{}' is missing (expected {} {})", g.source,
                                     vi.name, dtype_name(vi.dtype), dims_str(vi)));
      const Tensor &t = it->second;
      if (vi.dtype != DType::undefined && t.dtype() != vi.dtype)
        throw InputError(fmt::format("{}: input '{}' has dtype {}, expected {}", g.source, vi.name,
                                     dtype_name(t.dtype()), dtype_name(vi.dtype)));
      if (!dims_match(vi, t.shape()))
        throw InputError(fmt::format("{}: input '{}' has shape {}, expected {}", g.source, vi.name,
                                     shape_str(t.shape()), dims_str(vi)));
      if (t.numel() > 0 && t.raw() == nullptr)
        throw InputError(fmt::format("{}: input '{}' has no data", g.source, vi.name));
    }
    for (const auto &kv : inputs) {
      const std::string &name = kv.first; // (a named variable: clang 14 cannot capture bindings)
      bool known = std::any_of(g.inputs.begin(), g.inputs.end(),
                               [&](const ValueInfo &vi) { return vi.name == name; });
      if (!known)
        throw InputError(fmt::format("{}: '{}' is not an input of the model", g.source, name));
    }
  }

  void set_threads() { omp_set_num_threads(env.threads); }

  // Gathers a node's input tensors (undefined for absent and dead ones). A
  // Merge input no Switch can kill (a constant branch: in TensorFlow a control
  // edge from the branch's pivot gated it, and the importer drops control
  // edges) counts as dead while an input downstream of a Switch is live.
  void gather(const NodeState &ns, std::vector<Tensor> &out) {
    out.clear();
    bool gated_live = false;
    if (track_dead && ns.flow == NodeState::Flow::tf_merge)
      for (int s : ns.inputs)
        gated_live |= s >= 0 && !dead[s] && slots[s].may_die;
    for (int s : ns.inputs) {
      bool live = s >= 0 && !(track_dead && dead[s]) && !(gated_live && !slots[s].may_die);
      out.push_back(live ? readable(s, ns.accepts_layouts) : Tensor());
    }
  }

  // Dead-tensor rule: true (and outputs marked dead) when the node must not run.
  bool skip_dead(const NodeState &ns) {
    bool any_live = false, any_dead = false;
    for (int s : ns.inputs)
      if (s >= 0)
        (dead[s] ? any_dead : any_live) = true;
    bool skip = ns.flow == NodeState::Flow::tf_merge ? !any_live : any_dead;
    if (skip)
      for (int s : ns.outputs)
        if (s >= 0)
          dead[s] = 1;
    return skip;
  }

  // Which output of a tf:Switch is dead: 0 (false branch) when the predicate holds.
  size_t switch_dead_output(size_t i, const std::vector<Tensor> &in) const {
    const Tensor &pred = in.size() > 1 ? in[1] : Tensor();
    if (!pred.defined() || pred.numel() != 1)
      throw InputError(fmt::format("{}: {}: the predicate must be a scalar, got {}", graph->source,
                                   graph->nodes[i].describe(),
                                   pred.defined() ? shape_str(pred.shape()) : "nothing"));
    return pred.get_i64(0) != 0 ? 0 : 1;
  }

  bool shapes_changed(const NodeState &ns, const std::vector<Tensor> &in) {
    if (!ns.prepared || ns.prepared_shapes.size() != in.size())
      return true;
    for (size_t i = 0; i < in.size(); ++i)
      if (in[i].shape() != ns.prepared_shapes[i])
        return true;
    return false;
  }

  // An output shape whose size overflows (Expand/Tile/ConstantOfShape to
  // [2^62+1, 4] ...) is an input error of this node, before any kernel runs.
  void check_output_sizes(const Node &n, const std::vector<TensorType> &types) const {
    for (size_t k = 0; k < types.size() && k < n.outputs.size(); ++k) {
      try {
        (void)shape_nbytes(types[k].shape, types[k].dtype);
      } catch (const InputError &e) {
        throw InputError(fmt::format("{}: {}: output '{}': {}", graph->source, n.describe(),
                                     n.outputs[k], e.what()));
      }
    }
  }

  void infer_and_prepare(size_t i, NodeState &ns, std::vector<Tensor> &in) {
    const Node &n = graph->nodes[i];
    try {
      if (ns.accepts_layouts) {
        std::vector<const dnnl_memory_desc_t *> layouts;
        for (int s : ns.inputs)
          layouts.push_back(s >= 0 && slots[s].blocked ? &slots[s].layout.data : nullptr);
        ns.kernel->set_input_layouts(layouts);
      }
      ns.types = ns.kernel->infer(in);
      ns.kernel->prepare(in);
    } catch (const InputError &e) {
      // Size checks deep in shape code (shape_numel ...) do not know the node.
      if (std::string_view(e.what()).find(n.name) != std::string_view::npos)
        throw;
      throw InputError(fmt::format("{}: {}: {}", graph->source, n.describe(), e.what()));
    } catch (const Error &e) {
      throw;
    } catch (const std::exception &e) {
      throw Error(fmt::format("{}: {}: {}", graph->source, n.describe(), e.what()));
    }
    if (ns.types.size() < n.outputs.size())
      throw Error(fmt::format("{}: kernel returned {} output types for {} outputs", n.describe(),
                              ns.types.size(), n.outputs.size()));
    check_output_sizes(n, ns.types);
    ns.prepared_shapes.clear();
    for (const Tensor &t : in)
      ns.prepared_shapes.push_back(t.shape());
    ns.prepared = true;
  }

  // Runs one node; `planning` allocates outputs instead of using the arena.
  void run_node(size_t i, bool planning, std::vector<Tensor> &in, std::vector<Tensor> &out) {
    NodeState &ns = nodes[i];
    if (track_dead && skip_dead(ns))
      return;
    gather(ns, in);
    size_t dead_out = ns.outputs.size();
    if (track_dead && ns.flow == NodeState::Flow::tf_switch)
      dead_out = switch_dead_output(i, in);
    bool value_dependent = ns.kernel->value_dependent_shapes();
    // Value-dependent kernels (While, NMS) do their work in infer(): profile it.
    auto t_infer = std::chrono::steady_clock::now();
    bool fresh = planning || value_dependent || (ns.dynamic && shapes_changed(ns, in));
    if (fresh)
      infer_and_prepare(i, ns, in);
    out.clear();
    for (size_t k = 0; k < ns.outputs.size(); ++k) {
      int s = ns.outputs[k];
      if (s < 0 || k == dead_out) {
        if (s >= 0)
          dead[s] = 1;
        out.emplace_back();
        continue;
      }
      if (planning || (slots[s].dynamic && fresh))
        allocate_named(i, ns, k, s);
      out.push_back(slots[s].value);
    }
    auto t0 = value_dependent ? t_infer : std::chrono::steady_clock::now();
    ns.kernel->run(in, out);
    if (options.profile) {
      auto t1 = std::chrono::steady_clock::now();
      ns.total_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
      ns.calls++;
    }
    if (ns.accepts_layouts) {
      for (size_t k = 0; k < ns.outputs.size(); ++k) {
        int s = ns.outputs[k];
        if (s < 0 || !slots[s].blocked || !(slots[s].shadow_needed || hook))
          continue;
        Slot &sl = slots[s];
        sl.from_mem.set_data_handle(sl.value.raw());
        sl.to_mem.set_data_handle(slots[sl.shadow].value.raw());
        sl.to_plain.execute(stream, sl.from_mem, sl.to_mem);
        out[k] = slots[sl.shadow].value;
      }
      stream.wait();
    }
    if (hook)
      hook(graph->nodes[i], out);
  }

  // A model may ask for more memory than there is (ConstantOfShape or Expand to
  // [2^20, 2^20] f32 is 4 TiB): the failed allocation names node and output.
  void allocate_named(size_t i, NodeState &ns, size_t k, int s) {
    try {
      allocate_output(ns, k, s);
    } catch (const Error &e) {
      const Node &n = graph->nodes[i];
      throw Error(fmt::format("{}: {}: output '{}': {}", graph->source, n.describe(), n.outputs[k],
                              e.what()));
    }
  }

  // Allocates output k of a just-prepared node in its (possibly blocked) layout,
  // plus the plain copy and its reorder when someone needs plain data.
  void allocate_output(NodeState &ns, size_t k, int s) {
    Slot &sl = slots[s];
    const TensorType &t = ns.types[k];
    const dnnl_memory_desc_t *layout = ns.accepts_layouts ? ns.kernel->output_layout(k) : nullptr;
    sl.blocked = layout != nullptr;
    sl.bytes = shape_nbytes(t.shape, t.dtype);
    if (!sl.blocked) {
      sl.value = Tensor(t.dtype, t.shape);
      return;
    }
    sl.layout = dnnl::memory::desc(*layout);
    sl.bytes = std::max(sl.bytes, sl.layout.get_size());
    sl.value = alloc_tensor(t.dtype, t.shape, sl.bytes);
    Slot &sh = slots[sl.shadow];
    sh.value = Tensor(t.dtype, t.shape);
    sh.bytes = sh.value.nbytes();
    dnnl::memory::desc plain(sl.layout.dims(), sl.layout.data_type(),
                             dnnl::memory::format_tag(plain_format(t.shape.size())));
    sl.from_mem = dnnl::memory(sl.layout, engine, nullptr);
    sl.to_mem = dnnl::memory(plain, engine, nullptr);
    sl.to_plain = dnnl::reorder(sl.from_mem, sl.to_mem);
  }

  static dnnl::memory::format_tag plain_format(size_t rank) {
    using tag = dnnl::memory::format_tag;
    static const tag tags[] = {tag::a,    tag::a,     tag::ab,    tag::abc,
                               tag::abcd, tag::abcde, tag::abcdef};
    return tags[std::min<size_t>(rank, 6)];
  }

  // True when node i's output o may take over the bytes of its input s
  // (Kernel::output_may_overwrite_input): s is an arena value this node reads
  // last and only once, of the same size and layout. Not with a node hook
  // (hooks may look at values later) nor in tf.cond graphs.
  bool can_take_over(size_t i, int s, int o) const {
    const Slot &a = slots[s], &b = slots[o];
    if (hook || track_dead || a.producer < 0 || a.is_output || a.dynamic || b.dynamic ||
        a.last_use != static_cast<int>(i) || !a.value.defined() || a.bytes != b.bytes ||
        a.blocked != b.blocked || (a.blocked && a.layout != b.layout))
      return false;
    const std::vector<int> &in = nodes[i].inputs;
    return std::count(in.begin(), in.end(), s) == 1;
  }

  // Per slot, the slot whose arena range it shares (itself unless an output
  // took over its input's bytes; chains share one range).
  std::vector<int> buffer_owners() const {
    std::vector<int> owner(slots.size());
    for (size_t s = 0; s < slots.size(); ++s)
      owner[s] = static_cast<int>(s);
    for (size_t i = 0; i < nodes.size(); ++i) {
      const NodeState &ns = nodes[i];
      for (size_t k = 0; k < ns.outputs.size(); ++k) {
        int j = ns.kernel->output_may_overwrite_input(k);
        int o = ns.outputs[k];
        if (j < 0 || static_cast<size_t>(j) >= ns.inputs.size() || o < 0 || ns.inputs[j] < 0)
          continue;
        if (can_take_over(i, ns.inputs[j], o))
          owner[o] = owner[ns.inputs[j]]; // nodes run in order: already final
      }
    }
    return owner;
  }

  // Places every non-dynamic node output in one arena: values whose lifetimes
  // [producer, last_use] overlap never share bytes (greedy, largest first),
  // except an output and the input it takes over, which share one range.
  void plan_arena() {
    struct Item {
      int slot;
      size_t size;
      int begin, end;
    };
    const std::vector<int> owner = buffer_owners();
    std::vector<Item> items;
    std::unordered_map<int, size_t> item_of; // owner slot -> index in items
    for (size_t s = 0; s < slots.size(); ++s) {
      Slot &sl = slots[s];
      if (sl.producer < 0 || sl.dynamic || !sl.value.defined())
        continue;
      bool is_shadow = sl.name.size() > 6 && sl.name.ends_with("#plain");
      if (is_shadow && !hook && sl.last_use < 0) {
        sl.value = Tensor(); // nobody reads this plain copy
        continue;
      }
      int end = std::max(sl.last_use, sl.producer);
      size_t size = align_up(std::max<size_t>(sl.bytes, 1));
      auto [it, fresh] = item_of.try_emplace(owner[s], items.size());
      if (fresh) {
        items.push_back({owner[s], size, sl.producer, end});
      } else { // an output taking over an earlier value's range
        Item &shared = items[it->second];
        shared.size = std::max(shared.size, size);
        shared.begin = std::min(shared.begin, sl.producer);
        shared.end = std::max(shared.end, end);
      }
    }
    std::sort(items.begin(), items.end(),
              [](const Item &a, const Item &b) { return a.size > b.size; });
    std::vector<const Item *> placed;
    size_t total = 0;
    for (Item &it : items) {
      // Busy ranges of already placed values that live at the same time.
      std::vector<std::pair<size_t, size_t>> busy;
      for (const Item *p : placed)
        if (p->begin <= it.end && it.begin <= p->end)
          busy.push_back({slots[p->slot].offset, slots[p->slot].offset + p->size});
      std::sort(busy.begin(), busy.end());
      size_t offset = 0;
      for (const auto &[b, e] : busy) {
        if (offset + it.size <= b)
          break;
        offset = std::max(offset, e);
      }
      slots[it.slot].offset = offset;
      total = std::max(total, offset + it.size);
      placed.push_back(&it);
    }
    arena_size = total;
    arena = std::shared_ptr<uint8_t[]>(
        new (std::align_val_t(kAlign)) uint8_t[std::max<size_t>(total, 1)],
        [](uint8_t *p) { operator delete[](p, std::align_val_t(kAlign)); });
    for (size_t s = 0; s < slots.size(); ++s) {
      Slot &sl = slots[s];
      if (sl.producer < 0 || sl.dynamic || !sl.value.defined() || !item_of.count(owner[s]))
        continue;
      sl.offset = slots[owner[s]].offset;
      sl.value = Tensor::view(sl.value.dtype(), sl.value.shape(), arena.get() + sl.offset, arena);
    }
  }

  std::vector<Tensor> run(const std::unordered_map<std::string, Tensor> &inputs) {
    check_inputs(inputs);
    std::vector<Shape> sig;
    for (size_t i = 0; i < input_slots.size(); ++i) {
      const Tensor &t = inputs.at(graph->inputs[i].name);
      slots[input_slots[i]].value = t;
      sig.push_back(t.shape());
    }
    bool planning = !planned || sig != signature;
    set_threads();
    if (track_dead)
      dead.assign(slots.size(), 0);
    std::vector<Tensor> in, out;
    for (size_t i = 0; i < nodes.size(); ++i)
      run_node(i, planning, in, out);
    stream.wait();
    std::vector<Tensor> result;
    for (int s : output_slots) {
      if (track_dead && dead[s])
        throw InputError(fmt::format("{}: graph output '{}' is dead (it lies on a branch of a "
                                     "tf.cond that was not taken)",
                                     graph->source, slots[s].name));
      result.push_back(readable(s, false).clone());
    }
    if (planning) {
      plan_arena();
      signature = sig;
      planned = true;
    }
    // Do not keep the caller's input buffers alive.
    for (int s : input_slots)
      slots[s].value = Tensor();
    return result;
  }
};

Executor::Executor(std::shared_ptr<const Graph> graph, ExecutorOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->graph = std::move(graph);
  impl_->options = options;
  impl_->build();
}
Executor::~Executor() = default;
Executor::Executor(Executor &&) noexcept = default;
Executor &Executor::operator=(Executor &&) noexcept = default;

std::vector<Tensor> Executor::run(const std::unordered_map<std::string, Tensor> &inputs) {
  return impl_->run(inputs);
}

void Executor::set_node_hook(NodeHook hook) {
  impl_->hook = std::move(hook);
  impl_->planned = false; // plain copies of blocked values are now needed
}

std::vector<NodeProfile> Executor::profile() const {
  std::vector<NodeProfile> v;
  for (size_t i = 0; i < impl_->nodes.size(); ++i) {
    const Node &n = impl_->graph->nodes[i];
    const Kernel *k = impl_->nodes[i].kernel.get();
    v.push_back({n.name, n.op_type, impl_->nodes[i].total_ms, impl_->nodes[i].calls,
                 k ? k->implementation() : std::string()});
  }
  std::stable_sort(v.begin(), v.end(), [](const NodeProfile &a, const NodeProfile &b) {
    return a.total_ms > b.total_ms;
  });
  return v;
}

void Executor::reset_profile() {
  for (auto &ns : impl_->nodes) {
    ns.total_ms = 0;
    ns.calls = 0;
  }
}

const Graph &Executor::graph() const {
  return *impl_->graph;
}

size_t Executor::arena_bytes() const {
  return impl_->arena_size;
}

size_t Executor::activation_bytes() const {
  size_t total = 0;
  for (const Slot &s : impl_->slots)
    if (s.producer >= 0 && s.value.defined())
      total += align_up(s.bytes);
  return total;
}

} // namespace qtune
