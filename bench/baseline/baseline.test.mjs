// The hand-written baselines compute what the Sluice jobs of bench/nexmark compute: for each
// query, `sluice run bench/nexmark/<q>.ts --param sink=stdout` and `node bench/baseline/<q>.mjs
// --print` on the same events give the same records (compared as sorted JSON lines; where a
// query's order within a window is not defined, as q5's tied auctions, it is normalised). q12's
// windows are of processing time, so which window a bid falls in depends on the clock: its
// records are compared as each bidder's total over all windows.
// SLUICE_BIN: the binary (ctest sets it); NEXMARK_TEST_EVENTS: the event count (default 60000).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const sluice = process.env.SLUICE_BIN ?? path.join(repo, "build/cli/sluice");
const events = Number(process.env.NEXMARK_TEST_EVENTS ?? 60000);
const big = { maxBuffer: 1 << 30 };

// q5's auctions of one window come in the order their counts reach the second stage.
const normalise = {
  q5: (r) => ({ ...r, auctions: [...r.auctions].sort((a, b) => a - b) }),
};

// Each bidder's bids over all of q12's windows, as { key, value } records.
function totals(records) {
  const sum = new Map();
  for (const r of records) sum.set(r.key, (sum.get(r.key) ?? 0) + r.value);
  return [...sum].map(([key, value]) => ({ key, value }));
}

function lines(text, query) {
  const fix = normalise[query] ?? ((r) => r);
  let records = text.split("\n").filter((l) => l !== "").map((l) => fix(JSON.parse(l)));
  if (query === "q12") records = totals(records);
  return records.map((r) => JSON.stringify(r)).sort();
}

for (const query of ["q0", "q1", "q2", "q3", "q5", "q7", "q8", "q11", "q12"]) {
  test(`${query}: the baseline's records equal Sluice's (${events} events)`, async () => {
    const [ours, theirs] = await Promise.all([
      run(sluice, ["run", path.join(repo, "bench/nexmark", query + ".ts"), "--param",
        "events=" + events, "--param", "sink=stdout"], { ...big, env: { ...process.env, SLUICE_LOG: "warn" } }),
      run(process.execPath, [path.join(here, query + ".mjs"), String(events), "--print"], big),
    ]);
    const expected = lines(ours.stdout, query);
    const actual = lines(theirs.stdout, query);
    assert.ok(expected.length > 0, query + ": Sluice printed no records");
    assert.equal(actual.length, expected.length, query + ": record counts differ");
    for (let i = 0; i < expected.length; i++) {
      assert.equal(actual[i], expected[i], query + ": record " + i + " of the sorted outputs");
    }
  });
}
