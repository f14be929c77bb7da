#include "model/quantize/quantize_model.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>

#include "kernels/ops.h"
#include "model/gguf/gguf_writer.h"
#include "model/quantize/row_stream.h"

namespace tenbin {
namespace {

constexpr DType kTargets[] = {DType::kQ8_0, DType::kQ4_0, DType::kF16, DType::kBF16, DType::kF32};

bool is_float(DType t) {
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_weight_matrix(const GgufTensor& t) {
  return t.dims.size() >= 2 && ends_with(t.name, ".weight") &&
         t.name.find("norm") == std::string::npos;
}

// The model's block count as its tensor names show it (blk.0 ... blk.<n-1>).
int64_t count_layers(const GgufFile& file) {
  int64_t n = 0;
  for (const GgufTensor& t : file.tensors()) n = std::max(n, block_index(t.name) + 1);
  return n;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Expected<DType> parse_target_type(std::string_view name) {
  std::optional<DType> t = dtype_from_name(name);
  if (t) {
    for (DType ok : kTargets) {
      if (*t == ok) return ok;
    }
  }
  return Status::Errorf("unknown or unsupported type '{}' (supported: {})", name,
                        target_type_names());
}

std::string target_type_names() {
  std::string out;
  for (DType t : kTargets) {
    if (!out.empty()) out += ", ";
    out += dtype_name(t);
  }
  return out;
}

uint32_t llama_file_type(DType type) {
  switch (type) {
    case DType::kF32:
      return 0;
    case DType::kF16:
      return 1;
    case DType::kQ4_0:
      return 2;
    case DType::kQ8_0:
      return 7;
    case DType::kQ6_K:
      return 18;
    case DType::kBF16:
      return 32;
    default:
      return 0;
  }
}

Expected<TensorPlan> plan_tensor(const GgufTensor& tensor, DType target) {
  TensorPlan plan{tensor.type, false, ""};
  if (!is_weight_matrix(tensor)) return plan;
  if (!is_float(tensor.type)) {
    if (tensor.type == target) return plan;
    return Status::Errorf(
        "tensor '{}' is already quantized ({}); tenbin quantize converts only f32/f16/bf16 "
        "weights and copies quantized ones only when they already have the target type ({}). "
        "Start from an f16 or f32 GGUF instead",
        tensor.name, dtype_name(tensor.type), dtype_name(target));
  }
  const int64_t block = traits(target).block_elems;
  if (tensor.cols() % block != 0) {
    plan.to = tensor.type == DType::kF32 ? DType::kF16 : tensor.type;
    plan.note = fmt::format("row length {} is not a multiple of the {} block size {}; stored as {}",
                            tensor.cols(), dtype_name(target), block, dtype_name(plan.to));
  } else {
    plan.to = target;
  }
  plan.convert = plan.to != tensor.type;
  return plan;
}

Expected<QuantizeReport> quantize_model(const QuantizeOptions& options,
                                        const std::function<void(const TensorReport&)>& on_tensor) {
  const auto start = std::chrono::steady_clock::now();
  if (!is_supported_target(options.target)) {
    return Status::Errorf("cannot quantize to {} (supported: {})", options.target.name(),
                          quant_target_names());
  }
  std::error_code ec;
  if (std::filesystem::equivalent(options.input_path, options.output_path, ec)) {
    return Status::Errorf("{}: input and output are the same file", options.output_path);
  }
  Expected<std::unique_ptr<GgufFile>> opened = GgufFile::open(options.input_path);
  if (!opened.ok()) return opened.status();
  const GgufFile& in = **opened;
  const int threads = resolve_threads(options.threads);

  GgufWriter writer;
  for (const std::string& key : in.metadata_order()) writer.set(key, *in.find(key));
  writer.set("general.file_type", GgufValue::of_u32(options.target.file_type()));
  writer.set("general.quantized_by", GgufValue::of_string("tenbin"));
  if (traits(options.target.base).block_elems > 1) {
    writer.set("general.quantization_version", GgufValue::of_u32(kGgmlQuantizationVersion));
  }

  const int64_t n_layers = count_layers(in);
  QuantizeReport report;
  report.tensors.reserve(in.tensors().size());
  for (const GgufTensor& t : in.tensors()) {
    Expected<TensorPlan> plan = plan_tensor(t, options.target.type_for(t.name, n_layers));
    if (!plan.ok()) return Status::Errorf("{}: {}", options.input_path, plan.status().message());
    Expected<uint64_t> out_bytes = GgufWriter::tensor_bytes(t.name, plan->to, t.dims);
    if (!out_bytes.ok()) return out_bytes.status();
    report.tensors.push_back(TensorReport{t.name, t.dims, t.type, plan->to,
                                          static_cast<uint64_t>(t.n_bytes), *out_bytes, 0,
                                          plan->note});
    report.bytes_before += static_cast<uint64_t>(t.n_bytes);
    report.bytes_after += *out_bytes;
    TensorReport* rep = &report.tensors.back();
    const GgufTensor* src = &t;
    const bool convert = plan->convert;
    const DType to = plan->to;
    GgufProducer producer = [src, rep, convert, to, threads, &on_tensor](const GgufSink& sink) {
      const auto t0 = std::chrono::steady_clock::now();
      Status st;
      if (!convert) {
        st = sink(src->data, static_cast<size_t>(src->n_bytes));
      } else {
        const int64_t cols = src->cols();
        const int64_t in_row = *row_bytes(src->type, cols);
        RowStreamOptions ro;
        ro.rows = src->rows();
        ro.out_row_bytes = *row_bytes(to, cols);
        ro.threads = threads;
        st = stream_rows(
            ro,
            [&](int64_t r, uint8_t* out, std::vector<float>& scratch) -> Status {
              scratch.resize(static_cast<size_t>(cols));
              const uint8_t* row = src->data + r * in_row;
              if (src->type == DType::kF32) {
                std::memcpy(scratch.data(), row, static_cast<size_t>(cols) * sizeof(float));
              } else {
                kernels::dequantize_row(src->type, row, scratch.data(), cols);
              }
              Status q = kernels::quantize_row(to, scratch.data(), out, cols);
              if (!q.ok()) return Status::Errorf("tensor '{}': {}", src->name, q.message());
              return q;
            },
            sink);
      }
      rep->seconds = seconds_since(t0);
      if (st.ok() && on_tensor) on_tensor(*rep);
      return st;
    };
    TENBIN_RETURN_IF_ERROR(writer.add_tensor(t.name, plan->to, t.dims, std::move(producer)));
  }
  TENBIN_RETURN_IF_ERROR(writer.write(options.output_path));
  report.seconds = seconds_since(start);
  return report;
}

}  // namespace tenbin
