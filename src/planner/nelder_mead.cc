#include "planner/nelder_mead.h"

#include <algorithm>

namespace tenbin::planner {

void nelder_mead(const std::function<double(const std::vector<double>&)>& f, std::vector<double>& x,
                 double step, int iterations) {
  const size_t n = x.size();
  std::vector<std::vector<double>> pts(n + 1, x);
  for (size_t i = 0; i < n; ++i) pts[i + 1][i] += step;
  std::vector<double> val(n + 1);
  for (size_t i = 0; i <= n; ++i) val[i] = f(pts[i]);
  for (int it = 0; it < iterations; ++it) {
    std::vector<size_t> order(n + 1);
    for (size_t i = 0; i <= n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return val[a] < val[b]; });
    const size_t best = order[0], worst = order[n], second = order[n - 1];
    std::vector<double> centroid(n, 0.0);
    for (size_t i = 0; i < n; ++i) {
      for (size_t k = 0; k < n; ++k) centroid[k] += pts[order[i]][k] / n;
    }
    auto along = [&](double t) {
      std::vector<double> p(n);
      for (size_t k = 0; k < n; ++k) p[k] = centroid[k] + t * (pts[worst][k] - centroid[k]);
      return p;
    };
    const std::vector<double> refl = along(-1.0);
    const double fr = f(refl);
    if (fr < val[best]) {
      const std::vector<double> exp = along(-2.0);
      const double fe = f(exp);
      pts[worst] = fe < fr ? exp : refl;
      val[worst] = std::min(fe, fr);
    } else if (fr < val[second]) {
      pts[worst] = refl;
      val[worst] = fr;
    } else {
      const std::vector<double> con = along(0.5);
      const double fc = f(con);
      if (fc < val[worst]) {
        pts[worst] = con;
        val[worst] = fc;
      } else {
        for (size_t i = 0; i <= n; ++i) {
          if (i == best) continue;
          for (size_t k = 0; k < n; ++k)
            pts[i][k] = pts[best][k] + 0.5 * (pts[i][k] - pts[best][k]);
          val[i] = f(pts[i]);
        }
      }
    }
  }
  x = pts[std::min_element(val.begin(), val.end()) - val.begin()];
}

}  // namespace tenbin::planner
