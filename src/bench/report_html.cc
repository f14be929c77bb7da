#include "bench/report_html.h"

#include <nlohmann/json.hpp>

#include "bench/report_json.h"
#include "util/html_escape.h"

namespace tenbin::bench {
namespace {

// JSON inside <script> must not contain "</" (it could close the element).
std::string script_safe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else {
      out += json[i];
    }
  }
  return out;
}

}  // namespace

std::string render_html(const std::vector<RunReport>& runs) {
  nlohmann::json data;
  data["runs"] = nlohmann::json::array();
  for (const RunReport& r : runs) {
    nlohmann::json j = run_to_json(r);
    for (const char* bulky : {"input_lens", "output_lens", "ttfts", "itls", "errors"})
      j.erase(bulky);
    data["runs"].push_back(std::move(j));
  }
  const std::string title =
      runs.empty() ? "tenbin bench" : "tenbin bench: " + runs.front().config.model;
  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>" + html_escape(title) + "</title>\n<style>\n";
  html += kReportCss;
  html += "</style>\n</head>\n<body>\n<h1>" + html_escape(title) + "</h1>\n";
  html += "<div id=\"report\"></div>\n";
  html += "<script type=\"application/json\" id=\"bench-data\">";
  html += script_safe(data.dump());
  html += "</script>\n<script>\n";
  html += kReportScript;
  html += "</script>\n</body>\n</html>\n";
  return html;
}

}  // namespace tenbin::bench
