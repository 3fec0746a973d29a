// bench/run-scaling.sh: events per CPU-second at p=2 over p=1, whole runs and steady state, with
// the real binary over small event counts (a few seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../bench/run-scaling.sh', import.meta.url));
const run = (env) => spawnSync(script, [], { encoding: 'utf8', env: { ...process.env, ...env } });
const spread = String.raw`(n/a|\d+\.\d+ \(\d+\.\d+-\d+\.\d+\))`;
const cpu = String.raw`\d+\.\d+ / \d+\.\d+`;

test('prints a row per query: CPU, whole-run, steady and fixed figures', () => {
  const r = run({ SCALING_EVENTS: '1000 200000', SCALING_ROUNDS: '2', NEXMARK_QUERIES: 'q0' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\| query \| CPU s p=1 \/ p=2, 1000 events \| CPU s p=1 \/ p=2, 200000 events \|/m);
  assert.match(r.stdout, new RegExp(String.raw`^\| q0 \| ${cpu} \| ${cpu} \| ${spread} \| ${spread} \| ${spread} \| (n/a|-?\d+\.\d+) / (n/a|-?\d+\.\d+) \|$`, 'm'));
  // Two rounds of four runs each, every one reported.
  assert.equal(r.stderr.match(/^run-scaling: q0 round \d: CPU s p=1\/p=2 /gm).length, 2);
});

test('names what is wrong with its input', () => {
  let r = run({ SCALING_EVENTS: '5000 1000' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /SHORT \(5000\) must be less than LONG \(1000\)/);
  r = run({ SCALING_EVENTS: '5000' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /SCALING_EVENTS must be two positive integers, SHORT LONG, not "5000"/);
  r = run({ NEXMARK_QUERIES: 'q99' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no job file .*bench\/nexmark\/q99\.ts/);
  r = run({ SLUICE_BIN: '/nonexistent/sluice' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no sluice binary at \/nonexistent\/sluice/);
});

test('a failing run exits non-zero, naming the query, parallelism and events', () => {
  const r = run({ SCALING_EVENTS: '1 2', SCALING_ROUNDS: '1', NEXMARK_QUERIES: 'q0', SLUICE_BIN: '/bin/false' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /run-scaling: q0 at parallelism 2 over 1 events failed/);
});
