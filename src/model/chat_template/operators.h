// Jinja's operators on Values with Python semantics: arithmetic (+ - * / // % **, integer
// overflow refused), concatenation ~, comparisons, `in`, subscripts, slices, attribute
// reads and iteration. Type mismatches raise TemplateError at the operator's position.
// `max_bytes` caps the size of any string or list an operator builds (output-size limit).
#pragma once

#include <cstddef>
#include <string>

#include "model/chat_template/ast.h"
#include "model/chat_template/value.h"

namespace tenbin::jinja {

Value binary_op(const std::string& op, const Value& a, const Value& b, Pos pos, size_t max_bytes);
Value get_item(const Value& obj, const Value& key, Pos pos);
Value get_attr(const Value& obj, const std::string& name, Pos pos);
// obj[start:stop:step]; undefined parts are omitted ones.
Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step, Pos pos);
// Elements a for loop visits: list items, map keys, string characters; undefined is empty.
ValueList iterate(const Value& v, Pos pos);
// Python ordering for sort and < >: numbers with numbers, strings with strings.
bool less_than(const Value& a, const Value& b, Pos pos);
// Integer value of an index/count argument; raises when `v` is not an integer.
int64_t int_arg(const Value& v, const char* what, Pos pos);

}  // namespace tenbin::jinja
