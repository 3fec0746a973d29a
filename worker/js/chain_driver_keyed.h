#pragma once

#include <string>

#include "worker/js/chain_program.h"
#include "worker/js/js_writer.h"

namespace sluice::js {

// The driver's keyed stages (chain_program.h, keyed_stages), written by WriteDriver. Keyed
// stage j (stage k) has its operator O<k> on state table 2j, its TimerService on table 2j + 1,
// its stats ST<k>, its watermark, its key memo and, after the first, its chained key selector
// CK<k>; one StateTables cache (`tables`) serves them all.

// The names of keyed stage k's own variables: the first keyed stage's are KM, TM and WK (its
// input watermark, WK.w), a later one's KM<k>, TM<k> and WK<k>.
std::string KeyedSuffix(const ChainProgram &program, int k);

// Keyed stage k's operator takes record `var` (key kv, key group kg, key string in `km`) with
// event time `time` from input `input`. A window operator first tries its fast path here
// (windows.js, addFast: a record for its key's open event-time tumbling window that has not
// fired), with the event time compared where it is an unboxed number and no call made when the
// bucket does not match; processElement when the fast path does not apply.
void EmitKeyedProcess(const ChainSpec &chain, const ChainProgram &program, int k,
                      const std::string &input, const std::string &km, const std::string &var,
                      const std::string &time, JsWriter &w);

// Set-up: the cache, every keyed stage's timers (restored with the state) and operator, and
// moveKeyed(), which moves each keyed stage's watermark on, upstream first.
void EmitKeyedOperator(const ChainSpec &chain, const ChainProgram &program, JsWriter &w);

// In a DAG chain (ChainSpec::dag): `const w<i> = ...;` for every stage, its input watermark
// (the least of the stages linking into it, the chain's input watermark wmIn for the first, an
// assigner's own after it: wA<i>), and `const wOut`, the output's.
void EmitDagWatermarks(const ChainSpec &chain, const ChainProgram &program, JsWriter &w);

}  // namespace sluice::js
