#include "worker/js/chain_program.h"

#include <string_view>

namespace sluice::js {
namespace {

constexpr std::string_view kPrelude =
    R"js((function (fns, paramsJson, sourceConfigJson, nexmark, stats) {
"use strict";
function deepFreeze(v) {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze(v[k]);
  }
  return v;
}
let params;
try {
  params = deepFreeze(JSON.parse(paramsJson));
} catch (e) {
  throw new SyntaxError("the job's params are not valid JSON: " + e.message);
}
const SKIP = {};
function notJson(r) {
  return new TypeError("an output record is not JSON (JSON.stringify returned undefined for a " +
      typeof r + ")");
}
function notIterable(r) {
  return new TypeError("a flat_map function must return an array or an iterable, not " +
      (r === null ? "null" : typeof r));
}
function isIterable(r) {
  return r !== null && r !== undefined && typeof r[Symbol.iterator] === "function";
}
function parseLine(line) {
  try {
    return JSON.parse(line);
  } catch (e) {
    if (line.trim() === "") return SKIP;
    throw new SyntaxError("bad JSON line (" + e.message + "): " +
        (line.length > 80 ? line.slice(0, 80) + "..." : line));
  }
}
)js";

// try/finally rather than catch and rethrow: a rethrow would move the
// exception's message (and so its script and line) to the driver.
constexpr std::string_view kEpilogue = R"js(    done = true;
  } finally {
    if (!done) stats[2] = s;
  }
  if (lines.length !== 0) {
    lines.push("");
    out = lines.join("\n");
  }
  stats[0] = nIn;
  stats[1] = nOut;
  return out;
};
}))js";

bool IsTransform(const std::string &kind) {
  return kind == "map" || kind == "filter" || kind == "flat_map";
}

bool IsSource(const std::string &kind) {
  return kind == "source.generator" || kind == "source.nexmark" || kind == "source.file";
}

// Emits the loop body that takes record variable `var` through stages[i..] and
// into the output.
class BodyEmitter {
 public:
  BodyEmitter(const ChainSpec &chain, std::string *out) : chain_(chain), out_(out) {}

  void Emit(size_t i, const std::string &var, int indent) {
    const std::string pad(indent, ' ');
    if (i == chain_.stages.size()) {
      EmitSink(var, pad);
      return;
    }
    const std::string &kind = chain_.stages[i].kind;
    const std::string idx = std::to_string(i);
    const std::string fn = "f" + idx;
    const std::string next = "r" + idx;
    *out_ += pad + "s = " + idx + ";\n";
    if (kind == "map") {
      *out_ += pad + "const " + next + " = " + fn + "(" + var + ", params);\n";
      Emit(i + 1, next, indent);
    } else if (kind == "filter") {
      *out_ += pad + "if (" + fn + "(" + var + ", params)) {\n";
      Emit(i + 1, var, indent + 2);
      *out_ += pad + "}\n";
    } else {  // flat_map
      const std::string many = "a" + idx;
      *out_ += pad + "const " + many + " = " + fn + "(" + var + ", params);\n";
      *out_ += pad + "if (!isIterable(" + many + ")) throw notIterable(" + many + ");\n";
      *out_ += pad + "for (const " + next + " of " + many + ") {\n";
      Emit(i + 1, next, indent + 2);
      *out_ += pad + "}\n";
    }
  }

 private:
  void EmitSink(const std::string &var, const std::string &pad) {
    if (chain_.output == OutputMode::kCount) {
      *out_ += pad + "nOut++;\n";
      return;
    }
    const std::string last = std::to_string(static_cast<int>(chain_.stages.size()) - 1);
    *out_ += pad + "const j = JSON.stringify(" + var + ");\n";
    *out_ += pad + "if (j === undefined) { s = " + last + "; throw notJson(" + var + "); }\n";
    *out_ += pad + "lines.push(j);\n";
    *out_ += pad + "nOut++;\n";
  }

  const ChainSpec &chain_;
  std::string *out_;
};

Status CheckStages(const ChainSpec &chain, ChainProgram *program) {
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    const StageSpec &stage = chain.stages[i];
    const bool source = IsSource(stage.kind);
    if (!source && !IsTransform(stage.kind)) {
      return Status::User("operator " + DescribeStage(stage) + ": kind '" + stage.kind +
                          "' cannot run in a JS chain");
    }
    if (source && i != 0) {
      return Status::User("operator " + DescribeStage(stage) + ": a source ('" + stage.kind +
                          "') must be the first stage of a chain");
    }
    auto fn = stage.functions.find("fn");
    std::string text = fn == stage.functions.end() ? "" : fn->second;
    if (IsTransform(stage.kind) && text.empty()) {
      return Status::User("operator " + DescribeStage(stage) + ": " + stage.kind +
                          " needs a function 'fn'");
    }
    if (stage.kind != "source.generator" && !IsTransform(stage.kind)) text.clear();
    program->functions.push_back(std::move(text));
  }
  if (chain.text_format != "lines" && chain.text_format != "json") {
    return Status::User("text format '" + chain.text_format + "' is not \"lines\" or \"json\"");
  }
  return Status::Ok();
}

std::string SourceExpression(const ChainProgram &program, const std::string &index) {
  if (program.source == SourceKind::kNexmark) return "gen(" + index + ")";
  if (!program.functions[0].empty()) return "f0(" + index + ", params)";
  return index;
}

}  // namespace

std::string DescribeStage(const StageSpec &stage) {
  return "'" + stage.operator_name + "' (" + stage.operator_id + ")";
}

Result<ChainProgram> BuildChainProgram(const ChainSpec &chain) {
  ChainProgram program;
  SLUICE_RETURN_IF_ERROR(CheckStages(chain, &program));
  const std::string first_kind = chain.stages.empty() ? "" : chain.stages[0].kind;
  if (first_kind == "source.generator") {
    program.source = SourceKind::kGenerator;
  } else if (first_kind == "source.nexmark") {
    program.source = SourceKind::kNexmark;
  }
  program.has_source_stage = IsSource(first_kind);

  std::string &js = program.driver_source;
  js += kPrelude;
  for (size_t i = 0; i < program.functions.size(); ++i) {
    if (program.functions[i].empty()) continue;
    const std::string idx = std::to_string(i);
    js += "const f" + idx + " = fns[" + idx + "];\n";
  }
  if (program.source == SourceKind::kNexmark) {
    js += "const gen = nexmark.make(JSON.parse(sourceConfigJson));\n";
  }

  BodyEmitter body(chain, &js);
  const size_t first_transform = program.has_source_stage ? 1 : 0;
  if (program.source == SourceKind::kText) {
    const std::string source_stage = program.has_source_stage ? "0" : "-1";
    js += R"js(return function run(text) {
  let s = -1, nIn = 0, nOut = 0, out = "", p = 0, done = false;
  const lines = [];
  const n = text.length;
  try {
    while (p < n) {
      let e = text.indexOf("\n", p);
      if (e < 0) e = n;
      let end = e;
      if (end > p && text.charCodeAt(end - 1) === 13) end--;
      const line = text.slice(p, end);
      p = e + 1;
)js";
    js += "      s = " + source_stage + ";\n";
    if (chain.text_format == "json") {
      js += "      if (line.length === 0) continue;\n";
      js += "      const r = parseLine(line);\n";
      js += "      if (r === SKIP) continue;\n";
    } else {
      js += "      const r = line;\n";
    }
    js += "      nIn++;\n";
    body.Emit(first_transform, "r", 6);
    js += "    }\n";
  } else {
    js += R"js(return function run(first, stride, count) {
  let s = -1, nIn = 0, nOut = 0, out = "", done = false;
  const lines = [];
  try {
    for (let k = 0; k < count; k++) {
      s = 0;
)js";
    js += "      const r = " + SourceExpression(program, "first + k * stride") + ";\n";
    js += "      nIn++;\n";
    body.Emit(first_transform, "r", 6);
    js += "    }\n";
  }
  js += kEpilogue;
  return program;
}

}  // namespace sluice::js
