// The keyed stages of a generated chain driver (chain_driver_keyed.h).
#include "worker/js/chain_driver_keyed.h"

#include "common/operator_kinds.h"

namespace sluice::js {

std::string KeyedSuffix(const ChainProgram &program, int k) {
  return k == program.input_key_stage ? "" : std::to_string(k);
}

void EmitKeyedProcess(const ChainSpec &chain, const ChainProgram &program, int k,
                      const std::string &input, const std::string &km, const std::string &var,
                      const std::string &time, JsWriter &w) {
  const std::string o = "O" + std::to_string(k);
  const std::string call =
      o + ".processElement(" + input + ", kg, " + km + ".string, kv, " + var + ", " + time + ");";
  if (KeyedLibrary(chain.stages[k].kind) != "windows") {
    w.Line(call);
    return;
  }
  const std::string wm = "WK" + KeyedSuffix(program, k) + ".w";
  w.Open("if (!(typeof ", time, " === \"number\" && ", time, " >= ", o, ".fastFrom && ", time,
         " < ", o, ".fastTo && ", o, ".fastTo - 1 > ", wm, " && ", o, ".addFast(kg, ", km,
         ".string, ", var, "))) {");
  w.Line(call);
  w.Close();
}

void EmitDagWatermarks(const ChainSpec &chain, const ChainProgram &program, JsWriter &w) {
  const int n = static_cast<int>(chain.stages.size());
  std::vector<std::vector<int>> from(n + 1);
  for (int i = 0; i < n; ++i) {
    for (const StageLink &link : program.next[i]) from[link.stage].push_back(i);
  }
  // What stage i passes on: an assigner's own watermark, or its input's.
  const auto out = [&](int i) {
    return InlineStageOf(chain.stages[i].kind) == InlineStage::kAssignTimestamps
               ? "wA" + std::to_string(i)
               : "w" + std::to_string(i);
  };
  for (int i = 0; i <= n; ++i) {
    std::string in = "wmIn";
    if (from[i].size() == 1) in = out(from[i][0]);
    if (from[i].size() > 1) {
      in = "Math.min(";
      for (size_t p = 0; p < from[i].size(); ++p) in += (p == 0 ? "" : ", ") + out(from[i][p]);
      in += ")";
    }
    const std::string name = i == n ? "wOut" : "w" + std::to_string(i);
    w.Line("const ", name, " = ", in, ";");
    if (i < n && InlineStageOf(chain.stages[i].kind) == InlineStage::kAssignTimestamps) {
      w.Line("const wA", i, " = ", name, " === Infinity ? Infinity : A", i, ".max - A", i,
             ".ooo - 1;");
    }
  }
}

namespace {

// moveKeyed(): the keyed stages' input watermarks, each the chain's input watermark unless
// timestamp assigners before it in the chain (a chained keyBy) make their own, as outWatermark()
// does for the chain's output; a keyed stage whose watermark advanced fires its event-time
// timers. After every batch and every advance(), as a downstream task would on the watermark
// that follows each batch. Upstream first: what a keyed stage emits as its timers fire reaches
// the next keyed stage before that one fires for the same watermark, as between two tasks.
void EmitMoveKeyed(const ChainSpec &chain, const ChainProgram &program, JsWriter &w) {
  w.Open("function moveKeyed() {");
  if (chain.dag) {
    EmitDagWatermarks(chain, program, w);
    for (int k : program.keyed_stages) {
      const std::string wm = "WK" + KeyedSuffix(program, k) + ".w";
      w.Open("if (w", k, " > ", wm, ") {");
      w.Line(wm, " = w", k, ";");
      w.Line("s = ", k, ";");
      w.Line("O", k, ".onWatermark(w", k, ");");
      w.Close();
    }
    w.Close();
    return;
  }
  w.Line("let w = wmIn;");
  int from = 0;
  for (int k : program.keyed_stages) {
    for (int i = from; i < k; ++i) {
      if (InlineStageOf(chain.stages[i].kind) != InlineStage::kAssignTimestamps) continue;
      w.Line("w = w === Infinity ? Infinity : A", i, ".max - A", i, ".ooo - 1;");
    }
    from = k;
    const std::string wm = "WK" + KeyedSuffix(program, k) + ".w";
    w.Open("if (w > ", wm, ") {");
    w.Line(wm, " = w;");
    w.Line("s = ", k, ";");
    w.Line("O", k, ".onWatermark(w);");
    w.Close();
  }
  w.Close();
}

// Keyed stage j (stage k): its timers (restored with the state), and its operator on state
// table 2j with its timers in table 2j + 1.
void EmitKeyedStage(const ChainSpec &chain, const ChainProgram &program, size_t j, JsWriter &w) {
  const int k = program.keyed_stages[j];
  const std::string suffix = KeyedSuffix(program, k);
  const StageSpec &stage = chain.stages[k];
  const std::string tm = "TM" + suffix;
  w.Line("const ", tm, " = new rt.timers.TimerService(rt.timer_changes);");
  w.Line("tables.trackTimers(", 2 * j + 1, ", ", tm, ");");
  if (chain.restore_state) {  // the timers of the checkpoint the backend was restored from
    w.Open("try {");
    w.Line("tables.restoreTimers(", 2 * j + 1, ", ", tm, ", ", chain.max_parallelism, ");");
    w.Next("} catch (e) {");
    w.Line("stats[STAT.runningStage]", " = ", k, ";");
    w.Line("throw e;");
    w.Close();
  }
  w.Line("const ST", k, " = { lateDropped: 0, lateSideOutput: 0 };");
  w.Line("const WK", suffix, " = { w: -Infinity };  // its input watermark");
  // Its runtime libraries: its own copies (OwnRuntimeLibraries) or the chain's.
  const std::string libraries =
      OwnRuntimeLibraries(chain, program, k).empty() ? "rt" : "rt.stage" + std::to_string(k);
  w.Open("const O", k, " = ", libraries, ".", KeyedLibrary(stage.kind), ".make(");
  w.Line("{ id: ", JsString(stage.operator_id), ", name: ", JsString(stage.operator_name),
         ", kind: ", JsString(stage.kind), ", config: ",
         stage.config_json.empty() ? "{}" : stage.config_json, ", fns: fns[", k, "] },");
  // Windows read processing time once a batch (batchNow); a process function's
  // currentProcessingTime() reads the clock each call.
  const char *now = KeyedLibrary(stage.kind) == "windows" ? "batchNow" : "keyedNow";
  w.Line("{ params, state: tables.table(", 2 * j, "), timers: ", tm, ", emit: E", k + 1,
         ", emitLate: L", k, ", now: ", now, ", watermark: keyedWatermark(WK", suffix, ")",
         ", stats: ST", k, ", runtime: ", libraries, " },");
  w.Close(");");
  w.Line("const KM", suffix, " = new keys.KeyMemo(", chain.max_parallelism,
         ");  // key strings and groups");
  if (chain.dag) {
    for (size_t input = 0; input < stage.chained_key_fns.size(); ++input) {
      w.Line("const LK", k, "_", input, " = linkKeyFns[", k, "][", input, "];");
    }
  } else if (j > 0) {
    w.Line("const CK", k, " = chainKeyFns[", k, "];");
  }
}

}  // namespace

// The keyed operators, their state tables (one cache for all) and timers, or none.
void EmitKeyedOperator(const ChainSpec &chain, const ChainProgram &program, JsWriter &w) {
  // The batch's processing time: read from the clock at its first use, forgotten by begin().
  w.Line("let nowB = NaN;");
  w.Line("function batchNow() { return nowB === nowB ? nowB : (nowB = Date.now()); }");
  if (program.keyed_stages.empty()) {
    w.Line("const tables = null;");
    return;
  }
  // rt.stateEmpty: the backend holds nothing yet (state.js, "A fresh backend").
  w.Line("const tables = new rt.state.StateTables(rt.stateNative, { cacheEntries: ",
         chain.state_cache_entries, ", fresh: rt.stateEmpty });");
  // Keyed operators' ctx.watermark are closures of one literal, and their ctx.now one function
  // (batchNow for windows): operators share code, and V8 inlines a call only where it has seen
  // one function (or closures of one literal) there.
  w.Line("const keyedNow = () => Date.now();");
  w.Line("function keyedWatermark(t) { return () => t.w; }");
  for (size_t j = 0; j < program.keyed_stages.size(); ++j) EmitKeyedStage(chain, program, j, w);
  w.Line("let input = 0, inKey = inKeyFns[0];");
  EmitMoveKeyed(chain, program, w);
}

}  // namespace sluice::js
