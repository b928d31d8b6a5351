#pragma once
// Builds small TensorFlow GraphDefs in tests (what TF would write: NodeDefs
// with typed attrs and TensorProto constants), so op semantics can be checked
// against reference computations of TF's documented formulas.
#include <cstring>
#include <string>
#include <vector>

#include "frontends/tensorflow/tf_source.h"

namespace qtune::test {

class GraphBuilder {
public:
  tensorflow::NodeDef &node(const std::string &name, const std::string &op,
                            std::vector<std::string> inputs = {}) {
    auto *n = g_.add_node();
    n->set_name(name);
    n->set_op(op);
    for (auto &i : inputs)
      n->add_input(i);
    return *n;
  }
  static void s(tensorflow::NodeDef &n, const std::string &k, const std::string &v) {
    (*n.mutable_attr())[k].set_s(v);
  }
  static void i(tensorflow::NodeDef &n, const std::string &k, int64_t v) {
    (*n.mutable_attr())[k].set_i(v);
  }
  static void f(tensorflow::NodeDef &n, const std::string &k, float v) {
    (*n.mutable_attr())[k].set_f(v);
  }
  static void b(tensorflow::NodeDef &n, const std::string &k, bool v) {
    (*n.mutable_attr())[k].set_b(v);
  }
  static void type(tensorflow::NodeDef &n, const std::string &k, tensorflow::DataType t) {
    (*n.mutable_attr())[k].set_type(t);
  }
  static void ints(tensorflow::NodeDef &n, const std::string &k, std::vector<int64_t> v) {
    auto *l = (*n.mutable_attr())[k].mutable_list();
    for (auto x : v)
      l->add_i(x);
  }
  static void strings(tensorflow::NodeDef &n, const std::string &k, std::vector<std::string> v) {
    auto *l = (*n.mutable_attr())[k].mutable_list();
    for (auto &x : v)
      l->add_s(x);
  }

  template <typename T>
  tensorflow::NodeDef &constant(const std::string &name, tensorflow::DataType dt,
                                std::vector<int64_t> shape, const std::vector<T> &values) {
    auto &n = node(name, "Const");
    type(n, "dtype", dt);
    auto *t = (*n.mutable_attr())["value"].mutable_tensor();
    t->set_dtype(dt);
    for (auto d : shape)
      t->mutable_tensor_shape()->add_dim()->set_size(d);
    t->set_tensor_content(
        std::string(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(T)));
    return n;
  }
  tensorflow::NodeDef &f32(const std::string &name, std::vector<int64_t> shape,
                           const std::vector<float> &v) {
    return constant(name, tensorflow::DT_FLOAT, shape, v);
  }
  tensorflow::NodeDef &i32(const std::string &name, std::vector<int64_t> shape,
                           const std::vector<int32_t> &v) {
    return constant(name, tensorflow::DT_INT32, shape, v);
  }
  tensorflow::NodeDef &placeholder(const std::string &name, tensorflow::DataType dt,
                                   std::vector<int64_t> shape) {
    auto &n = node(name, "Placeholder");
    type(n, "dtype", dt);
    auto *sh = (*n.mutable_attr())["shape"].mutable_shape();
    for (auto d : shape)
      sh->add_dim()->set_size(d);
    return n;
  }

  tf::ModelSource source(const std::string &path = "test.pb") const {
    tf::ModelSource s;
    s.graph = g_;
    s.path = path;
    return s;
  }

private:
  tensorflow::GraphDef g_;
};

} // namespace qtune::test
