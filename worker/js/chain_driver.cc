// The generated driver of a chain (chain_program.h): written with JsWriter from a checked
// ChainProgram. BuildChainProgram calls WriteDriver; nothing else does.
#include "worker/js/chain_driver.h"

#include <cstring>

#include "common/operator_kinds.h"
#include "worker/js/chain_driver_combiner.h"
#include "worker/js/chain_driver_header.h"
#include "worker/js/chain_driver_keyed.h"
#include "worker/js/chain_prelude.h"
#include "worker/js/js_writer.h"

namespace sluice::js {
namespace {

// "stats[STAT.<name>]", the driver's stats slot `stat`.
std::string Stat(DriverStat stat) {
  return std::string("stats[STAT.") + kDriverStats[static_cast<size_t>(stat)].js_name + "]";
}

// Where a stage's kind puts it in the driver's loop.
bool IsTimestamps(const StageSpec &stage) {
  return InlineStageOf(stage.kind) == InlineStage::kAssignTimestamps;
}

// Emits the code that takes record `var` with event time `time` through stages[i..] and into
// the output. A keyed stage ends the inline code: its operator emits into E<i+1>.
class BodyEmitter {
 public:
  BodyEmitter(const ChainSpec &chain, const ChainProgram &program, JsWriter &w)
      : chain_(chain), program_(program), w_(w) {}

  void Emit(size_t i, const std::string &var, const std::string &time) {
    if (i == chain_.stages.size()) {
      EmitSink(var, time, /*late=*/false);
      return;
    }
    const InlineStage kind = InlineStageOf(chain_.stages[i].kind);
    const std::string next = "r" + std::to_string(i);
    w_.Line("s = ", i, ";");
    if (kind == InlineStage::kMap) {
      w_.Line("const ", next, " = f", i, "(", var, ", params);");
      EmitNext(i, next, time);
    } else if (kind == InlineStage::kFilter) {
      w_.Open("if (f", i, "(", var, ", params)) {");
      EmitNext(i, var, time);
      w_.Close();
    } else if (kind == InlineStage::kAssignTimestamps) {
      const std::string t = "t" + std::to_string(i);
      const std::string a = "A" + std::to_string(i);
      w_.Line("const ", t, " = f", i, "(", var, ", params);");
      w_.Line("if (typeof ", t, " !== \"number\" || ", t, " - ", t, " !== 0) throw badTime(", t,
              ");");
      w_.Line("if (", t, " > ", a, ".max) ", a, ".max = ", t, ";");
      w_.Line(a, ".seen = true;");
      EmitNext(i, var, t);
    } else if (kind == InlineStage::kFlatMap) {
      const std::string many = "a" + std::to_string(i);
      w_.Line("const ", many, " = f", i, "(", var, ", params);");
      w_.Line("if (!isIterable(", many, ")) throw notIterable(", many, ");");
      w_.Open("for (const ", next, " of ", many, ") {");
      EmitNext(i, next, time);
      w_.Close();
    } else if (chain_.keyed_input_in_chain ||
               static_cast<int>(i) != program_.input_key_stage) {
      // keyed here, by the chained keyBy: the key is taken (and checked) under the keyed
      // operator's key selector's name.
      const int k = static_cast<int>(i);
      const std::string km = "KM" + KeyedSuffix(program_, k);
      w_.Line("s = ", InputKeyStage(k), ";");
      if (k == program_.input_key_stage) {
        w_.Line("const kv = inKey(", var, ", params);");
      } else {
        w_.Line("const kv = CK", k, "(", var, ", params);");
      }
      w_.Line("const kg = ", km, ".group(kv);");
      if (chain_.stages[i].partitioned_input) {  // already partitioned by this key: check it
        w_.Line("if (kg < ", chain_.first_key_group, " || kg > ", chain_.last_key_group,
                ") throw keys.notPartitioned(", km, ".string, kg, ", chain_.first_key_group, ", ",
                chain_.last_key_group, ", ", chain_.subtask, ", ", chain_.parallelism, ");");
      }
      w_.Line("s = ", i, ";");
      EmitKeyedProcess(chain_, program_, k, "0", km, var, time, w_);
    } else {  // keyed: the key of the input the record came in on
      if (chain_.combined_input) EmitPartialBranch(i, var, time, w_);
      w_.Line("const kv = inKey(", var, ", params);");
      w_.Line("const kg = KM.group(kv);");
      EmitKeyedProcess(chain_, program_, static_cast<int>(i), "input", "KM", var, time, w_);
      if (chain_.combined_input) w_.Close();
    }
  }

  // After stage i: the record goes on to the next stage of a line, or along a DAG stage's links
  // (each in a block of its own when there are several).
  void EmitNext(size_t i, const std::string &var, const std::string &time) {
    if (!chain_.dag) {
      Emit(i + 1, var, time);
      return;
    }
    const std::vector<StageLink> &links = program_.next[i];
    for (const StageLink &link : links) {
      if (links.size() == 1) EmitLink(link, var, time);
      if (links.size() == 1) continue;
      w_.Open("{");
      EmitLink(link, var, time);
      w_.Close();
    }
  }

  // Where a DAG chain's records enter: the links of its source stage, or its first stage.
  void EmitEntry(const std::string &var, const std::string &time) {
    if (chain_.dag && program_.has_source_stage) return EmitNext(0, var, time);
    Emit(program_.has_source_stage ? 1 : 0, var, time);
  }

  // A DAG link: into the output, a keyed stage (keyed by the link's input's selector), a stage
  // several links lead into (its function N<stage>), or the stage's code inline.
  void EmitLink(const StageLink &link, const std::string &var, const std::string &time) {
    const int k = link.stage;
    if (k == static_cast<int>(chain_.stages.size())) {
      EmitSink(var, time, /*late=*/false);
    } else if (!KeyedLibrary(chain_.stages[k].kind).empty()) {
      const std::string km = "KM" + KeyedSuffix(program_, k);
      w_.Line("s = ", InputKeyStage(k), ";");
      w_.Line("const kv = LK", k, "_", link.input, "(", var, ", params);");
      w_.Line("const kg = ", km, ".group(kv);");
      w_.Line("s = ", k, ";");
      EmitKeyedProcess(chain_, program_, k, std::to_string(link.input), km, var, time, w_);
    } else if (program_.links_in[k] > 1) {
      w_.Line("N", k, "(", var, ", ", time, ");");
    } else {
      Emit(k, var, time);
    }
  }

  // A record's JSON `j` longer than ChainSpec::max_record_bytes (counted in UTF-16 units, at
  // most the UTF-8 bytes) fails the chain, naming its last operator.
  void EmitRecordLimit(const std::string &last) {
    if (chain_.max_record_bytes == 0) return;
    const uint64_t limit = chain_.max_record_bytes;
    w_.Line("if (j.length > ", limit, ") { s = ", last, "; throw tooBig(j.length, ", limit,
            "); }");
  }

  void EmitJson(const std::string &var, const std::string &last) {
    w_.Line("const j = JSON.stringify(", var, ");");
    w_.Line("if (j === undefined) { s = ", last, "; throw notJson(", var, "); }");
    EmitRecordLimit(last);
  }

  // The output part, for the main output or the late side output (edges marked late).
  void EmitSink(const std::string &var, const std::string &time, bool late) {
    if (chain_.output == OutputMode::kCount) {
      if (!late) w_.Line("nOut++;");
      return;
    }
    const std::string last = std::to_string(static_cast<int>(chain_.stages.size()) - 1);
    if (chain_.output == OutputMode::kJsonLines) {
      if (late) return;
      w_.Line("s = ", last, ";");
      EmitJson(var, last);
      w_.Line("nOut++;");
      w_.Line("lines.push(j);");
      return;
    }
    const bool columnar = chain_.codec == BatchCodec::kColumnar;
    if (!columnar) EmitJson(var, last);
    // Output after the last stage is named after it; a key selector after its keyed operator.
    w_.Line("s = ", last, ";");
    for (size_t e = 0; e < chain_.outputs.size(); ++e) {
      const PartitionSpec &edge = chain_.outputs[e];
      if (edge.late != late) continue;
      if (Combines(chain_, e)) {
        EmitCombinerAdd(chain_, e, var, time, w_);
        continue;
      }
      const std::string target = EmitTarget(e, edge, var, last);
      if (columnar) {
        w_.Line("if (!", target, ".add(", var, ", ", time, ")) throw notJson(", var, ");");
      } else {
        w_.Line(target, ".push(j);");
      }
    }
    if (!late) w_.Line("nOut++;");
  }

 private:
  // Picks the output list (or codec target) of edge `e` for record `var`; returns its name.
  std::string EmitTarget(size_t e, const PartitionSpec &edge, const std::string &var,
                         const std::string &last) {
    const std::string o = "o" + std::to_string(e);
    const std::string g = "g" + std::to_string(e);
    switch (edge.partitioning) {
      case Partitioning::kForward:
      case Partitioning::kBroadcast:
        return o;  // one list; the result places it at the target or at every target
      case Partitioning::kRebalance: {
        const std::string rr = "rr" + std::to_string(e);
        w_.Line("const ", g, " = ", o, "[", rr, "];");
        w_.Line("if (++", rr, " === ", edge.targets, ") ", rr, " = 0;");
        return g;
      }
      case Partitioning::kHash: {
        // The key is taken (and checked) under the keyed operator's name.
        const uint32_t m = edge.max_parallelism;
        w_.Line("s = ", OutputKeyStage(e), ";");
        w_.Line("const ", g, " = ", o, "[(keyGroupOf(k", e, "(", var, ", params), ", m, ") * ",
                edge.targets, " / ", m, ") | 0];");
        w_.Line("s = ", last, ";");
        return g;
      }
    }
    return o;
  }

  const ChainSpec &chain_;
  const ChainProgram &program_;
  JsWriter &w_;
};

bool HasLateEdges(const ChainSpec &chain) {
  if (chain.output != OutputMode::kPartitioned) return false;
  for (const PartitionSpec &edge : chain.outputs) {
    if (edge.late) return true;
  }
  return false;
}

bool OneList(const PartitionSpec &edge) {
  return edge.partitioning == Partitioning::kForward ||
         edge.partitioning == Partitioning::kBroadcast;
}

// A call's body runs between these two: when it throws, the stats say which stage was running.
void OpenGuard(JsWriter &w) { w.Open("try {"); }
void CloseGuard(JsWriter &w) {
  w.Line("done = true;");
  w.Next("} finally {");
  w.Line("if (!done) ", Stat(DriverStat::kRunningStage), " = s;");
  w.Close();
}

// Declarations in the factory, before `run`: user functions, key selectors, output targets and
// round-robin positions, timestamp assigners (all live as long as the runner).
void EmitSetup(const ChainSpec &chain, const ChainProgram &program, JsWriter &w) {
  for (size_t i = 0; i < program.functions.size(); ++i) {
    if (program.functions[i].count("fn") != 0) w.Line("const f", i, " = fns[", i, "].fn;");
  }
  if (program.source == SourceKind::kNexmark) {
    w.Line("const gen = nexmark.make(JSON.parse(sourceConfigJson));");
  }
  for (size_t e = 0; e < program.output_key_fns.size(); ++e) {
    const PartitionSpec &edge = chain.outputs[e];
    if (chain.codec == BatchCodec::kColumnar) {
      // Codec targets live as long as the runner: they keep their number buffers.
      // A record longer than max_record_bytes as JSON fails in finish() (codec.js).
      if (OneList(edge)) {
        w.Line("const T", e, " = new codec.Target(", chain.max_record_bytes, ", tooBig);");
      } else {
        w.Line("const T", e, " = codecTargets(", edge.targets, ", ", chain.max_record_bytes,
               ");");
      }
    }
    w.Line("let o", e, " = null;");
    if (edge.partitioning == Partitioning::kHash) {
      w.Line("const k", e, " = outKeyFns[", e, "];");
    } else if (edge.partitioning == Partitioning::kRebalance) {
      w.Line("let rr", e, " = ", edge.subtask % edge.targets, ";");
    }
  }
  // Timestamp assigners: the greatest event time seen; idle after idleTimeout ms without input.
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    if (!IsTimestamps(chain.stages[i])) continue;
    const std::string &config = chain.stages[i].config_json;
    w.Line("const A", i, " = (function () { const c = ", config.empty() ? "{}" : config,
           "; return { max: -Infinity, ooo: +c.maxOutOfOrderness || 0, idleTimeout: "
           "c.idleTimeout > 0 ? +c.idleTimeout : Infinity, seen: false, last: -1, idle: false }; "
           "})();");
  }
  EmitCombinerSetup(chain, w);
}

// Per call: the output lists of each edge.
void EmitBegin(const ChainSpec &chain, JsWriter &w) {
  w.Open("function begin() {");
  w.Line("nIn = 0; nOut = 0; lines = []; nowB = NaN;");
  if (chain.output == OutputMode::kPartitioned) {
    for (size_t e = 0; e < chain.outputs.size(); ++e) {
      const PartitionSpec &edge = chain.outputs[e];
      if (chain.codec == BatchCodec::kColumnar) {
        // The runner's targets, emptied in case the last batch failed half-way.
        w.Line("o", e, " = T", e, ";");
        if (OneList(edge)) {
          w.Line("o", e, ".reset();");
        } else {
          w.Line("for (const t of o", e, ") t.reset();");
        }
      } else if (OneList(edge)) {
        w.Line("o", e, " = [];");
      } else {
        w.Line("o", e, " = lineArrays(", edge.targets, ");");
      }
    }
  }
  EmitCombinerBegin(chain, w);
  w.Close();
}

// The output of a partitioned call: per edge, one batch per target.
void EmitPartitionedResult(const ChainSpec &chain, JsWriter &w) {
  w.Line("out = [];");
  const bool columnar = chain.codec == BatchCodec::kColumnar;
  // A record over the size limit fails in a target's finish(), blamed on the last operator.
  if (columnar) w.Open("try {");
  for (size_t e = 0; e < chain.outputs.size(); ++e) {
    const PartitionSpec &edge = chain.outputs[e];
    const std::string o = "o" + std::to_string(e);
    // How one target's records become its bytes: the columnar encoder's finish(), or the JSON
    // lines joined.
    const std::string whole = columnar ? o + ".finish()" : "joinLines(" + o + ")";
    switch (edge.partitioning) {
      case Partitioning::kForward:
        w.Line("{ const t = new Array(", edge.targets, ").fill(\"\"); t[", edge.subtask,
               "] = ", whole, "; out.push(t); }");
        break;
      case Partitioning::kBroadcast:  // the same value at every target: C++ encodes it once
        w.Line("out.push(new Array(", edge.targets, ").fill(", whole, "));");
        break;
      case Partitioning::kRebalance:
      case Partitioning::kHash:
        w.Line("out.push(", o, ".map(", columnar ? "finishTarget" : "joinLines", "));");
        break;
    }
  }
  if (columnar) {
    w.Next("} catch (e) {");
    w.Line(Stat(DriverStat::kRunningStage), " = ", static_cast<int>(chain.stages.size()) - 1,
           ";");
    w.Line("throw e;");
    w.Close();
  }
}

// After a call: the batch's result, and stats.
void EmitFinish(const ChainSpec &chain, const ChainProgram &program, JsWriter &w) {
  w.Open("function outWatermark() {");
  if (chain.dag) {
    EmitDagWatermarks(chain, program, w);
    w.Line("return wOut;");
  } else {
    w.Line("let w = wmIn;");
    for (size_t i = 0; i < chain.stages.size(); ++i) {
      if (!IsTimestamps(chain.stages[i])) continue;
      // Bounded out-of-orderness, as Flink: the greatest time seen - maxOutOfOrderness - 1.
      w.Line("w = w === Infinity ? Infinity : A", i, ".max - A", i, ".ooo - 1;");
    }
    w.Line("return w;");
  }
  w.Close();
  w.Open("function finish() {");
  w.Line("let out = \"\";");
  if (chain.output != OutputMode::kPartitioned) {
    w.Open("if (lines.length !== 0) {");
    w.Line("lines.push(\"\");");
    w.Line("out = lines.join(\"\\n\");");
    w.Close();
  } else {
    EmitPartitionedResult(chain, w);
  }
  w.Line(Stat(DriverStat::kRecordsIn), " = nIn;");
  w.Line(Stat(DriverStat::kRecordsOut), " = nOut;");
  w.Line(Stat(DriverStat::kOutputWatermark), " = outWatermark();");
  w.Line(Stat(DriverStat::kOutputIdle), " = idleOut ? 1 : 0;");
  if (!program.keyed_stages.empty()) {
    std::string dropped, side;
    for (int k : program.keyed_stages) {
      dropped += (dropped.empty() ? "ST" : " + ST") + std::to_string(k) + ".lateDropped";
      side += (side.empty() ? "ST" : " + ST") + std::to_string(k) + ".lateSideOutput";
    }
    w.Line(Stat(DriverStat::kLateDropped), " = ", dropped, ";");
    w.Line(Stat(DriverStat::kLateSideOutput), " = ", side, ";");
  }
  w.Line("return out;");
  w.Close();
}

// E<i>(r, t): what the keyed stage i - 1 emits goes through stages[i..]; L<k>(r, t): its late
// side output.
// Only the chain's last keyed stage can have a side output (the planner chains no edge out of
// an operator with two outputs).
void EmitKeyedOutputs(const ChainSpec &chain, const ChainProgram &program, JsWriter &w) {
  BodyEmitter body(chain, program, w);
  for (int k : program.keyed_stages) {
    w.Open("function E", k + 1, "(r, t) {");
    body.EmitNext(k, "r", "t");
    w.Close();
    w.Open("function L", k, "(r, t) {");
    if (HasLateEdges(chain) && k == program.keyed_stages.back()) {
      body.EmitSink("r", "t", /*late=*/true);
    }
    w.Close();
  }
}

// N<i>(r, t): a stage of a DAG chain that several links lead into (not a keyed one: its
// operator takes records by input).
void EmitSharedStages(const ChainSpec &chain, const ChainProgram &program, JsWriter &w) {
  if (!chain.dag) return;
  BodyEmitter body(chain, program, w);
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    if (program.links_in[i] < 2 || !KeyedLibrary(chain.stages[i].kind).empty()) continue;
    w.Open("function N", i, "(r, t) {");
    body.Emit(i, "r", "t");
    w.Close();
  }
}

// run.advance(watermark, now): fires the keyed operator's timers, notices idle input; then
// run.flush and run.snapshot.
void EmitAdvance(const ChainSpec &chain, const ChainProgram &program, JsWriter &w) {
  const int k = program.input_key_stage;
  w.Open("run.advance = function advance(watermark, now) {");
  w.Line("s = -1; let done = false;");
  w.Line("begin();");
  OpenGuard(w);
  if (k >= 0) {
    w.Line("if (watermark > wmIn) wmIn = watermark;");
    w.Line("moveKeyed();");
    for (int keyed : program.keyed_stages) {
      w.Line("s = ", keyed, ";");
      w.Line("O", keyed, ".onProcessingTime(now);");
    }
  } else {
    w.Line("if (watermark > wmIn) wmIn = watermark;");
  }
  // The last assigner decides whether the output is idle.
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    if (!IsTimestamps(chain.stages[i])) continue;
    const std::string a = "A" + std::to_string(i);
    w.Line("if (", a, ".seen || ", a, ".last < 0) { ", a, ".seen = false; ", a, ".last = now; ",
           a, ".idle = false; }");
    w.Line("else if (now - ", a, ".last >= ", a, ".idleTimeout) ", a, ".idle = true;");
    w.Line("idleOut = ", a, ".idle;");
  }
  EmitCombinerEnd(chain, w);
  CloseGuard(w);
  w.Line("return finish();");
  w.Close("};");
  EmitCombinerRelease(chain, Stat(DriverStat::kRunningStage), w);
  w.Line("run.flush = function flush() { if (tables !== null) tables.flush(); };");
  // Checkpoints (state.js): all at once, or in parts (the barrier's copy-on-write view, then
  // the writes between batches); `all` is whether the checkpoint's state is written. An
  // operator with a prepareSnapshot() moves what it keeps into its state first (the window
  // operator's own timers need none: its TM adopted them, timers.js). The cache holds every
  // keyed stage's tables and tracks every stage's timers.
  for (const char *call : {"snapshot()", "beginSnapshot()", "continueSnapshot(budget)"}) {
    const std::string name(call, std::strchr(call, '(') - call);
    w.Open("run.", name, " = function ", name, "(budget) {");
    w.Line("let all = true;");
    if (k >= 0) {
      w.Line("s = ", k, "; let done = false;");
      OpenGuard(w);
      if (name != "continueSnapshot") {
        for (int keyed : program.keyed_stages) {
          w.Line("if (O", keyed, ".prepareSnapshot !== undefined) O", keyed,
                 ".prepareSnapshot();");
        }
      }
      w.Line("all = tables.", call, " !== false;");
      CloseGuard(w);
    }
    w.Line("return all;");
    w.Close("};");
  }
  w.Line("run.abortSnapshot = function abortSnapshot() { if (tables !== null) tables.abortSnapshot(); };");
}

std::string SourceExpression(const ChainProgram &program, const std::string &index) {
  if (program.source == SourceKind::kNexmark) return "gen(" + index + ")";
  if (program.functions[0].count("fn") != 0) return "f0(" + index + ", params)";
  return index;
}

// A record that arrives un-idles the assigners (idleness is only noticed in advance()).
void EmitUnidle(const ChainSpec &chain, JsWriter &w) {
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    if (!IsTimestamps(chain.stages[i])) continue;
    w.Line("if (A", i, ".idle && A", i, ".seen) { A", i, ".idle = false; idleOut = false; }");
  }
}

// The loop of a text chain's run(): a columnar batch (decoded at once) or JSON or text lines.
void EmitTextLoop(const ChainSpec &chain, const ChainProgram &program, JsWriter &w) {
  BodyEmitter body(chain, program, w);
  const char *source_stage = program.has_source_stage ? "0" : "-1";
  const bool json = chain.text_format == "json";
  if (json) {
    w.Line("// A columnar batch (RunText passes its parts): decoded into records at once.");
    w.Open("if (header !== undefined) {");
    w.Line("s = ", source_stage, ";");
    w.Line("const batch = codec.decode(header, nums, strs);");
    w.Line("const at = batch.at, count = batch.n, times = batch.times;");
    w.Open("for (let q = 0; q < count; q++) {");
    w.Line("s = ", source_stage, ";");
    w.Line("const r = at(q);");
    w.Line("let t;");
    w.Line("if (times !== null) { t = times[q]; if (t !== t) t = undefined; }");
    w.Line("nIn++;");
    body.EmitEntry("r", "t");
    w.Close();
    w.Close();
    w.Line("// JSON lines may start with their records' event times (codec.js, TIMES_MARK).");
    w.Line("const lt = codec.linesTimes(text);");
    w.Line("const times = lt === null ? null : lt[0];");
    w.Line("if (lt !== null) p = lt[1];");
  } else {
    w.Line("const times = null;");
  }
  w.Line("const n = text.length;");
  w.Line("let q = 0;");
  w.Open("while (p < n) {");
  w.Line("let e = text.indexOf(\"\\n\", p);");
  w.Line("if (e < 0) e = n;");
  w.Line("let end = e;");
  w.Line("if (end > p && text.charCodeAt(end - 1) === 13) end--;");
  w.Line("const line = text.slice(p, end);");
  w.Line("p = e + 1;");
  w.Line("s = ", source_stage, ";");
  if (json) {
    w.Line("if (line.length === 0) continue;");
    w.Line("const r = parseLine(line);");
    w.Line("if (r === SKIP) continue;");
  } else {
    w.Line("const r = line;");
  }
  w.Line("let t;");
  w.Line("if (times !== null) { t = times[q]; if (t !== t) t = undefined; }");
  w.Line("q++;");
  w.Line("nIn++;");
  body.EmitEntry("r", "t");
  w.Close();
}

// run(): one batch through the chain.
void EmitRun(const ChainSpec &chain, const ChainProgram &program, JsWriter &w) {
  if (program.source == SourceKind::kText) {
    w.Open("const run = function run(text, header, nums, strs, in_) {");
    w.Line("s = -1; let done = false, p = 0;");
    w.Line("begin();");
    if (program.input_key_stage >= 0 && !chain.keyed_input_in_chain) {
      w.Line("input = in_ === undefined ? 0 : in_;");
      w.Line("inKey = inKeyFns[input];");
      w.Line("if (inKey === undefined) throw new RangeError(\"no input \" + input);");
    }
    OpenGuard(w);
    EmitTextLoop(chain, program, w);
  } else {
    BodyEmitter body(chain, program, w);
    w.Open("const run = function run(first, stride, count) {");
    w.Line("s = -1; let done = false;");
    w.Line("begin();");
    OpenGuard(w);
    w.Open("for (let k = 0; k < count; k++) {");
    w.Line("s = 0;");
    w.Line("const r = ", SourceExpression(program, "first + k * stride"), ";");
    w.Line("nIn++;");
    body.EmitEntry("r", "undefined");
    w.Close();
  }
  if (chain.keyed_input_in_chain || program.keyed_stages.size() > 1) w.Line("moveKeyed();");
  EmitCombinerEnd(chain, w);
  CloseGuard(w);
  EmitUnidle(chain, w);
  w.Line("return finish();");
  w.Close("};");
}

}  // namespace

void WriteDriver(const ChainSpec &chain, const ChainProgram &program, std::string *out) {
  JsWriter w(out);
  EmitDriverHeader(chain, program, w);
  *out += kPrelude;  // opens the factory: (function chainDriver(env) {
  EmitStatNames(w);
  EmitSetup(chain, program, w);
  EmitKeyedOperator(chain, program, w);
  EmitBegin(chain, w);
  EmitFinish(chain, program, w);
  EmitKeyedOutputs(chain, program, w);
  EmitSharedStages(chain, program, w);
  EmitRun(chain, program, w);
  EmitAdvance(chain, program, w);
  w.Line("return run;");
  w.Line("})");
}

}  // namespace sluice::js
