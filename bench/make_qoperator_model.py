# bench/make_qoperator_model.py OUT.onnx X.f32 (Debian python3 + python3-onnx): a small QOperator model as ONNX
# Runtime's quantizer writes them, for the qtune-vs-ORT output check in bench/qdq_vs_ort.sh.
# QOperator test model: x f32 -> QuantizeLinear -> QLinearConv -> QLinearSigmoid -> QLinearMul(conv, sig)
# -> QLinearAdd(.., conv) -> QLinearConcat(.., conv) -> QLinearGlobalAveragePool -> DequantizeLinear
import numpy as np, onnx, sys
from onnx import helper as h, TensorProto as T, numpy_helper as nh
rng = np.random.default_rng(0)
inits = []
def c(name, arr): inits.append(nh.from_array(np.asarray(arr), name)); return name
def sc(name, v): return c(name, np.array(v, np.float32))
def zp(name, v): return c(name, np.array(v, np.uint8))
w = rng.integers(-60, 60, (8, 3, 3, 3)).astype(np.int8)
nodes = [
  h.make_node("QuantizeLinear", ["x", sc("xs", 0.02), zp("xz", 128)], ["xq"]),
  h.make_node("QLinearConv", ["xq", "xs", "xz", c("w", w), sc("ws", 0.01), c("wz", np.array(0, np.int8)),
              sc("cs", 0.05), zp("cz", 120), c("b", rng.integers(-500, 500, 8).astype(np.int32))], ["cq"], pads=[1,1,1,1]),
  h.make_node("QLinearSigmoid", ["cq", "cs", "cz", sc("ss", 1/255.), zp("sz", 0)], ["sq"], domain="com.microsoft"),
  h.make_node("QLinearMul", ["cq", "cs", "cz", "sq", "ss", "sz", sc("ms", 0.03), zp("mz", 20)], ["mq"], domain="com.microsoft"),
  h.make_node("QLinearAdd", ["mq", "ms", "mz", "cq", "cs", "cz", sc("as", 0.06), zp("az", 100)], ["aq"], domain="com.microsoft"),
  h.make_node("QLinearConcat", [sc("ys", 0.06), zp("yz", 100), "aq", "as", "az", "cq", "cs", "cz"], ["kq"], axis=1, domain="com.microsoft"),
  h.make_node("QLinearGlobalAveragePool", ["kq", "ys", "yz", sc("gs", 0.04), zp("gz", 110)], ["gq"], channels_last=0, domain="com.microsoft"),
  h.make_node("DequantizeLinear", ["gq", "gs", "gz"], ["y"]),
]
g = h.make_graph(nodes, "qop", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 16, 16])],
                 [h.make_tensor_value_info("y", T.FLOAT, [1, 16, 1, 1])], inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13), h.make_opsetid("com.microsoft", 1)])
m.ir_version = 7
onnx.save(m, sys.argv[1])
np.random.default_rng(1).standard_normal((1, 3, 16, 16)).astype(np.float32).tofile(sys.argv[2])
