// The keyed stages of a generated chain driver (chain_driver_keyed.h).
#include "worker/js/chain_driver_keyed.h"

#include "common/operator_kinds.h"

namespace sluice::js {

std::string KeyedSuffix(const ChainProgram &program, int k) {
  return k == program.input_key_stage ? "" : std::to_string(k);
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
  w.Line("let w = wmIn;");
  int from = 0;
  for (int k : program.keyed_stages) {
    for (int i = from; i < k; ++i) {
      if (InlineStageOf(chain.stages[i].kind) != InlineStage::kAssignTimestamps) continue;
      w.Line("w = w === Infinity ? Infinity : A", i, ".max - A", i, ".ooo - 1;");
    }
    from = k;
    const std::string wm = "wmK" + KeyedSuffix(program, k);
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
  w.Line("const ", tm, " = new rt.timers.TimerService();");
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
  w.Open("const O", k, " = rt.", KeyedLibrary(stage.kind), ".make(");
  w.Line("{ id: ", JsString(stage.operator_id), ", name: ", JsString(stage.operator_name),
         ", kind: ", JsString(stage.kind), ", config: ",
         stage.config_json.empty() ? "{}" : stage.config_json, ", fns: fns[", k, "] },");
  // Windows read processing time once a batch (batchNow); a process function's
  // currentProcessingTime() reads the clock each call.
  const char *now = KeyedLibrary(stage.kind) == "windows" ? "batchNow" : "() => Date.now()";
  w.Line("{ params, state: tables.table(", 2 * j, "), timers: ", tm, ", emit: E", k + 1,
         ", emitLate: L", k, ", now: ", now, ", watermark: () => wmK", suffix,
         ", stats: ST", k, ", runtime: rt },");
  w.Close(");");
  w.Line("let wmK", suffix, " = -Infinity;");
  w.Line("const KM", suffix, " = new keys.KeyMemo(", chain.max_parallelism,
         ");  // key strings and groups");
  if (j > 0) w.Line("const CK", k, " = chainKeyFns[", k, "];");
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
  for (size_t j = 0; j < program.keyed_stages.size(); ++j) EmitKeyedStage(chain, program, j, w);
  w.Line("let input = 0, inKey = inKeyFns[0];");
  EmitMoveKeyed(chain, program, w);
}

}  // namespace sluice::js
