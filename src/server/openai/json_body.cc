// The body is parsed once into a DOM without exceptions. Only when that fails is it parsed a
// second time with a SAX handler that tracks the JSON path, so the error can name the field
// whose string was bad ("messages[0].content").
#include "server/openai/json_body.h"

#include <string>
#include <vector>

#include <fmt/format.h>

#include "server/openai/utf8.h"

namespace tenbin::server::openai {
namespace {

using json = nlohmann::json;

// Follows object keys and array indices up to the point where the parser stops.
class PathTracker : public nlohmann::json_sax<json> {
 public:
  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override {
    begin_value();
    frames_.push_back({false, -1, {}, false});
    return true;
  }
  bool key(string_t& k) override {
    frames_.back().key = k;
    frames_.back().awaiting_value = true;
    return true;
  }
  bool end_object() override { return end_container(); }
  bool start_array(std::size_t) override {
    begin_value();
    frames_.push_back({true, -1, {}, false});
    return true;
  }
  bool end_array() override { return end_container(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    position_ = position;
    what_ = ex.what();
    return false;
  }

  // The path of the value being read when the parser failed.
  std::string error_path() const {
    std::string path;
    for (size_t i = 0; i < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      const bool top = i + 1 == frames_.size();
      if (f.is_array) {
        // In the innermost array the failing element has not started yet.
        path += fmt::format("[{}]", top ? f.index + 1 : f.index);
      } else if (!top || f.awaiting_value) {
        if (!path.empty()) path += '.';
        path += f.key;
      }
    }
    return path;
  }
  size_t position() const { return position_; }
  const std::string& what() const { return what_; }

 private:
  struct Frame {
    bool is_array;
    long index;  // arrays: index of the element being read
    std::string key;
    bool awaiting_value;  // objects: a key was read and its value has not finished
  };
  void begin_value() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
  }
  bool value() {
    begin_value();
    if (!frames_.empty() && !frames_.back().is_array) frames_.back().awaiting_value = false;
    return true;
  }
  bool end_container() {
    frames_.pop_back();
    if (!frames_.empty() && !frames_.back().is_array) frames_.back().awaiting_value = false;
    return true;
  }

  std::vector<Frame> frames_;
  size_t position_ = 0;
  std::string what_;
};

RequestError describe_failure(std::string_view body) {
  PathTracker tracker;
  json::sax_parse(body.begin(), body.end(), &tracker);
  const std::string& what = tracker.what();
  const bool bad_string = what.find("invalid string") != std::string::npos;
  if (bad_string) {
    const std::string path = tracker.error_path();
    const auto bad_byte = first_invalid_utf8(body);
    if (bad_byte && *bad_byte < tracker.position()) {
      return {
          fmt::format("Invalid UTF-8 in {} at byte {} of the request body",
                      path.empty() ? std::string("the request body") : "'" + path + "'", *bad_byte),
          path, "invalid_utf8"};
    }
    return {fmt::format("Invalid string in {}: {}",
                        path.empty() ? std::string("the request body") : "'" + path + "'", what),
            path, "invalid_value"};
  }
  return {fmt::format("We could not parse the JSON body of your request ({})", what), "",
          "invalid_json"};
}

}  // namespace

ParseResult<nlohmann::json> parse_json_body(std::string_view body) {
  try {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      return RequestError{"The request body is empty; expected a JSON object", "", "invalid_json"};
    }
    json parsed = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return describe_failure(body);
    if (!parsed.is_object()) {
      return RequestError{
          fmt::format("The request body must be a JSON object, got {}", parsed.type_name()), "",
          "invalid_json"};
    }
    return parsed;
  } catch (const std::exception& e) {  // allocation failures and the like
    return RequestError{fmt::format("Could not read the request body: {}", e.what()), "",
                        "invalid_json"};
  }
}

}  // namespace tenbin::server::openai
