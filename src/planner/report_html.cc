#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "planner/report.h"
#include "util/html_escape.h"

namespace tenbin::planner {
namespace {

struct Point {
  double latency_ms, cost;
  bool accepted;
  std::string label;
};

// Tick values 1, 2, 5 x 10^k inside [lo, hi].
std::vector<double> ticks(double lo, double hi) {
  std::vector<double> out;
  for (double decade = std::pow(10, std::floor(std::log10(lo))); decade <= hi; decade *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      if (m * decade >= lo && m * decade <= hi) out.push_back(m * decade);
    }
  }
  return out;
}

// Log-scale axis mapping [lo, hi] onto [a, b] pixels.
struct Axis {
  double lo, hi, a, b;
  double map(double v) const {
    return a + (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) * (b - a);
  }
};

std::string chart(const std::vector<Point>& points, const std::string& latency_name) {
  if (points.empty()) return "<p>No configuration has both a latency and a cost to chart.</p>";
  double xlo = INFINITY, xhi = 0, ylo = INFINITY, yhi = 0;
  for (const Point& p : points) {
    xlo = std::min(xlo, p.latency_ms);
    xhi = std::max(xhi, p.latency_ms);
    ylo = std::min(ylo, p.cost);
    yhi = std::max(yhi, p.cost);
  }
  const Axis x{xlo / 1.5, xhi * 1.5, 70, 860};
  const Axis y{ylo / 1.5, yhi * 1.5, 460, 20};
  std::string svg = R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="900" height="520" )svg"
                    R"svg(font-family="sans-serif" font-size="11">)svg";
  svg += R"svg(<rect x="70" y="20" width="790" height="440" fill="none" stroke="#999"/>)svg";
  for (double d : ticks(x.lo, x.hi)) {
    svg += fmt::format(R"svg(<line x1="{0:.1f}" y1="20" x2="{0:.1f}" y2="460" stroke="#eee"/>)svg"
                       R"svg(<text x="{0:.1f}" y="476" text-anchor="middle">{1:g}</text>)svg",
                       x.map(d), d);
  }
  for (double d : ticks(y.lo, y.hi)) {
    svg += fmt::format(R"svg(<line x1="70" y1="{0:.1f}" x2="860" y2="{0:.1f}" stroke="#eee"/>)svg"
                       R"svg(<text x="64" y="{0:.1f}" text-anchor="end">${1:g}</text>)svg",
                       y.map(d), d);
  }
  svg +=
      fmt::format(R"svg(<text x="465" y="505" text-anchor="middle">{} (ms, log scale)</text>)svg",
                  html_escape(latency_name));
  svg += R"svg(<text x="16" y="240" transform="rotate(-90 16 240)" text-anchor="middle">)svg"
         R"svg(cost per 1K requests (USD, log scale)</text>)svg";
  // Frontier: accepted points not beaten on both latency and cost, by latency.
  std::vector<Point> frontier;
  for (const Point& p : points) {
    if (!p.accepted) continue;
    bool dominated = false;
    for (const Point& q : points) {
      if (q.accepted && q.latency_ms <= p.latency_ms && q.cost <= p.cost &&
          (q.latency_ms < p.latency_ms || q.cost < p.cost))
        dominated = true;
    }
    if (!dominated) frontier.push_back(p);
  }
  std::sort(frontier.begin(), frontier.end(),
            [](const Point& a, const Point& b) { return a.latency_ms < b.latency_ms; });
  if (frontier.size() > 1) {
    std::string path;
    for (const Point& p : frontier) {
      path += fmt::format("{:.1f},{:.1f} ", x.map(p.latency_ms), y.map(p.cost));
    }
    svg += fmt::format(
        R"svg(<polyline points="{}" fill="none" stroke="#1f77b4" stroke-width="2"/>)svg", path);
  }
  for (const Point& p : points) {
    svg += fmt::format(
        R"svg(<circle cx="{:.1f}" cy="{:.1f}" r="5" fill="{}" opacity="0.8"><title>{}</title></circle>)svg",
        x.map(p.latency_ms), y.map(p.cost), p.accepted ? "#1f77b4" : "#bbb", html_escape(p.label));
  }
  // Label frontier points, skipping any that would overlap the previous label.
  double last_y = -100, last_x = -1000;
  for (const Point& p : frontier) {
    const double px = x.map(p.latency_ms) + 7, py = y.map(p.cost) - 7;
    if (std::abs(py - last_y) < 12 && std::abs(px - last_x) < 150) continue;
    svg +=
        fmt::format(R"svg(<text x="{:.1f}" y="{:.1f}">{}</text>)svg", px, py, html_escape(p.label));
    last_x = px;
    last_y = py;
  }
  return svg + "</svg>";
}

}  // namespace

std::string plan_to_html(const PlanRequest& r, const PlanResult& result, const ReportOptions& o) {
  const bool decoder = r.model.kind == ModelKind::kDecoder;
  std::vector<Point> points;
  for (const PlanConfig& c : result.configs) {
    const double lat = decoder ? c.load.ttft_p99_ms : c.load.latency_p99_ms;
    if (!c.cost_per_1k_requests_usd || !(lat > 0) || !std::isfinite(lat) ||
        !(*c.cost_per_1k_requests_usd > 0))
      continue;
    points.push_back({lat, *c.cost_per_1k_requests_usd, c.accepted(),
                      fmt::format("{} x{} tp{} {}", c.device->id, c.count, c.tensor_parallel,
                                  quant_label(r, c.quant))});
  }
  std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>tenbin plan: " +
                     html_escape(r.model.name) +
                     "</title>\n<style>body{font-family:sans-serif;"
                     "margin:2em}table{border-collapse:collapse;font-size:12px}td,th{border:1px "
                     "solid #ccc;padding:3px 6px;text-align:right}td.l{text-align:left}"
                     "</style></head><body>\n";
  html += "<h1>tenbin plan: " + html_escape(r.model.name) + "</h1>\n";
  html += "<p>" +
          html_escape(fmt::format("{} requests in flight, {} input tokens", r.workload.concurrency,
                                  r.workload.input_len)) +
          (decoder ? html_escape(fmt::format(", {} output tokens", r.workload.output_len)) : "") +
          ". SLO: " + html_escape(describe_slo(r.slo)) + ". " + html_escape(o.calibration) +
          "</p>\n";
  html +=
      "<h2>Cost against latency</h2>\n<p>Blue: meets every constraint (the line joins the "
      "frontier: nothing is both cheaper and faster); grey: ruled out.</p>\n";
  html += chart(points, decoder ? "TTFT p99" : "latency p99");
  html +=
      "\n<h2>Configurations</h2>\n<table><tr><th>gpu</th><th>n</th><th>tp</th><th>quant</th>"
      "<th>TTFT/latency p99 ms</th><th>TPOT ms</th><th>max concurrency</th><th>$/hour</th>"
      "<th>$/1K requests</th><th>ruled out because</th></tr>\n";
  for (const PlanConfig& c : result.configs) {
    html += fmt::format(
        "<tr><td class=l>{}</td><td>{}</td><td>{}</td><td class=l>{}</td><td>{:.1f}</td>"
        "<td>{:.1f}</td><td>{}</td><td>{}</td><td>{}</td><td class=l>{}</td></tr>\n",
        html_escape(c.device->id), c.count, c.tensor_parallel, html_escape(quant_label(r, c.quant)),
        decoder ? c.load.ttft_p99_ms : c.load.latency_p99_ms, c.load.tpot_ms, c.max_concurrency,
        c.price_per_hour_usd ? fmt::format("{:.2f}", *c.price_per_hour_usd) : "-",
        c.cost_per_1k_requests_usd ? fmt::format("{:.4f}", *c.cost_per_1k_requests_usd) : "-",
        html_escape(c.rejected_because));
  }
  return html + "</table>\n</body></html>\n";
}

}  // namespace tenbin::planner
