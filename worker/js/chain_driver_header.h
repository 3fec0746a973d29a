#pragma once

#include "worker/js/chain_program.h"
#include "worker/js/js_writer.h"

namespace sluice::js {

// Writes the comment lines that start the driver of `chain`: its input (and whether it is keyed
// inside the chain), one line per stage, and its output or output edges. Used by WriteDriver.
void EmitDriverHeader(const ChainSpec &chain, const ChainProgram &program, JsWriter &w);

// The stats' names (`const STAT`), from kDriverStats.
void EmitStatNames(JsWriter &w);

}  // namespace sluice::js
