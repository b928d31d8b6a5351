#include "tune/report_html.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>

#include "tune/svg_chart.h"
#include "tune/workspace.h"

namespace qtune::tune {

namespace {

using svg::escape;

const char *kStyle = R"(<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;padding:0 16px;max-width:1100px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 8px;border-bottom:1px solid #eee;
text-align:left;font-variant-numeric:tabular-nums}th{background:#f4f4f4}td.n{text-align:right}
.int8{color:#fff;background:#2a7ab0}.bf16{color:#fff;background:#8a5ab0}.fp32{color:#fff;
background:#b05a2a}.p{padding:1px 6px;border-radius:3px;font-size:12px}.note{color:#666}
svg{display:block;margin:6px 0}.ct{font-size:13px;font-weight:600}.tick,.lg{font-size:11px}
.al{font-size:12px}.plot{fill:#fafafa;stroke:#bbb}.grid{stroke:#e4e4e4}.bar{fill:#2a7ab0}
.hbar{fill:#555}.qrange{fill:#2a7ab0;opacity:.18}.ci{stroke-width:1.5;opacity:.6}
.hists{display:flex;flex-wrap:wrap;gap:8px}.ok{color:#1a7f37}.bad{color:#b3261e}
</style>)";

std::string page(const std::string &title, const std::string &body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         escape(title) + "</title>" + kStyle + "</head><body>\n" + body + "</body></html>\n";
}

std::string num(double v, const char *f = "{:.4f}") {
  return std::isfinite(v) ? fmt::format(fmt::runtime(f), v) : "inf";
}

std::string objective_text(const ReportData &d, double v) {
  return d.objective_kind == "performance" ? fmt::format("{:.3f} ms", v)
                                           : fmt::format("{:.1f} KB", v / 1024);
}

std::string summary_section(const ReportData &d) {
  auto ops = [&](const std::string &p) {
    auto it = d.ops_by_precision.find(p);
    return it == d.ops_by_precision.end() ? int64_t(0) : it->second;
  };
  std::string s =
      "<h2>Summary</h2><table id=\"summary\"><tr><th></th><th>FP32</th><th>best</th></tr>";
  if (!d.performance_only)
    s += fmt::format("<tr><td>accuracy</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                     num(d.baseline_accuracy), num(d.best_accuracy));
  s += fmt::format("<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                   d.objective_kind == "performance" ? "latency" : "model size (objective)",
                   objective_text(d, d.baseline_objective), objective_text(d, d.best_objective));
  s += fmt::format("<tr><td>model file</td><td class=\"n\">{:.1f} KB</td><td class=\"n\">{:.1f} "
                   "KB</td></tr>",
                   d.fp32_bytes / 1024.0, d.best_bytes / 1024.0);
  s += fmt::format("<tr><td>ops int8 / bf16 / fp32</td><td class=\"n\">0 / 0 / {}</td><td "
                   "class=\"n\">{} / {} / {}</td></tr></table>",
                   d.precision.size(), ops("int8"), ops("bf16"), ops("fp32"));
  s += fmt::format("<p>Goal <b class=\"{}\">{}</b>: {} accuracy loss at most {} (accuracy {} {}). "
                   "Strategy <b>{}</b>, {} trials.</p>",
                   d.goal_met ? "ok" : "bad", d.goal_met ? "met" : "not met",
                   d.relative ? "relative" : "absolute", d.criterion,
                   d.higher_is_better ? "&ge;" : "&le;", num(d.goal_accuracy()), escape(d.strategy),
                   d.trials.size());
  return s;
}

std::string trials_section(const ReportData &d) {
  std::string s = "<h2>Trials</h2><div id=\"trials\">";
  if (d.trials.empty())
    return s + "<p class=\"note\">No accuracy trials (performance_only run).</p></div>";
  const bool perf = d.objective_kind == "performance";
  svg::Series acc, obj;
  acc.label = "accuracy", acc.color = "#2a7ab0";
  obj.label = perf ? "latency" : "size", obj.color = "#b05a2a";
  bool any_ci = false;
  for (const ReportTrial &t : d.trials) {
    acc.x.push_back(t.index), acc.y.push_back(t.accuracy), acc.highlight.push_back(t.meets);
    acc.lo.push_back(t.ci_low), acc.hi.push_back(t.ci_high);
    any_ci = any_ci || std::isfinite(t.ci_low);
    obj.x.push_back(t.index), obj.highlight.push_back(t.meets);
    obj.y.push_back(d.objective_kind == "performance" ? t.objective : t.objective / 1024);
  }
  s += svg::line_chart(
      "Accuracy per trial (filled: meets the goal)", "trial", "accuracy", {acc},
      {{d.baseline_accuracy, "FP32", "#888", false}, {d.goal_accuracy(), "goal", "#b3261e", true}},
      900, 300);
  s += svg::line_chart(
      perf ? "Latency per trial" : "Model size per trial", "trial",
      perf ? "latency (ms)" : "size (KB)", {obj},
      {{perf ? d.baseline_objective : d.baseline_objective / 1024, "FP32", "#888", false}}, 900,
      260);
  s += any_ci ? "<p class=\"note\">Bars: the accuracy interval of the paired-bootstrap loss "
                "interval recorded in history.jsonl.</p>"
              : "<p class=\"note\">No confidence intervals in history.jsonl for these "
                "trials.</p>";
  s += "<details><summary>Trial table</summary><table><tr><th>#</th><th>plan</th><th>accuracy"
       "</th><th>objective</th><th>seconds</th><th></th></tr>";
  for (const ReportTrial &t : d.trials)
    s += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                     "<td class=\"n\">{:.1f}</td><td>{}{}</td></tr>",
                     t.index, escape(t.summary), num(t.accuracy), objective_text(d, t.objective),
                     t.seconds, t.meets ? "meets goal" : "", t.resumed ? " (from history)" : "");
  return s + "</table></details></div>";
}

std::string ranking_section(const ReportData &d) {
  std::string s = "<h2>Per-op sensitivity</h2><div id=\"ranking\">";
  std::vector<std::string> labels;
  std::vector<double> values;
  for (const auto &[name, v] : d.ranking) {
    if (labels.size() >= 30)
      break;
    labels.push_back(name);
    values.push_back(std::max(0.0, v));
  }
  if (labels.empty())
    return s + "<p class=\"note\">No ranking: no ranking.json in the workspace and no trial "
               "that differs from an earlier one by a single op's fallback.</p></div>";
  s += svg::bar_chart("Most sensitive ops (top " + std::to_string(labels.size()) + ")", labels,
                      values, "", 900);
  return s + "<p class=\"note\">Source: " + escape(d.ranking_source) + ".</p></div>";
}

std::string precision_section(const ReportData &d) {
  std::string s = "<h2>Precision map</h2><table id=\"precision\"><tr><th>op</th><th>type</th>"
                  "<th>precision</th><th>why</th></tr>";
  for (const ReportOp &op : d.precision)
    s += fmt::format("<tr><td>{}</td><td>{}</td><td><span class=\"p {}\">{}</span></td><td>{}</td>"
                     "</tr>",
                     escape(op.name), escape(op.op_type), op.precision, op.precision,
                     escape(op.why));
  s += "</table>";
  if (!d.precision_note.empty())
    s += "<p class=\"note\">Not read: " + escape(d.precision_note) + "</p>";
  return s;
}

std::string error_table(const quant::CompareResult &r, size_t max_rows) {
  std::string s = "<table id=\"errors\"><tr><th>tensor (FP32 name)</th><th>SQNR dB</th><th>"
                  "rel L2</th><th>max |diff|</th><th>elements</th><th>matched as</th></tr>";
  size_t n = 0;
  for (const auto &e : r.rows) {
    if (n++ >= max_rows)
      break;
    s += fmt::format("<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.4g}</td><td "
                     "class=\"n\">{:.4g}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                     escape(e.name), num(e.sqnr_db, "{:.2f}"), e.rel_l2, e.max_abs, e.numel,
                     e.quantized ? "Q/DQ: " + escape(e.matched) : "same name");
  }
  s += "</table>";
  s += fmt::format("<p class=\"note\">{} tensors compared on {} samples{}, worst (lowest SQNR) "
                   "first. SQNR = 10 log10(&Sigma;x&sup2; / &Sigma;(x&minus;x')&sup2;), x the FP32 "
                   "tensor, x' the quantized model's (its DequantizeLinear output for Q/DQ "
                   "tensors).</p>",
                   r.rows.size(), r.samples,
                   r.rows.size() > max_rows ? fmt::format(" ({} shown)", max_rows) : "");
  for (const auto &note : r.skipped)
    s += "<p class=\"note\">skipped " + escape(note) + "</p>";
  return s;
}

std::string histogram_section(const quant::CompareResult &r, size_t count) {
  std::string s = "<h2>Calibration ranges of the worst tensors</h2><div class=\"hists\" "
                  "id=\"histograms\">";
  size_t n = 0;
  for (const auto &e : r.rows) {
    if (!e.quantized || e.histogram.empty() || n >= count)
      continue;
    ++n;
    s += svg::histogram(fmt::format("{} ({} dB)", e.name, num(e.sqnr_db, "{:.1f}")), e.histogram,
                        e.hist_lo, e.hist_hi, e.q_lo, e.q_hi, 360, 150);
  }
  s += "</div><p class=\"note\">FP32 values of the first input batch (log counts); shaded: the "
       "range "
       "the int8 tensor can represent (its QuantizeLinear scale and zero point).</p>";
  return s;
}

} // namespace

std::string report_html(const ReportData &d) {
  std::string body = fmt::format(
      "<h1>qtune report: {}</h1><p class=\"note\">Workspace {}<br>FP32 {}<br>best {}</p>",
      escape(d.model_name.empty() ? d.fp32_model : d.model_name), escape(d.workspace),
      escape(d.fp32_model), escape(d.best_model));
  body += summary_section(d) + trials_section(d) + ranking_section(d) + precision_section(d);
  body += "<h2>Per-tensor error of the best model</h2>";
  if (d.errors) {
    body += error_table(*d.errors, 40) + histogram_section(*d.errors, 6);
  } else {
    body += "<p class=\"note\" id=\"errors\">Not measured: " + escape(d.errors_note) + "</p>";
  }
  return page("qtune report " + d.model_name, body);
}

std::string compare_html(const std::string &fp32_model, const std::string &quant_model,
                         const quant::CompareResult &r) {
  std::string body = fmt::format("<h1>qtune compare</h1><p class=\"note\">FP32 {}<br>quantized "
                                 "{}</p><h2>Per-tensor error</h2>",
                                 escape(fp32_model), escape(quant_model));
  body += error_table(r, r.rows.size()) + histogram_section(r, 6);
  return page("qtune compare", body);
}

std::string write_workspace_report(const std::string &workspace, size_t samples, int threads) {
  const ReportData d = load_report_data(workspace, samples, threads);
  const std::string path = (std::filesystem::path(workspace) / "report.html").string();
  write_file_atomic(path, report_html(d));
  return path;
}

std::string write_tuning_report(const Config &config, const TuneResult &r,
                                const std::string &config_path, size_t samples, int threads) {
  save_report_inputs(config, r, config_path);
  return write_workspace_report(config.tuning.workspace_path, samples, threads);
}

} // namespace qtune::tune
