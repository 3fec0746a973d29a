#pragma once

#include <string>

#include "worker/js/chain_program.h"

namespace sluice::js {

// Appends the driver of `chain` (ChainProgram::driver_source) to `out`. `program` holds what
// BuildChainProgram's checks found (sources, functions, the keyed stage, key selectors).
void WriteDriver(const ChainSpec &chain, const ChainProgram &program, std::string *out);

}  // namespace sluice::js
