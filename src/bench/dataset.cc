#include "bench/dataset.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

namespace tenbin::bench {
namespace {

// Short common words: one token each (with their leading space) in the usual BPE and
// SentencePiece vocabularies, so a prompt of n words is close to n tokens.
constexpr const char* kWords[] = {
    "the",   "of",    "and",   "to",     "in",   "is",   "you",   "that",   "it",    "he",
    "was",   "for",   "on",    "are",    "as",   "with", "his",   "they",   "at",    "be",
    "this",  "have",  "from",  "or",     "one",  "had",  "by",    "word",   "but",   "not",
    "what",  "all",   "were",  "we",     "when", "your", "can",   "said",   "there", "use",
    "an",    "each",  "which", "she",    "do",   "how",  "their", "if",     "will",  "up",
    "other", "about", "out",   "many",   "then", "them", "these", "so",     "some",  "her",
    "would", "make",  "like",  "him",    "into", "time", "has",   "look",   "two",   "more",
    "write", "go",    "see",   "number", "no",   "way",  "could", "people", "my",    "than",
    "first", "water", "been",  "call",   "who",  "oil",  "its",   "now",    "find",  "long",
    "down",  "day",   "did",   "get",    "come", "made", "may",   "part",   "sun",   "cat"};

int64_t draw_length(int64_t nominal, double ratio, std::mt19937_64& rng) {
  if (ratio <= 0) return std::max<int64_t>(1, nominal);
  const auto lo = static_cast<int64_t>(std::floor(nominal * (1.0 - ratio)));
  const auto hi = static_cast<int64_t>(std::ceil(nominal * (1.0 + ratio)));
  std::uniform_int_distribution<int64_t> dist(std::max<int64_t>(1, lo), std::max<int64_t>(1, hi));
  return dist(rng);
}

std::vector<BenchPrompt> random_prompts(const DatasetOptions& o, int64_t count,
                                        std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> word(0, std::size(kWords) - 1);
  std::vector<BenchPrompt> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    BenchPrompt p;
    p.prompt_tokens = draw_length(o.input_len, o.range_ratio, rng);
    p.output_tokens = draw_length(o.output_len, o.range_ratio, rng);
    for (int64_t w = 0; w < p.prompt_tokens; ++w) {
      if (w > 0) p.text += ' ';
      p.text += kWords[word(rng)];
    }
    out.push_back(std::move(p));
  }
  return out;
}

Expected<std::vector<BenchPrompt>> jsonl_prompts(const DatasetOptions& o) {
  std::ifstream in(o.source);
  if (!in) return Status::Errorf("cannot open dataset '{}'", o.source);
  std::vector<BenchPrompt> out;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return Status::Errorf("{}:{}: not a JSON object", o.source, line_no);
    }
    BenchPrompt p;
    if (j.contains("prompt") && j["prompt"].is_string()) {
      p.text = j["prompt"].get<std::string>();
    } else if (j.contains("messages") && j["messages"].is_array() && !j["messages"].empty()) {
      p.messages = j["messages"];
      for (const auto& m : p.messages) {
        if (m.contains("content") && m["content"].is_string()) {
          p.text += m["content"].get<std::string>() + "\n";
        }
      }
    } else {
      return Status::Errorf("{}:{}: needs a \"prompt\" string or a \"messages\" array", o.source,
                            line_no);
    }
    p.prompt_tokens = estimate_tokens(p.text);
    p.output_tokens = o.output_len;
    for (const char* key : {"output_len", "max_tokens"}) {
      if (!o.output_len_given && j.contains(key) && j[key].is_number_integer()) {
        p.output_tokens = std::max<int64_t>(1, j[key].get<int64_t>());
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string turn_text(const nlohmann::json& turn) {
  for (const char* key : {"value", "content", "text"}) {
    if (turn.contains(key) && turn[key].is_string()) return turn[key].get<std::string>();
  }
  return "";
}

Expected<std::vector<BenchPrompt>> sharegpt_prompts(const DatasetOptions& o) {
  std::ifstream in(o.source);
  if (!in) return Status::Errorf("cannot open dataset '{}'", o.source);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) {
    return Status::Errorf("{}: expected a JSON array of {{\"conversations\": [...]}}", o.source);
  }
  std::vector<BenchPrompt> out;
  for (const auto& entry : doc) {
    if (!entry.is_object() || !entry.contains("conversations")) continue;
    const auto& turns = entry["conversations"];
    if (!turns.is_array() || turns.size() < 2) continue;
    BenchPrompt p;
    p.text = turn_text(turns[0]);
    const std::string reply = turn_text(turns[1]);
    p.prompt_tokens = estimate_tokens(p.text);
    const int64_t reply_tokens = estimate_tokens(reply);
    // As vLLM's ShareGPT sampling: skip very short pairs and very long ones.
    if (p.prompt_tokens < 4 || reply_tokens < 4) continue;
    if (p.prompt_tokens > 1024 || p.prompt_tokens + reply_tokens > 2048) continue;
    p.output_tokens = o.output_len_given ? o.output_len : reply_tokens;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

int64_t estimate_tokens(const std::string& text) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(text.size() / 4.0)));
}

Expected<std::vector<BenchPrompt>> load_dataset(const DatasetOptions& options, int64_t count,
                                                uint64_t seed) {
  std::mt19937_64 rng(seed);
  if (count <= 0) return std::vector<BenchPrompt>{};
  if (options.source == "random") {
    if (options.input_len < 1 || options.output_len < 1) {
      return Status::Error("--input-len and --output-len must be at least 1");
    }
    if (options.range_ratio < 0 || options.range_ratio >= 1) {
      return Status::Errorf("--range-ratio {} must be in [0, 1)", options.range_ratio);
    }
    return random_prompts(options, count, rng);
  }
  const bool jsonl = options.source.ends_with(".jsonl");
  auto pool = jsonl ? jsonl_prompts(options) : sharegpt_prompts(options);
  if (!pool.ok()) return pool.status();
  if (pool->empty()) return Status::Errorf("dataset '{}' holds no usable prompts", options.source);
  std::shuffle(pool->begin(), pool->end(), rng);
  std::vector<BenchPrompt> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out.push_back((*pool)[static_cast<size_t>(i) % pool->size()]);
  return out;
}

}  // namespace tenbin::bench
