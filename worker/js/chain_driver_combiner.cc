// The combiner parts of a chain's driver (chain_driver_combiner.h).
#include "worker/js/chain_driver_combiner.h"

namespace sluice::js {
namespace {

// The record a combiner sends for a partial accumulator: runtime/combiner.js's PARTIAL.
constexpr char kPartialField[] = "__sluice_partial__";

}  // namespace

bool Combines(const ChainSpec &chain, size_t e) {
  return chain.output == OutputMode::kPartitioned && e < chain.outputs.size() &&
         chain.outputs[e].partitioning == Partitioning::kHash &&
         chain.outputs[e].combiner.has_value() && !chain.outputs[e].late &&
         chain.codec == BatchCodec::kColumnar;
}

bool AnyCombines(const ChainSpec &chain) {
  for (size_t e = 0; e < chain.outputs.size(); ++e) {
    if (Combines(chain, e)) return true;
  }
  return false;
}

void EmitCombinerSetup(const ChainSpec &chain, JsWriter &w) {
  for (size_t e = 0; e < chain.outputs.size(); ++e) {
    if (!Combines(chain, e)) continue;
    const PartitionSpec &edge = chain.outputs[e];
    const StageSpec &window = *edge.combiner;
    const uint32_t m = edge.max_parallelism;
    w.Line("// Output edge ", e, " pre-aggregates for ", JsString(DescribeStage(window)), ".");
    // Its key groups, and key strings but for integer keys (combiner.js idOf needs none).
    w.Line("const KC", e, " = new keys.KeyMemo(", m, ", false);");
    w.Open("const C", e, " = new rt.combiner.Combiner(");
    w.Line("{ id: ", JsString(window.operator_id), ", name: ", JsString(window.operator_name),
           ", kind: ", JsString(window.kind), ", config: ",
           window.config_json.empty() ? "{}" : window.config_json, ", fns: fns[",
           chain.stages.size() + e, "] },");
    w.Line("params, rt.window_config,");
    w.Line("(kg, r, t) => { if (!o", e, "[(kg * ", edge.targets, " / ", m,
           ") | 0].add(r, t)) throw notJson(r); }");
    w.Close(");");
  }
}

void EmitCombinerBegin(const ChainSpec &chain, JsWriter &w) {
  for (size_t e = 0; e < chain.outputs.size(); ++e) {
    if (Combines(chain, e)) w.Line("C", e, ".begin(outWatermark(), idleOut);");
  }
}

void EmitCombinerEnd(const ChainSpec &chain, JsWriter &w) {
  if (!AnyCombines(chain)) return;
  w.Line("s = ", static_cast<int>(chain.stages.size()) - 1, ";");
  for (size_t e = 0; e < chain.outputs.size(); ++e) {
    if (Combines(chain, e)) w.Line("C", e, ".end(outWatermark(), idleOut);");
  }
}

void EmitCombinerRelease(const ChainSpec &chain, const std::string &running_stage, JsWriter &w) {
  w.Open("run.release = function release() {");
  if (AnyCombines(chain)) {
    std::string held;
    for (size_t e = 0; e < chain.outputs.size(); ++e) {
      if (Combines(chain, e)) held += (held.empty() ? "C" : " && C") + std::to_string(e) + ".held === 0";
    }
    w.Line("if (", held, ") return null;");
    w.Line("s = -1; let done = false;");
    w.Line("begin();");
    w.Open("try {");
    w.Line("s = ", static_cast<int>(chain.stages.size()) - 1, ";");
    for (size_t e = 0; e < chain.outputs.size(); ++e) {
      if (Combines(chain, e)) w.Line("C", e, ".flush(); C", e, ".end(outWatermark(), idleOut);");
    }
    w.Line("done = true;");
    w.Next("} finally {");
    w.Line("if (!done) ", running_stage, " = s;");
    w.Close();
    w.Line("return finish();");
  } else {
    w.Line("return null;");
  }
  w.Close("};");
}

void EmitCombinerAdd(const ChainSpec &chain, size_t e, const std::string &var,
                     const std::string &time, JsWriter &w) {
  const std::string n = std::to_string(e);
  w.Line("s = ", OutputKeyStage(e), ";");
  w.Line("const ck", n, " = k", n, "(", var, ", params);");
  w.Line("const cg", n, " = KC", n, ".group(ck", n, ");");
  w.Line("s = ", CombinerStage(e), ";");
  w.Line("C", n, ".add(cg", n, ", KC", n, ".string, ck", n, ", ", var, ", ", time, ");");
  w.Line("s = ", static_cast<int>(chain.stages.size()) - 1, ";");
}

void EmitPartialBranch(size_t i, const std::string &var, const std::string &time, JsWriter &w) {
  w.Open("if (", var, " !== null && typeof ", var, " === \"object\" && ", var, ".", kPartialField,
         " === 1) {");
  w.Line("const pk = ", var, ".key, pg = KM.group(pk);");
  w.Line("O", i, ".processPartial(pg, KM.string, pk, ", var, ".acc, ", time, ", ", var, ".end);");
  w.Next("} else {");
}

}  // namespace sluice::js
