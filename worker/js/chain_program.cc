#include "worker/js/chain_program.h"

#include "common/operator_kinds.h"
#include "worker/js/chain_prelude.h"

#include <string_view>

namespace sluice::js {
namespace {


bool IsStateless(const std::string &kind) {
  const OperatorKindTraits *traits = FindOperatorKindTraits(kind);
  return traits != nullptr && traits->inline_stage;
}

bool IsSource(const std::string &kind) { return IsSourceKind(kind); }

}  // namespace

// The runtime library of a keyed operator kind, or "" when the kind is not keyed.
std::string KeyedLibrary(const std::string &kind) {
  const OperatorKindTraits *traits = FindOperatorKindTraits(kind);
  return traits == nullptr ? "" : std::string(traits->js_library);
}

namespace {

std::string Quote(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static const char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// Emits the code that takes record `var` with event time `time` through stages[i..] and into
// the output. A keyed stage ends the inline code: its operator emits into E<i+1>.
class BodyEmitter {
 public:
  BodyEmitter(const ChainSpec &chain, std::string *out) : chain_(chain), out_(out) {}

  void Emit(size_t i, const std::string &var, const std::string &time, int indent) {
    const std::string pad(indent, ' ');
    if (i == chain_.stages.size()) {
      EmitSink(var, time, pad, /*late=*/false);
      return;
    }
    const std::string &kind = chain_.stages[i].kind;
    const std::string idx = std::to_string(i);
    const std::string fn = "f" + idx;
    const std::string next = "r" + idx;
    *out_ += pad + "s = " + idx + ";\n";
    if (kind == "map") {
      *out_ += pad + "const " + next + " = " + fn + "(" + var + ", params);\n";
      Emit(i + 1, next, time, indent);
    } else if (kind == "filter") {
      *out_ += pad + "if (" + fn + "(" + var + ", params)) {\n";
      Emit(i + 1, var, time, indent + 2);
      *out_ += pad + "}\n";
    } else if (kind == "assign_timestamps") {
      const std::string t = "t" + idx;
      const std::string a = "A" + idx;
      *out_ += pad + "const " + t + " = " + fn + "(" + var + ", params);\n";
      *out_ += pad + "if (typeof " + t + " !== \"number\" || " + t + " - " + t +
               " !== 0) throw badTime(" + t + ");\n";
      *out_ += pad + "if (" + t + " > " + a + ".max) " + a + ".max = " + t + ";\n";
      *out_ += pad + a + ".seen = true;\n";
      Emit(i + 1, var, t, indent);
    } else if (kind == "flat_map") {
      const std::string many = "a" + idx;
      *out_ += pad + "const " + many + " = " + fn + "(" + var + ", params);\n";
      *out_ += pad + "if (!isIterable(" + many + ")) throw notIterable(" + many + ");\n";
      *out_ += pad + "for (const " + next + " of " + many + ") {\n";
      Emit(i + 1, next, time, indent + 2);
      *out_ += pad + "}\n";
    } else if (chain_.keyed_input_in_chain) {  // keyed: keyed here, by the chained keyBy
      *out_ += pad + "s = " + std::to_string(InputKeyStage(static_cast<int>(i))) + ";\n";
      *out_ += pad + "const kv = inKey(" + var + ", params);\n";
      *out_ += pad + "const ks = keyString(kv);\n";
      *out_ += pad + "s = " + idx + ";\n";
      *out_ += pad + "O" + idx + ".processElement(0, keyGroupOfString(ks, " +
               std::to_string(chain_.max_parallelism) + "), ks, kv, " + var + ", " + time + ");\n";
    } else {  // keyed: the key of the input the record came in on
      *out_ += pad + "const kv = inKey(" + var + ", params);\n";
      *out_ += pad + "const ks = keyString(kv);\n";
      *out_ += pad + "O" + idx + ".processElement(input, keyGroupOfString(ks, " +
               std::to_string(chain_.max_parallelism) + "), ks, kv, " + var + ", " + time + ");\n";
    }
  }

  // A record's JSON `j` longer than ChainSpec::max_record_bytes (counted in UTF-16 units, at
  // most the UTF-8 bytes) fails the chain, naming its last operator.
  void EmitRecordLimit(const std::string &pad, const std::string &last) {
    if (chain_.max_record_bytes == 0) return;
    const std::string limit = std::to_string(chain_.max_record_bytes);
    *out_ += pad + "if (j.length > " + limit + ") { s = " + last + "; throw tooBig(j.length, " +
             limit + "); }\n";
  }

  // The output part, for the main output or the late side output (edges marked late).
  void EmitSink(const std::string &var, const std::string &time, const std::string &pad,
                bool late) {
    if (chain_.output == OutputMode::kCount) {
      if (!late) *out_ += pad + "nOut++;\n";
      return;
    }
    const std::string last = std::to_string(static_cast<int>(chain_.stages.size()) - 1);
    if (chain_.output == OutputMode::kJsonLines) {
      if (late) return;
      *out_ += pad + "s = " + last + ";\n";
      *out_ += pad + "const j = JSON.stringify(" + var + ");\n";
      *out_ += pad + "if (j === undefined) { s = " + last + "; throw notJson(" + var + "); }\n";
      EmitRecordLimit(pad, last);
      *out_ += pad + "nOut++;\n";
      *out_ += pad + "lines.push(j);\n";
      return;
    }
    const bool columnar = chain_.codec == BatchCodec::kColumnar;
    if (!columnar) {
      *out_ += pad + "const j = JSON.stringify(" + var + ");\n";
      *out_ += pad + "if (j === undefined) { s = " + last + "; throw notJson(" + var + "); }\n";
      EmitRecordLimit(pad, last);
    }
    // Output after the last stage is named after it; a key selector after its keyed operator.
    *out_ += pad + "s = " + last + ";\n";
    for (size_t e = 0; e < chain_.outputs.size(); ++e) {
      const PartitionSpec &edge = chain_.outputs[e];
      if (edge.late != late) continue;
      const std::string o = "o" + std::to_string(e);
      const std::string targets = std::to_string(edge.targets);
      std::string target;
      switch (edge.partitioning) {
        case Partitioning::kForward:
        case Partitioning::kBroadcast:
          target = o;  // one list; the result places it at the target or at every target
          break;
        case Partitioning::kRebalance: {
          const std::string rr = "rr" + std::to_string(e);
          *out_ += pad + "const g" + std::to_string(e) + " = " + o + "[" + rr + "];\n";
          *out_ += pad + "if (++" + rr + " === " + targets + ") " + rr + " = 0;\n";
          target = "g" + std::to_string(e);
          break;
        }
        case Partitioning::kHash: {
          // The key is taken (and checked) under the keyed operator's name.
          const std::string m = std::to_string(edge.max_parallelism);
          const std::string g = "g" + std::to_string(e);
          *out_ += pad + "s = " + std::to_string(OutputKeyStage(e)) + ";\n";
          *out_ += pad + "const " + g + " = " + o + "[(keyGroupOf(k" + std::to_string(e) + "(" +
                   var + ", params), " + m + ") * " + targets + " / " + m + ") | 0];\n";
          *out_ += pad + "s = " + last + ";\n";
          target = g;
          break;
        }
      }
      if (columnar) {
        *out_ += pad + "if (!" + target + ".add(" + var + ", " + time + ")) throw notJson(" +
                 var + ");\n";
      } else {
        *out_ += pad + target + ".push(j);\n";
      }
    }
    if (!late) *out_ += pad + "nOut++;\n";
  }

 private:
  const ChainSpec &chain_;
  std::string *out_;
};

Status CheckStages(const ChainSpec &chain, ChainProgram *program) {
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    const StageSpec &stage = chain.stages[i];
    const bool source = IsSource(stage.kind);
    const bool keyed = !KeyedLibrary(stage.kind).empty();
    if (!source && !keyed && !IsStateless(stage.kind)) {
      return Status::User("operator " + DescribeStage(stage) + ": kind '" + stage.kind +
                          "' cannot run in a JS chain");
    }
    if (source && i != 0) {
      return Status::User("operator " + DescribeStage(stage) + ": a source ('" + stage.kind +
                          "') must be the first stage of a chain");
    }
    std::map<std::string, std::string> functions;
    for (const auto &[role, text] : stage.functions) {
      if (!text.empty()) functions[role] = text;
    }
    if (IsStateless(stage.kind) && functions.count("fn") == 0) {
      return Status::User("operator " + DescribeStage(stage) + ": " + stage.kind +
                          " needs a function 'fn'");
    }
    if (source && stage.kind != "source.generator") functions.clear();
    program->functions.push_back(std::move(functions));
    if (!keyed) continue;
    if (program->input_key_stage >= 0) {
      return Status::User("operator " + DescribeStage(stage) +
                          ": a chain holds one keyed operator (the planner chains no more)");
    }
    const size_t first_transform = !chain.stages.empty() && IsSource(chain.stages[0].kind) ? 1 : 0;
    if (i != first_transform && !chain.keyed_input_in_chain) {
      return Status::User("operator " + DescribeStage(stage) + ": a keyed operator must take the " +
                          "records as they arrive, not after other operators of its chain");
    }
    program->input_key_stage = static_cast<int>(i);
    program->input_key_fns = chain.input_key_fns;
    if (program->input_key_fns.empty() && !chain.input_key_fn.empty()) {
      program->input_key_fns.push_back(chain.input_key_fn);
    }
    if (program->input_key_fns.empty()) {
      return Status::User("operator " + DescribeStage(stage) + ": " + stage.kind +
                          " needs keyed input (a key selector on the edge feeding it)");
    }
    for (const std::string &fn : program->input_key_fns) {
      if (fn.empty()) {
        return Status::User("operator " + DescribeStage(stage) + ": an input of " + stage.kind +
                            " is not keyed (a key selector on every edge feeding it)");
      }
    }
    if (chain.max_parallelism == 0) {
      return Status::Internal("a keyed chain with max_parallelism 0");
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
    if (edge.late && (chain.stages.empty() || chain.stages.back().kind != "window")) {
      return Status::Internal(what + " carries late records but the chain does not end in a window");
    }
    program->output_key_fns.push_back(edge.partitioning == Partitioning::kHash ? edge.key_fn : "");
  }
  return Status::Ok();
}

bool HasLateEdges(const ChainSpec &chain) {
  if (chain.output != OutputMode::kPartitioned) return false;
  for (const PartitionSpec &edge : chain.outputs) {
    if (edge.late) return true;
  }
  return false;
}

// keyedWatermark(): the keyed stage k's input watermark. The chain's input watermark, unless
// timestamp assigners before it in the chain (a chained keyBy, ChainSpec::keyed_input_in_chain)
// make their own, as outWatermark() does for the chain's output. moveKeyed() fires the keyed
// operator's event-time timers when it advanced: after every batch and every advance(), as a
// downstream task would on the watermark that follows each batch.
void EmitKeyedWatermark(const ChainSpec &chain, int k, std::string *js) {
  *js += "function keyedWatermark() {\n  let w = wmIn;\n";
  for (int i = 0; i < k; ++i) {
    if (chain.stages[i].kind != "assign_timestamps") continue;
    const std::string a = "A" + std::to_string(i);
    *js += "  w = w === Infinity ? Infinity : " + a + ".max - " + a + ".ooo - 1;\n";
  }
  *js += "  return w;\n}\n";
  const std::string idx = std::to_string(k);
  *js += "function moveKeyed() {\n  const w = keyedWatermark();\n  if (w > wmK) {\n    wmK = w;\n"
         "    s = " + idx + ";\n    O" + idx + ".onWatermark(w);\n  }\n}\n";
}

// Declarations in the factory, before `run`: user functions, key selectors, output targets and
// round-robin positions, timestamp assigners and the keyed operator (all live as long as the
// runner).
void EmitSetup(const ChainSpec &chain, const ChainProgram &program, std::string *js) {
  for (size_t i = 0; i < program.functions.size(); ++i) {
    if (program.functions[i].count("fn") == 0) continue;
    const std::string idx = std::to_string(i);
    *js += "const f" + idx + " = fns[" + idx + "].fn;\n";
  }
  if (program.source == SourceKind::kNexmark) {
    *js += "const gen = nexmark.make(JSON.parse(sourceConfigJson));\n";
  }
  for (size_t e = 0; e < program.output_key_fns.size(); ++e) {
    const PartitionSpec &edge = chain.outputs[e];
    const std::string idx = std::to_string(e);
    const bool one = edge.partitioning == Partitioning::kForward ||
                     edge.partitioning == Partitioning::kBroadcast;
    if (chain.codec == BatchCodec::kColumnar) {
      // Codec targets live as long as the runner: they keep their number buffers.
      *js += "const T" + idx + " = " +
             (one ? std::string("new codec.Target()")
                  : "codecTargets(" + std::to_string(edge.targets) + ")") +
             ";\n";
    }
    *js += "let o" + idx + " = null;\n";
    if (edge.partitioning == Partitioning::kHash) {
      *js += "const k" + idx + " = outKeyFns[" + idx + "];\n";
    } else if (edge.partitioning == Partitioning::kRebalance) {
      *js += "let rr" + idx + " = " + std::to_string(edge.subtask % edge.targets) + ";\n";
    }
  }
  // Timestamp assigners: the greatest event time seen; idle after idleTimeout ms without input.
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    if (chain.stages[i].kind != "assign_timestamps") continue;
    const std::string idx = std::to_string(i);
    const std::string config = chain.stages[i].config_json.empty() ? "{}" : chain.stages[i].config_json;
    *js += "const A" + idx + " = (function () { const c = " + config +
           "; return { max: -Infinity, ooo: +c.maxOutOfOrderness || 0, idleTimeout: "
           "c.idleTimeout > 0 ? +c.idleTimeout : Infinity, seen: false, last: -1, idle: false }; "
           "})();\n";
  }
  const int k = program.input_key_stage;
  if (k >= 0) {
    const StageSpec &stage = chain.stages[k];
    const std::string idx = std::to_string(k);
    const std::string config = stage.config_json.empty() ? "{}" : stage.config_json;
    *js += "const tables = new rt.state.StateTables(rt.stateNative, { cacheEntries: " +
           std::to_string(chain.state_cache_entries) + " });\n";
    *js += "const TM = new rt.timers.TimerService();\n";
    if (chain.restore_state) {  // the timers of the checkpoint the backend was restored from
      *js += "try {\n  tables.restoreTimers(1, TM, " + std::to_string(chain.max_parallelism) +
             ");\n} catch (e) {\n  stats[2] = " + idx + ";\n  throw e;\n}\n";
    }
    *js += "const ST" + idx + " = { lateDropped: 0, lateSideOutput: 0 };\n";
    *js += "const O" + idx + " = rt." + KeyedLibrary(stage.kind) +
           ".make({ id: " + Quote(stage.operator_id) + ", name: " + Quote(stage.operator_name) +
           ", kind: " + Quote(stage.kind) + ", config: " + config + ", fns: fns[" + idx +
           "] }, { params, state: tables.table(0), timers: TM, emit: E" + std::to_string(k + 1) +
           ", emitLate: L" + idx + ", now: () => Date.now(), watermark: () => wmK, stats: ST" +
           idx + ", runtime: rt });\n";
    *js += "let input = 0, inKey = inKeyFns[0], wmK = -Infinity;\n";
    EmitKeyedWatermark(chain, k, js);
  } else {
    *js += "const tables = null;\n";
  }
}

// Per call: the output lists of each edge.
void EmitBegin(const ChainSpec &chain, std::string *js) {
  *js += "function begin() {\n  nIn = 0; nOut = 0; lines = [];\n";
  if (chain.output == OutputMode::kPartitioned) {
    for (size_t e = 0; e < chain.outputs.size(); ++e) {
      const PartitionSpec &edge = chain.outputs[e];
      const bool one_list = edge.partitioning == Partitioning::kForward ||
                            edge.partitioning == Partitioning::kBroadcast;
      const std::string o = "o" + std::to_string(e);
      if (chain.codec == BatchCodec::kColumnar) {
        // The runner's targets, emptied in case the last batch failed half-way.
        *js += "  " + o + " = T" + std::to_string(e) + ";\n";
        *js += one_list ? "  " + o + ".reset();\n" : "  for (const t of " + o + ") t.reset();\n";
      } else {
        *js += "  " + o + " = " +
               (one_list ? std::string("[]") : "lineArrays(" + std::to_string(edge.targets) + ")") +
               ";\n";
      }
    }
  }
  *js += "}\n";
}

// After a call: the batch's result, and stats.
void EmitFinish(const ChainSpec &chain, const ChainProgram &program, std::string *js) {
  *js += "function outWatermark() {\n  let w = wmIn;\n";
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    if (chain.stages[i].kind != "assign_timestamps") continue;
    const std::string a = "A" + std::to_string(i);
    // Bounded out-of-orderness, as Flink: the greatest time seen - maxOutOfOrderness - 1.
    *js += "  w = w === Infinity ? Infinity : " + a + ".max - " + a + ".ooo - 1;\n";
  }
  *js += "  return w;\n}\n";
  *js += "function finish() {\n  let out = \"\";\n";
  if (chain.output != OutputMode::kPartitioned) {
    *js += "  if (lines.length !== 0) {\n    lines.push(\"\");\n    out = lines.join(\"\\n\");\n  }\n";
  } else {
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
  *js += "  stats[0] = nIn;\n  stats[1] = nOut;\n  stats[3] = outWatermark();\n";
  *js += "  stats[4] = idleOut ? 1 : 0;\n";
  if (program.input_key_stage >= 0) {
    const std::string st = "ST" + std::to_string(program.input_key_stage);
    *js += "  stats[5] = " + st + ".lateDropped;\n  stats[6] = " + st + ".lateSideOutput;\n";
  }
  *js += "  return out;\n}\n";
}

// E<i>(r, t): what the keyed stage i - 1 emits goes through stages[i..]; L<k>(r, t): its late
// side output.
void EmitKeyedOutputs(const ChainSpec &chain, const ChainProgram &program, std::string *js) {
  const int k = program.input_key_stage;
  if (k < 0) return;
  BodyEmitter body(chain, js);
  *js += "function E" + std::to_string(k + 1) + "(r, t) {\n";
  body.Emit(k + 1, "r", "t", 2);
  *js += "}\n";
  *js += "function L" + std::to_string(k) + "(r, t) {\n";
  if (HasLateEdges(chain)) body.EmitSink("r", "t", "  ", /*late=*/true);
  *js += "}\n";
}

// run.advance(watermark, now): fires the keyed operator's timers, notices idle input.
void EmitAdvance(const ChainSpec &chain, const ChainProgram &program, std::string *js) {
  *js += "run.advance = function advance(watermark, now) {\n";
  *js += "  s = -1; let done = false;\n  begin();\n  try {\n";
  const int k = program.input_key_stage;
  const std::string idx = std::to_string(k);
  if (k >= 0) {
    *js += "    if (watermark > wmIn) wmIn = watermark;\n    moveKeyed();\n";
    *js += "    s = " + idx + ";\n    O" + idx + ".onProcessingTime(now);\n";
  } else {
    *js += "    if (watermark > wmIn) wmIn = watermark;\n";
  }
  // The last assigner decides whether the output is idle.
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    if (chain.stages[i].kind != "assign_timestamps") continue;
    const std::string a = "A" + std::to_string(i);
    *js += "    if (" + a + ".seen || " + a + ".last < 0) { " + a + ".seen = false; " + a +
           ".last = now; " + a + ".idle = false; }\n";
    *js += "    else if (now - " + a + ".last >= " + a + ".idleTimeout) " + a + ".idle = true;\n";
    *js += "    idleOut = " + a + ".idle;\n";
  }
  *js += "    done = true;\n  } finally {\n    if (!done) stats[2] = s;\n  }\n";
  *js += "  return finish();\n};\n";
  *js += "run.flush = function flush() { if (tables !== null) tables.flush(); };\n";
  // Checkpoints: the keyed operator's timers to table 1, then the cache flushed.
  *js += "run.snapshot = function snapshot() {\n";
  if (k >= 0) {
    *js += "  s = " + idx + "; let done = false;\n  try {\n    tables.snapshot(1, TM);\n" +
           "    done = true;\n  } finally {\n    if (!done) stats[2] = s;\n  }\n";
  }
  *js += "};\n";
}

std::string SourceExpression(const ChainProgram &program, const std::string &index) {
  if (program.source == SourceKind::kNexmark) return "gen(" + index + ")";
  if (program.functions[0].count("fn") != 0) return "f0(" + index + ", params)";
  return index;
}

// A record that arrives un-idles the assigners (idleness is only noticed in advance()).
void EmitUnidle(const ChainSpec &chain, std::string *js) {
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    if (chain.stages[i].kind != "assign_timestamps") continue;
    const std::string a = "A" + std::to_string(i);
    *js += "  if (" + a + ".idle && " + a + ".seen) { " + a + ".idle = false; idleOut = false; }\n";
  }
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
  if (program.input_key_stage >= 0 && program.source != SourceKind::kText &&
      !chain.keyed_input_in_chain) {
    return Status::User("operator " + DescribeStage(chain.stages[program.input_key_stage]) +
                        ": a keyed operator needs keyed input, not a generated source");
  }
  SLUICE_RETURN_IF_ERROR(CheckOutputs(chain, &program));

  std::string &js = program.driver_source;
  js += kPrelude;
  EmitSetup(chain, program, &js);
  EmitBegin(chain, &js);
  EmitFinish(chain, program, &js);
  EmitKeyedOutputs(chain, program, &js);

  BodyEmitter body(chain, &js);
  const size_t first_transform = program.has_source_stage ? 1 : 0;
  if (program.source == SourceKind::kText) {
    const std::string source_stage = program.has_source_stage ? "0" : "-1";
    js += "const run = function run(text, header, nums, strs, in_) {\n";
    js += "  s = -1; let done = false, p = 0;\n  begin();\n";
    if (program.input_key_stage >= 0 && !chain.keyed_input_in_chain) {
      js += "  input = in_ === undefined ? 0 : in_;\n";
      js += "  inKey = inKeyFns[input];\n";
      js += "  if (inKey === undefined) throw new RangeError(\"no input \" + input);\n";
    }
    js += "  try {\n";
    if (chain.text_format == "json") {
      // A columnar batch (RunText passes its parts): decoded into records at once.
      js += "    if (header !== undefined) {\n";
      js += "      s = " + source_stage + ";\n";
      js += "      const batch = codec.decode(header, nums, strs);\n";
      js += "      const at = batch.at, count = batch.n, times = batch.times;\n";
      js += "      for (let q = 0; q < count; q++) {\n";
      js += "        s = " + source_stage + ";\n";
      js += "        const r = at(q);\n";
      js += "        let t;\n";
      js += "        if (times !== null) { t = times[q]; if (t !== t) t = undefined; }\n";
      js += "        nIn++;\n";
      body.Emit(first_transform, "r", "t", 8);
      js += "      }\n";
      js += "    }\n";
      // JSON lines may start with their records' event times (codec.js, TIMES_MARK).
      js += "    const lt = codec.linesTimes(text);\n";
      js += "    const times = lt === null ? null : lt[0];\n";
      js += "    if (lt !== null) p = lt[1];\n";
    } else {
      js += "    const times = null;\n";
    }
    js += R"js(    const n = text.length;
    let q = 0;
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
    js += "      let t;\n";
    js += "      if (times !== null) { t = times[q]; if (t !== t) t = undefined; }\n";
    js += "      q++;\n";
    js += "      nIn++;\n";
    body.Emit(first_transform, "r", "t", 6);
    js += "    }\n";
  } else {
    js += "const run = function run(first, stride, count) {\n";
    js += "  s = -1; let done = false;\n  begin();\n";
    js += "  try {\n    for (let k = 0; k < count; k++) {\n      s = 0;\n";
    js += "      const r = " + SourceExpression(program, "first + k * stride") + ";\n";
    js += "      nIn++;\n";
    body.Emit(first_transform, "r", "undefined", 6);
    js += "    }\n";
  }
  if (program.input_key_stage >= 0 && chain.keyed_input_in_chain) js += "    moveKeyed();\n";
  js += "    done = true;\n  } finally {\n    if (!done) stats[2] = s;\n  }\n";
  EmitUnidle(chain, &js);
  js += "  return finish();\n};\n";
  EmitAdvance(chain, program, &js);
  js += "return run;\n})";
  return program;
}

}  // namespace sluice::js
