"""ort_conv_table.py MODEL ORT.json... -- QTUNE.json...: per-conv times (FP32 or QDQ models) (ms per run, each
node's smallest over the given profiles) of ONNX Runtime and qtune on one ONNX model, as a
markdown table with the ratio qtune / ORT, then the other nodes of both. Run by
bench/ort_conv_table.sh."""
import collections
import json
import sys

import onnx


def conv_chains(model):
    """ONNX Conv node -> its output and the outputs of the Relu / Add / Clip chain after it."""
    readers = collections.defaultdict(list)
    for n in model.graph.node:
        for i in n.input:
            readers[i].append(n)
    chains = {}
    for n in model.graph.node:
        if n.op_type != "Conv":
            continue
        outs = [n.output[0]]
        while len(readers[outs[-1]]) == 1 and readers[outs[-1]][0].op_type in ("Relu", "Add", "Clip"):
            outs.append(readers[outs[-1]][0].output[0])
        chains[n.name] = outs
    return chains


def ort_nodes(path):
    """Node -> ms per run, counting the model runs after the 5 warm-ups ort_profile makes."""
    ev = json.load(open(path))
    runs = sorted(e["ts"] for e in ev if e.get("cat") == "Session" and e["name"] == "model_run")
    start = runs[5] if len(runs) > 5 else 0
    n = max(1, sum(1 for t in runs if t >= start))
    out = collections.Counter()
    for e in ev:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e["ts"] >= start:
            out[e["name"][: -len("_kernel_time")]] += e["dur"] / 1000.0 / n
    return out


def smallest(tables):
    best = {}
    for t in tables:
        for k, v in t.items():
            best[k] = min(v, best.get(k, v))
    return best


def main():
    args = sys.argv[1:]
    sep = args.index("--")
    model = onnx.load(args[0], load_external_data=False)
    ort = smallest(ort_nodes(p) for p in args[1:sep])
    runs = [json.load(open(p))["profile"]["nodes"] for p in args[sep + 1:]]
    qt = smallest({n["name"]: n["ms_per_run"] for n in r} for r in runs)
    impl = {n["name"]: n["implementation"] for n in runs[0]}
    print("| conv | qtune ms | ORT ms | ratio | qtune kernel |\n|---|---:|---:|---:|---|")
    used, tq, to = set(), 0.0, 0.0
    for conv, outs in conv_chains(model).items():
        # ORT's QDQ fusions (QLinearConv) keep the Conv's name plus "_token_<n>".
        tokens = sorted(k for k in ort if k.startswith(conv + "_token_"))
        cands = [conv] + [o + "_nchwc" for o in outs] + outs + tokens
        name = next((c for c in cands if c in ort and c not in used), None)
        if name is None or conv not in qt:
            continue
        used.add(name)
        tq, to = tq + qt[conv], to + ort[name]
        print("| %s | %.3f | %.3f | %.2f | %s |" % (conv, qt[conv], ort[name], qt[conv] / ort[name], impl.get(conv, "")))
    print("| **all matched convs** | **%.2f** | **%.2f** | **%.2f** | |" % (tq, to, tq / to))
    rest_o = sorted(((v, k) for k, v in ort.items() if k not in used), reverse=True)
    rest_q = sorted(((v, k) for k, v in qt.items() if k not in conv_chains(model)), reverse=True)
    print("\nother ORT nodes (%.2f ms in all): " % sum(v for v, _ in rest_o)
          + ", ".join("%s %.3f" % (k, v) for v, k in rest_o[:10]))
    print("other qtune nodes (%.2f ms in all): " % sum(v for v, _ in rest_q)
          + ", ".join("%s %.3f" % (k, v) for v, k in rest_q[:10]))


if __name__ == "__main__":
    main()
