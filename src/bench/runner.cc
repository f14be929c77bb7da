#include "bench/runner.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <deque>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "bench/arrivals.h"
#include "bench/request_body.h"
#include "bench/stream_accumulator.h"
#include "util/http_client/sse_parser.h"
#include "util/http_client/url.h"

namespace tenbin::bench {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using http_client::HttpErrorKind;
using http_client::HttpResult;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The message of an OpenAI error body, else the body's start.
std::string error_message(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error")) {
    const auto& e = j["error"];
    if (e.is_object() && e.contains("message") && e["message"].is_string()) {
      return e["message"].get<std::string>();
    }
    if (e.is_string()) return e.get<std::string>();
  }
  return body.substr(0, 200);
}

struct Exchange {
  RequestRecord record;
  Clock::time_point start;
  int status = 0;
  std::string error_body;
  http_client::SseParser sse;
  StreamAccumulator stream;
};

void finalize(Exchange& x, const HttpResult& result, const BenchPrompt& prompt) {
  RequestRecord& r = x.record;
  r.e2el_s = seconds_between(x.start, Clock::now());
  r.prompt_tokens = prompt.prompt_tokens;
  r.requested_output_tokens = prompt.output_tokens;
  const auto& times = x.stream.token_times_s();
  if (!times.empty()) {
    r.ttft_s = times.front();
    for (size_t i = 1; i < times.size(); ++i) r.itl_s.push_back(times[i] - times[i - 1]);
  }
  if (!result.ok()) {
    r.error_class = std::string(http_client::error_kind_name(result.error));
    r.error = result.message;
  } else if (result.status != 200) {
    r.error_class = "http_" + std::to_string(result.status);
    r.error = error_message(x.error_body);
  } else if (!x.stream.error().empty()) {
    r.error_class = "stream_error";
    r.error = x.stream.error();
  } else if (times.empty()) {
    r.error_class = "empty_response";
    r.error = "the stream carried no text";
  } else {
    r.success = true;
  }
  if (x.stream.usage_prompt_tokens() >= 0) r.prompt_tokens = x.stream.usage_prompt_tokens();
  if (x.stream.usage_completion_tokens() >= 0) {
    r.output_tokens = x.stream.usage_completion_tokens();
    r.tokens_from_usage = true;
  } else {
    r.output_tokens = static_cast<int64_t>(times.size());
  }
}

class LevelRun {
 public:
  LevelRun(const BenchConfig& config, const LoadLevel& level,
           const std::vector<BenchPrompt>& prompts, const RunHooks& hooks,
           const http_client::HttpUrl& url)
      : config_(config),
        level_(level),
        prompts_(prompts),
        hooks_(hooks),
        client_(io_, {.host = url.host, .port = url.port}),
        arrivals_(level.rate, config.burstiness, config.seed),
        arrival_timer_(io_),
        progress_timer_(io_),
        duration_timer_(io_),
        signals_(io_) {
    std::string base = url.base_path;
    if (base.ends_with("/v1")) base.resize(base.size() - 3);
    target_ = base + endpoint_path(config.endpoint);
  }

  RunResult run() {
    if (hooks_.stop_on_sigint) {
      signals_.add(SIGINT);
      signals_.async_wait([this](boost::system::error_code ec, int) {
        if (!ec) interrupt();
      });
    }
    schedule_progress();
    if (config_.warmup > 0) {
      start_warmup();
    } else {
      start_measured();
    }
    io_.run();
    RunResult out;
    out.duration_s = duration_s_;
    out.interrupted = interrupted_;
    out.client = client_.stats();
    std::sort(records_.begin(), records_.end(),
              [](const RequestRecord& a, const RequestRecord& b) { return a.index < b.index; });
    out.records = std::move(records_);
    return out;
  }

 private:
  int cap() const { return level_.concurrency; }

  void start_warmup() {
    warming_up_ = true;
    for (int64_t i = 0; i < config_.warmup; ++i) pending_.push_back(config_.num_requests + i);
    arrivals_done_ = true;
    pump();
  }

  void start_measured() {
    warming_up_ = false;
    arrivals_done_ = false;
    pending_.clear();
    t0_ = Clock::now();
    next_arrival_s_ = 0;
    if (config_.duration_s > 0) {
      duration_timer_.expires_at(t0_ + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(config_.duration_s)));
      duration_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) stop_arrivals();
      });
    }
    arrive();
  }

  // Releases every request whose arrival time has come, then waits for the next one.
  void arrive() {
    while (!arrivals_done_) {
      if (next_index_ >= config_.num_requests) {
        arrivals_done_ = true;
        break;
      }
      const double elapsed = seconds_between(t0_, Clock::now());
      if (next_arrival_s_ > elapsed) {
        arrival_timer_.expires_at(t0_ + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(next_arrival_s_)));
        arrival_timer_.async_wait([this](boost::system::error_code ec) {
          if (!ec) arrive();
        });
        break;
      }
      pending_.push_back(next_index_++);
      next_arrival_s_ += arrivals_.next_s();
    }
    pump();
  }

  void pump() {
    while (!pending_.empty() && (cap() <= 0 || in_flight_ < cap())) {
      const int64_t index = pending_.front();
      pending_.pop_front();
      send(index);
    }
    maybe_finish();
  }

  void send(int64_t index) {
    const BenchPrompt& prompt = prompts_[static_cast<size_t>(index) % prompts_.size()];
    auto x = std::make_shared<Exchange>();
    x->record.index = index;
    x->start = Clock::now();
    x->record.start_s = warming_up_ ? 0.0 : seconds_between(t0_, x->start);
    ++in_flight_;
    http_client::HttpClientRequest req;
    req.method = "POST";
    req.target = target_;
    req.body = request_body(config_, prompt);
    req.timeout = std::chrono::milliseconds(static_cast<int64_t>(config_.request_timeout_s * 1e3));
    if (!config_.api_key.empty())
      req.headers.emplace_back("Authorization", "Bearer " + config_.api_key);
    req.headers.emplace_back("Accept", "text/event-stream");
    http_client::HttpResponseHandlers h;
    h.on_headers = [x](int status, const auto&) { x->status = status; };
    h.on_body = [x](std::string_view bytes) {
      if (x->status != 200) {
        if (x->error_body.size() < 4096) x->error_body.append(bytes.substr(0, 4096));
        return;
      }
      const double t = seconds_between(x->start, Clock::now());
      x->sse.feed(bytes, [&](std::string_view data) { x->stream.on_event(data, t); });
    };
    const bool warm = warming_up_;
    h.on_done = [this, x, &prompt, warm](const HttpResult& result) {
      --in_flight_;
      if (result.error == HttpErrorKind::kCancelled) return maybe_finish();
      finalize(*x, result, prompt);
      if (!warm) {
        ++finished_;
        if (!x->record.success) ++failed_;
        if (x->record.success) output_tokens_ += x->record.output_tokens;
        last_end_ = Clock::now();
        records_.push_back(std::move(x->record));
      }
      pump();
    };
    client_.send(std::move(req), std::move(h));
  }

  void maybe_finish() {
    if (!arrivals_done_ || !pending_.empty() || in_flight_ > 0 || finished_run_) return;
    if (warming_up_ && !interrupted_) return start_measured();
    finished_run_ = true;
    duration_s_ = records_.empty() ? 0.0 : seconds_between(t0_, last_end_);
    arrival_timer_.cancel();
    duration_timer_.cancel();
    progress_timer_.cancel();
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    report_progress();
  }

  void stop_arrivals() {
    arrivals_done_ = true;
    pending_.clear();
    arrival_timer_.cancel();
    maybe_finish();
  }

  void interrupt() {
    interrupted_ = true;
    stop_arrivals();
    client_.cancel_all();
  }

  void schedule_progress() {
    if (!hooks_.on_progress) return;
    progress_timer_.expires_after(std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(hooks_.progress_interval_s)));
    progress_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || finished_run_) return;
      report_progress();
      schedule_progress();
    });
  }

  void report_progress() {
    if (!hooks_.on_progress) return;
    RunProgress p;
    p.total = config_.num_requests;
    p.finished = finished_;
    p.failed = failed_;
    p.in_flight = in_flight_;
    p.output_tokens = output_tokens_;
    p.elapsed_s = warming_up_ ? 0.0 : seconds_between(t0_, Clock::now());
    p.warming_up = warming_up_;
    hooks_.on_progress(p);
  }

  const BenchConfig& config_;
  const LoadLevel& level_;
  const std::vector<BenchPrompt>& prompts_;
  const RunHooks& hooks_;
  asio::io_context io_;
  http_client::HttpClient client_;
  ArrivalGaps arrivals_;
  asio::steady_timer arrival_timer_;
  asio::steady_timer progress_timer_;
  asio::steady_timer duration_timer_;
  asio::signal_set signals_;
  std::string target_;

  std::deque<int64_t> pending_;
  std::vector<RequestRecord> records_;
  Clock::time_point t0_ = Clock::now();
  Clock::time_point last_end_ = Clock::now();
  double next_arrival_s_ = 0;
  double duration_s_ = 0;
  int64_t next_index_ = 0;
  int64_t in_flight_ = 0;
  int64_t finished_ = 0;
  int64_t failed_ = 0;
  int64_t output_tokens_ = 0;
  bool warming_up_ = false;
  bool arrivals_done_ = false;
  bool finished_run_ = false;
  bool interrupted_ = false;
};

}  // namespace

Expected<RunResult> run_level(const BenchConfig& config, const LoadLevel& level,
                              const std::vector<BenchPrompt>& prompts, const RunHooks& hooks) {
  auto url = http_client::parse_http_url(config.url);
  if (!url.ok()) return url.status();
  if (prompts.empty()) return Status::Error("no prompts to send");
  if (config.num_requests < 1) return Status::Error("--num-requests must be at least 1");
  LevelRun run(config, level, prompts, hooks, *url);
  return run.run();
}

}  // namespace tenbin::bench
