// The comment that starts a generated chain driver (chain_driver.h): its input, stages and
// output edges, for a person reading the driver (`--driver-dir`).
#include "worker/js/chain_driver_header.h"

#include "worker/js/chain_driver_combiner.h"

#include <string>

namespace sluice::js {
namespace {

// The input and output of a chain, and its stages, for the comment that starts the driver.
// Names and ids are users' text: no line breaks in them.
std::string OneLine(std::string text) {
  for (char &c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

const char *PartitioningName(Partitioning partitioning) {
  switch (partitioning) {
    case Partitioning::kForward: return "forward";
    case Partitioning::kBroadcast: return "broadcast";
    case Partitioning::kRebalance: return "rebalance";
    case Partitioning::kHash: return "hash";
  }
  return "?";
}

}  // namespace

void EmitDriverHeader(const ChainSpec &chain, const ChainProgram &program, JsWriter &w) {
  w.Line("// A Sluice chain driver, written by worker/js/chain_driver.cc for one task.");
  const char *input = program.source == SourceKind::kNexmark     ? "generated (nexmark)"
                      : program.source == SourceKind::kGenerator ? "generated"
                      : chain.text_format == "json"              ? "JSON lines or columnar batches"
                                                                 : "text lines";
  if (program.input_key_stage >= 0 && chain.keyed_input_in_chain) {
    w.Line("// Input: ", input, "; stage ", program.input_key_stage,
           " keyed inside the chain (a chained keyBy)");
  } else {
    w.Line("// Input: ", input, program.input_key_stage >= 0 ? ", keyed" : "",
           chain.combined_input ? ", with partial accumulators from combiners" : "");
  }
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    const bool keyed_inside = !chain.stages[i].chained_key_fn.empty() ||
                              !chain.stages[i].chained_key_fns.empty();
    std::string links;  // a DAG chain's: where the stage's records go
    for (const StageLink &link : chain.dag ? chain.stages[i].next : std::vector<StageLink>()) {
      links += (links.empty() ? " -> " : ", ") +
               (link.stage == static_cast<int>(chain.stages.size())
                    ? std::string("output")
                    : "stage " + std::to_string(link.stage) +
                          (link.input > 0 ? " input " + std::to_string(link.input) : ""));
    }
    w.Line("//   stage ", i, ": ", chain.stages[i].kind, " ",
           OneLine(DescribeStage(chain.stages[i])),
           keyed_inside && static_cast<int>(i) != program.input_key_stage
               ? ", keyed inside the chain"
               : "",
           links);
  }
  if (chain.output == OutputMode::kCount) w.Line("// Output: counted, not kept");
  if (chain.output == OutputMode::kJsonLines) w.Line("// Output: JSON lines");
  if (chain.output != OutputMode::kPartitioned) return;
  for (size_t e = 0; e < chain.outputs.size(); ++e) {
    const PartitionSpec &edge = chain.outputs[e];
    w.Line("// Output edge ", e, ": ", PartitioningName(edge.partitioning), " to ", edge.targets,
           " subtask(s)", edge.late ? ", late records" : "",
           chain.codec == BatchCodec::kColumnar ? ", columnar" : ", JSON lines",
           Combines(chain, e) ? ", pre-aggregated for " + OneLine(DescribeStage(*edge.combiner))
                              : std::string());
  }
}

void EmitStatNames(JsWriter &w) {
  w.Open("const STAT = Object.freeze({");
  for (const DriverStatName &stat : kDriverStats) {
    w.Line(stat.js_name, ": ", static_cast<int>(stat.stat), ",");
  }
  w.Close("});");
}

}  // namespace sluice::js
