#include "worker/js/chain_program.h"

#include <string_view>

namespace sluice::js {
namespace {

constexpr std::string_view kPrelude =
    R"js((function (fns, paramsJson, sourceConfigJson, nexmark, stats, keys, inKeyFn, outKeyFns, codec) {
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
function lineArrays(n) {
  const a = new Array(n);
  for (let t = 0; t < n; t++) a[t] = [];
  return a;
}
function codecTargets(n) {
  const a = new Array(n);
  for (let t = 0; t < n; t++) a[t] = new codec.Target();
  return a;
}
function finishTarget(t) {
  return t.finish();
}
function joinLines(a) {
  if (a.length === 0) return "";
  a.push("");
  return a.join("\n");
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
constexpr std::string_view kEpilogueTry = R"js(    done = true;
  } finally {
    if (!done) stats[2] = s;
  }
)js";

constexpr std::string_view kEpilogueLines = R"js(  if (lines.length !== 0) {
    lines.push("");
    out = lines.join("\n");
  }
)js";

constexpr std::string_view kEpilogueReturn = R"js(  stats[0] = nIn;
  stats[1] = nOut;
  return out;
};
run.state = state;
return run;
}))js";

bool IsTransform(const std::string &kind) {
  return kind == "map" || kind == "filter" || kind == "flat_map" || kind == "reduce";
}

bool IsSource(const std::string &kind) {
  return kind == "source.generator" || kind == "source.nexmark" || kind == "source.file" ||
         kind == "source.kafka";
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
    } else if (kind == "reduce") {
      // The key is the entering record's, computed once per record (see
      // chain_program.h); the first record of a key is its first value.
      const std::string state = "S" + idx;
      *out_ += pad + "if (key === undefined) key = inKey(r);\n";
      *out_ += pad + "let " + next + " = " + state + ".get(key);\n";
      *out_ += pad + next + " = " + next + " === undefined && !" + state + ".has(key) ? " + var +
               " : " + fn + "(" + next + ", " + var + ", params);\n";
      *out_ += pad + state + ".set(key, " + next + ");\n";
      Emit(i + 1, next, indent);
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
    if (chain_.output == OutputMode::kPartitioned && chain_.codec == BatchCodec::kColumnar) {
      EmitCodecSink(var, pad, last);
      return;
    }
    *out_ += pad + "const j = JSON.stringify(" + var + ");\n";
    *out_ += pad + "if (j === undefined) { s = " + last + "; throw notJson(" + var + "); }\n";
    *out_ += pad + "nOut++;\n";
    if (chain_.output == OutputMode::kJsonLines) {
      *out_ += pad + "lines.push(j);\n";
      return;
    }
    // Key selectors of the outputs run after the last stage and are named
    // after it.
    *out_ += pad + "s = " + last + ";\n";
    for (size_t e = 0; e < chain_.outputs.size(); ++e) {
      const PartitionSpec &edge = chain_.outputs[e];
      const std::string o = "o" + std::to_string(e);
      const std::string targets = std::to_string(edge.targets);
      switch (edge.partitioning) {
        case Partitioning::kForward:
        case Partitioning::kBroadcast:
          // One list; the epilogue places it at the target or at every target.
          *out_ += pad + o + ".push(j);\n";
          break;
        case Partitioning::kRebalance: {
          const std::string rr = "rr" + std::to_string(e);
          *out_ += pad + o + "[" + rr + "].push(j);\n";
          *out_ += pad + "if (++" + rr + " === " + targets + ") " + rr + " = 0;\n";
          break;
        }
        case Partitioning::kHash: {
          const std::string m = std::to_string(edge.max_parallelism);
          *out_ += pad + o + "[(keyGroupOf(k" + std::to_string(e) + "(" + var + ", params), " + m +
                   ") * " + targets + " / " + m + ") | 0].push(j);\n";
          break;
        }
      }
    }
  }

  // The columnar codec: each record goes to the codec's Target of its target (one per target,
  // one for a forward or broadcast edge), which encodes it at once (runtime/codec.js).
  void EmitCodecSink(const std::string &var, const std::string &pad, const std::string &last) {
    *out_ += pad + "s = " + last + ";\n";
    for (size_t e = 0; e < chain_.outputs.size(); ++e) {
      const PartitionSpec &edge = chain_.outputs[e];
      const std::string o = "o" + std::to_string(e);
      const std::string targets = std::to_string(edge.targets);
      std::string target;
      switch (edge.partitioning) {
        case Partitioning::kForward:
        case Partitioning::kBroadcast:
          target = o;
          break;
        case Partitioning::kRebalance: {
          const std::string rr = "rr" + std::to_string(e);
          target = o + "[" + rr + "]";
          *out_ += pad + "const t" + std::to_string(e) + " = " + target + ";\n";
          *out_ += pad + "if (++" + rr + " === " + targets + ") " + rr + " = 0;\n";
          target = "t" + std::to_string(e);
          break;
        }
        case Partitioning::kHash: {
          const std::string m = std::to_string(edge.max_parallelism);
          target = o + "[(keyGroupOf(k" + std::to_string(e) + "(" + var + ", params), " + m +
                   ") * " + targets + " / " + m + ") | 0]";
          break;
        }
      }
      *out_ += pad + "if (!" + target + ".add(" + var + ")) throw notJson(" + var + ");\n";
    }
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
    if (stage.kind == "reduce" && program->input_key_stage < 0) {
      if (chain.input_key_fn.empty()) {
        return Status::User("operator " + DescribeStage(stage) +
                            ": reduce needs keyed input (a key selector on the edge feeding it)");
      }
      if (chain.max_parallelism == 0) {
        return Status::Internal("a keyed chain with max_parallelism 0");
      }
      program->input_key_stage = static_cast<int>(i);
    }
  }
  if (chain.text_format != "lines" && chain.text_format != "json") {
    return Status::User("text format '" + chain.text_format + "' is not \"lines\" or \"json\"");
  }
  return Status::Ok();
}

Status CheckOutputs(const ChainSpec &chain, ChainProgram *program) {
  program->output_key_stage = static_cast<int>(chain.stages.size()) - 1;
  if (chain.output != OutputMode::kPartitioned) return Status::Ok();
  // These come from the planner, not from the user: a bad one is our bug.
  if (chain.outputs.empty()) return Status::Internal("a partitioned chain without outputs");
  for (size_t e = 0; e < chain.outputs.size(); ++e) {
    const PartitionSpec &edge = chain.outputs[e];
    const std::string what = "output edge " + std::to_string(e) + " of the chain";
    if (edge.targets == 0) return Status::Internal(what + " has no targets");
    if (edge.partitioning == Partitioning::kForward && edge.subtask >= edge.targets) {
      return Status::Internal(what + " is forward from subtask " + std::to_string(edge.subtask) +
                              " to " + std::to_string(edge.targets) + " targets");
    }
    if (edge.partitioning == Partitioning::kHash) {
      if (edge.key_fn.empty()) return Status::Internal(what + " is hashed without a key selector");
      if (edge.max_parallelism == 0) return Status::Internal(what + " has max_parallelism 0");
    }
    program->output_key_fns.push_back(edge.partitioning == Partitioning::kHash ? edge.key_fn : "");
  }
  return Status::Ok();
}

// Declarations in the factory, before `run`: user functions, key selectors,
// keyed state and round-robin positions (both live as long as the runner).
void EmitSetup(const ChainSpec &chain, const ChainProgram &program, std::string *js) {
  for (size_t i = 0; i < program.functions.size(); ++i) {
    if (program.functions[i].empty()) continue;
    const std::string idx = std::to_string(i);
    *js += "const f" + idx + " = fns[" + idx + "];\n";
  }
  if (program.source == SourceKind::kNexmark) {
    *js += "const gen = nexmark.make(JSON.parse(sourceConfigJson));\n";
  }
  *js += "const keyGroupOf = keys.keyGroupOf;\n";
  std::string state_stages;
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    if (chain.stages[i].kind != "reduce") continue;
    const std::string idx = std::to_string(i);
    *js += "const S" + idx + " = new Map();\n";
    state_stages += (state_stages.empty() ? "" : ", ") + idx + ": S" + idx;
  }
  if (program.input_key_stage >= 0) {
    *js += "function inKey(r) { return keys.keyString(inKeyFn(r, params)); }\n";
  }
  *js += "const state = Object.freeze({ maxParallelism: " + std::to_string(chain.max_parallelism) +
         ", stages: Object.freeze({" + state_stages +
         "}), keyGroupOf: (k) => keys.keyGroupOfString(k, " +
         std::to_string(chain.max_parallelism) + ") });\n";
  for (size_t e = 0; e < program.output_key_fns.size(); ++e) {
    const PartitionSpec &edge = chain.outputs[e];
    const std::string idx = std::to_string(e);
    if (chain.codec == BatchCodec::kColumnar) {
      // Codec targets live as long as the runner: they keep their number buffers.
      const bool one = edge.partitioning == Partitioning::kForward ||
                       edge.partitioning == Partitioning::kBroadcast;
      *js += "const T" + idx + " = " +
             (one ? std::string("new codec.Target()")
                  : "codecTargets(" + std::to_string(edge.targets) + ")") +
             ";\n";
    }
    if (edge.partitioning == Partitioning::kHash) {
      *js += "const k" + idx + " = outKeyFns[" + idx + "];\n";
    } else if (edge.partitioning == Partitioning::kRebalance) {
      *js += "let rr" + idx + " = " + std::to_string(edge.subtask % edge.targets) + ";\n";
    }
  }
}

// Per batch, after `lines`: the output lists of each edge.
void EmitOutputLists(const ChainSpec &chain, std::string *js) {
  if (chain.output != OutputMode::kPartitioned) return;
  for (size_t e = 0; e < chain.outputs.size(); ++e) {
    const PartitionSpec &edge = chain.outputs[e];
    const bool one_list = edge.partitioning == Partitioning::kForward ||
                          edge.partitioning == Partitioning::kBroadcast;
    const std::string targets = std::to_string(edge.targets);
    if (chain.codec == BatchCodec::kColumnar) {
      // The runner's targets (EmitSetup), emptied in case the last batch failed half-way.
      const std::string o = "o" + std::to_string(e);
      *js += "  const " + o + " = T" + std::to_string(e) + ";\n";
      *js += one_list ? "  " + o + ".reset();\n" : "  for (const t of " + o + ") t.reset();\n";
      continue;
    }
    *js += "  const o" + std::to_string(e) + " = " +
           (one_list ? "[]" : "lineArrays(" + targets + ")") + ";\n";
  }
}

// After the loop: `out` becomes the batch's result.
void EmitResult(const ChainSpec &chain, std::string *js) {
  if (chain.output != OutputMode::kPartitioned) {
    *js += kEpilogueLines;
    return;
  }
  *js += "  out = [];\n";
  const bool columnar = chain.codec == BatchCodec::kColumnar;
  for (size_t e = 0; e < chain.outputs.size(); ++e) {
    const PartitionSpec &edge = chain.outputs[e];
    const std::string o = "o" + std::to_string(e);
    const std::string targets = std::to_string(edge.targets);
    // How one target's records become its bytes: the columnar encoder's finish(), or the
    // JSON lines joined.
    const std::string whole = columnar ? o + ".finish()" : "joinLines(" + o + ")";
    const std::string per_target = columnar ? "finishTarget" : "joinLines";
    switch (edge.partitioning) {
      case Partitioning::kForward:
        *js += "  { const t = new Array(" + targets + ").fill(\"\"); t[" +
               std::to_string(edge.subtask) + "] = " + whole + "; out.push(t); }\n";
        break;
      case Partitioning::kBroadcast:
        // The same value at every target: C++ encodes it once.
        *js += "  out.push(new Array(" + targets + ").fill(" + whole + "));\n";
        break;
      case Partitioning::kRebalance:
      case Partitioning::kHash:
        *js += "  out.push(" + o + ".map(" + per_target + "));\n";
        break;
    }
  }
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

  SLUICE_RETURN_IF_ERROR(CheckOutputs(chain, &program));

  std::string &js = program.driver_source;
  js += kPrelude;
  EmitSetup(chain, program, &js);

  BodyEmitter body(chain, &js);
  const size_t first_transform = program.has_source_stage ? 1 : 0;
  const char *key_decl = program.input_key_stage >= 0 ? "      let key;\n" : "";
  if (program.source == SourceKind::kText) {
    const std::string source_stage = program.has_source_stage ? "0" : "-1";
    js += R"js(const run = function run(text, header, nums, strs) {
  let s = -1, nIn = 0, nOut = 0, out = "", p = 0, done = false;
  const lines = [];
  const n = text.length;
)js";
    EmitOutputLists(chain, &js);
    js += "  try {\n";
    if (chain.text_format == "json") {
      // A columnar batch (RunText passes its parts): decoded into records at once.
      js += "    if (header !== undefined) {\n";
      js += "      s = " + source_stage + ";\n";
      js += "      const batch = codec.decode(header, nums, strs);\n";
      js += "      const at = batch.at, count = batch.n;\n";
      js += "      for (let q = 0; q < count; q++) {\n";
      js += "        s = " + source_stage + ";\n";
      js += "        const r = at(q);\n";
      js += "        nIn++;\n";
      if (program.input_key_stage >= 0) js += "        let key;\n";
      body.Emit(first_transform, "r", 8);
      js += "      }\n";
      js += "    }\n";
    }
    js += R"js(    while (p < n) {
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
    js += key_decl;
    body.Emit(first_transform, "r", 6);
    js += "    }\n";
  } else {
    js += R"js(const run = function run(first, stride, count) {
  let s = -1, nIn = 0, nOut = 0, out = "", done = false;
  const lines = [];
)js";
    EmitOutputLists(chain, &js);
    js += R"js(  try {
    for (let k = 0; k < count; k++) {
      s = 0;
)js";
    js += "      const r = " + SourceExpression(program, "first + k * stride") + ";\n";
    js += "      nIn++;\n";
    js += key_decl;
    body.Emit(first_transform, "r", 6);
    js += "    }\n";
  }
  js += kEpilogueTry;
  EmitResult(chain, &js);
  js += kEpilogueReturn;
  return program;
}

}  // namespace sluice::js
