// `tenbin inspect MODEL.gguf`: prints a GGUF file's header, the hyper-parameters and tokenizer
// summary a user looks for first, every other metadata key (arrays summarized), then every
// tensor with its type, shape and size, and the totals. Errors go to stderr with exit code 1.
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "model/gguf/gguf_file.h"

namespace tenbin::cli {
namespace {

constexpr size_t kArrayItemsShown = 4;
constexpr size_t kStringCharsShown = 60;

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == kStringCharsShown) {
      out += fmt::format("...\" ({} bytes)", s.size());
      return out;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string format_scalar(const GgufValue& v) {
  switch (v.type) {
    case GgufType::kUint8:
    case GgufType::kUint16:
    case GgufType::kUint32:
    case GgufType::kUint64:
      return fmt::format("{}", v.u);
    case GgufType::kInt8:
    case GgufType::kInt16:
    case GgufType::kInt32:
    case GgufType::kInt64:
      return fmt::format("{}", v.i);
    case GgufType::kFloat32:
      return fmt::format("{}", static_cast<float>(v.f));
    case GgufType::kFloat64:
      return fmt::format("{}", v.f);
    case GgufType::kBool:
      return v.u != 0 ? "true" : "false";
    case GgufType::kString:
      return quote(v.str);
    case GgufType::kArray:
      break;
  }
  return "?";
}

// "[\"<unk>\", \"<s>\", ...]" for arrays (nested ones prefixed by their type), the plain
// value otherwise. The caller prints the top-level type beside it.
std::string format_value(const GgufValue& v) {
  if (v.type != GgufType::kArray) return format_scalar(v);
  std::string out = "[";
  for (size_t i = 0; i < v.items.size() && i < kArrayItemsShown; ++i) {
    if (i > 0) out += ", ";
    const GgufValue& item = v.items[i];
    if (item.type == GgufType::kArray) {
      out += fmt::format("{}[{}] ", gguf_type_name(item.array_type), item.items.size());
    }
    out += format_value(item);
  }
  if (v.items.size() > kArrayItemsShown) out += ", ...";
  return out + "]";
}

std::string type_label(const GgufValue& v) {
  if (v.type == GgufType::kArray)
    return fmt::format("{}[{}]", gguf_type_name(v.array_type), v.items.size());
  return std::string(gguf_type_name(v.type));
}

class Printer {
 public:
  explicit Printer(const GgufFile& file) : file_(file) {}

  void print() {
    const std::string arch = file_.architecture();
    std::printf("file:            %s\n", file_.path().c_str());
    std::printf("file size:       %zu bytes\n", file_.file_size());
    std::printf("GGUF version:    %u\n", file_.version());
    std::printf("alignment:       %llu\n", static_cast<unsigned long long>(file_.alignment()));
    std::printf("data offset:     %llu\n", static_cast<unsigned long long>(file_.data_offset()));
    std::printf("architecture:    %s\n", arch.empty() ? "(none)" : arch.c_str());
    std::printf("name:            %s\n",
                file_.get_string("general.name").value_or("(none)").c_str());
    shown_.insert({"general.architecture", "general.name", "general.alignment"});

    print_hyper_parameters(arch);
    print_tokenizer();
    print_other_metadata();
    print_tensors();
  }

 private:
  void print_hyper_parameters(const std::string& arch) {
    if (arch.empty()) return;
    static const char* const kKnown[] = {"context_length",
                                         "embedding_length",
                                         "block_count",
                                         "feed_forward_length",
                                         "attention.head_count",
                                         "attention.head_count_kv",
                                         "attention.layer_norm_rms_epsilon",
                                         "attention.layer_norm_epsilon",
                                         "attention.key_length",
                                         "attention.value_length",
                                         "rope.freq_base",
                                         "rope.dimension_count",
                                         "rope.scaling.type",
                                         "rope.scaling.factor",
                                         "vocab_size",
                                         "pooling_type",
                                         "expert_count",
                                         "expert_used_count"};
    std::printf("\nhyper-parameters:\n");
    for (const char* suffix : kKnown) print_key(arch + "." + suffix);
    const std::string prefix = arch + ".";
    for (const std::string& key : file_.metadata_order()) {
      if (key.rfind(prefix, 0) == 0) print_key(key);
    }
  }

  void print_tokenizer() {
    if (file_.find("tokenizer.ggml.model") == nullptr &&
        file_.find("tokenizer.ggml.tokens") == nullptr) {
      return;
    }
    auto count = [&](const char* key) -> std::string {
      const GgufValue* v = file_.find(key);
      shown_.insert(key);
      if (v == nullptr) return "(none)";
      return v->type == GgufType::kArray ? std::to_string(v->items.size()) : "(not an array)";
    };
    auto text = [&](const char* key) -> std::string {
      const GgufValue* v = file_.find(key);
      shown_.insert(key);
      return v == nullptr ? "(none)" : format_scalar(*v);
    };
    std::printf("\ntokenizer:\n");
    std::printf("  model:           %s\n", text("tokenizer.ggml.model").c_str());
    std::printf("  pre:             %s\n", text("tokenizer.ggml.pre").c_str());
    std::printf("  vocab size:      %s\n", count("tokenizer.ggml.tokens").c_str());
    std::printf("  merges:          %s\n", count("tokenizer.ggml.merges").c_str());
    std::printf("  bos id:          %s\n", text("tokenizer.ggml.bos_token_id").c_str());
    std::printf("  eos id:          %s\n", text("tokenizer.ggml.eos_token_id").c_str());
    const bool has_template = file_.find("tokenizer.chat_template") != nullptr;
    std::printf("  chat template:   %s\n", has_template ? "yes" : "no");
    shown_.insert("tokenizer.chat_template");
    // The arrays summarized above still appear in full summary form below.
    for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.merges"}) shown_.erase(key);
  }

  void print_other_metadata() {
    std::vector<std::string> rest;
    for (const std::string& key : file_.metadata_order()) {
      if (shown_.count(key) == 0) rest.push_back(key);
    }
    std::printf("\nother metadata (%zu keys):\n", rest.size());
    for (const std::string& key : rest) print_key(key);
  }

  void print_key(const std::string& key) {
    const GgufValue* v = file_.find(key);
    if (v == nullptr || !shown_.insert(key).second) return;
    std::printf("  %-40s %-15s %s\n", key.c_str(), type_label(*v).c_str(),
                format_value(*v).c_str());
  }

  void print_tensors() {
    std::printf("\ntensors (%zu):\n", file_.tensors().size());
    int64_t params = 0;
    int64_t bytes = 0;
    for (const GgufTensor& t : file_.tensors()) {
      std::printf("  %-40s %-6s %-24s %lld bytes\n", t.name.c_str(),
                  std::string(dtype_name(t.type)).c_str(),
                  fmt::format("[{}]", fmt::join(t.dims, ", ")).c_str(),
                  static_cast<long long>(t.n_bytes));
      params += t.n_elements;
      bytes += t.n_bytes;
    }
    const double bits_per_weight = params > 0 ? 8.0 * static_cast<double>(bytes) / params : 0.0;
    std::printf("\ntotal: %zu tensors, %lld params, %lld bytes, %.2f bits per weight\n",
                file_.tensors().size(), static_cast<long long>(params),
                static_cast<long long>(bytes), bits_per_weight);
  }

  const GgufFile& file_;
  std::set<std::string> shown_;
};

}  // namespace

Action register_inspect(CLI::App& app) {
  auto model_path = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("inspect", "Print a GGUF file's metadata and tensors");
  sub->add_option("model", *model_path, "GGUF file to inspect")->required();
  return [model_path] {
    Expected<std::unique_ptr<GgufFile>> file = GgufFile::open(*model_path);
    if (!file.ok()) {
      std::fprintf(stderr, "tenbin inspect: %s\n", file.status().message().c_str());
      return 1;
    }
    Printer(**file).print();
    return std::fflush(stdout) == 0 ? 0 : 1;
  };
}

}  // namespace tenbin::cli
