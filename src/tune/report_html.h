#pragma once
// The self-contained HTML pages: the tuning report (report.html in the
// workspace) and `qtune compare --html`. Inline CSS and SVG only: no script,
// no network, so the file opens anywhere and can be attached to a ticket.
#include <string>

#include "quant/compare.h"
#include "tune/report_data.h"

namespace qtune::tune {

std::string report_html(const ReportData &d);
std::string compare_html(const std::string &fp32_model, const std::string &quant_model,
                         const quant::CompareResult &r);

// After `qtune tune`: saves report_inputs.json and writes report.html into the
// run's workspace; returns its path.
std::string write_tuning_report(const Config &config, const TuneResult &r,
                                const std::string &config_path, size_t samples, int threads);

// report_html of the workspace written to <workspace>/report.html; returns its path.
std::string write_workspace_report(const std::string &workspace, size_t samples, int threads);

} // namespace qtune::tune
