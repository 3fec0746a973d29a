// bench/alternate.sh: two commands timed as whole processes, alternately (a second or less).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../bench/alternate.sh', import.meta.url));
const run = (...args) => spawnSync(script, args, { encoding: 'utf8' });
const spread = String.raw`(n/a|\d+\.\d+ \(\d+\.\d+-\d+\.\d+\))`;

test('prints A, B and the pairwise ratios as median (min-max)', () => {
  const r = run('-n', '2', '-w', '0', '--', 'sleep', '0', '--', 'true');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^A: sleep 0$/m);
  assert.match(r.stdout, /^B: true$/m);
  assert.match(r.stdout, /^\| \| CPU s \| wall s \| peak RSS MiB \|$/m);
  assert.match(r.stdout, new RegExp(String.raw`^\| A \| ${spread} \| ${spread} \| ${spread} \|$`, 'm'));
  assert.match(r.stdout, new RegExp(String.raw`^\| B \| ${spread} \| ${spread} \| ${spread} \|$`, 'm'));
  assert.match(r.stdout, new RegExp(String.raw`^\| A / B \| ${spread} \| ${spread} \| \|$`, 'm'));
  assert.equal(r.stderr.match(/^alternate: pair \d/gm).length, 2);
});

test('the wall ratio is A over B, pair by pair', () => {
  const r = run('-n', '2', '-w', '0', '--', 'sleep', '0.2', '--', 'sleep', '0.05');
  assert.equal(r.status, 0, r.stderr);
  const wall = r.stdout.match(/^\| A \/ B \| [^|]+ \| (\d+\.\d+) \(/m);
  assert.ok(wall, r.stdout);
  assert.ok(Number(wall[1]) > 1.5, r.stdout);
});

test('a failing run exits non-zero, naming the command and its exit code', () => {
  const r = run('-n', '2', '-w', '0', '--', 'false', '--', 'true');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /command A failed with exit code 1 \(pair 1\): false/);
  const b = run('-w', '1', '--', 'true', '--', 'sh', '-c', 'exit 3');
  assert.notEqual(b.status, 0);
  assert.match(b.stderr, /command B failed with exit code 3 \(warm-up run 1\)/);
});

test('without two commands it prints its usage', () => {
  const r = run('-n', '2', '--', 'true');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^usage: bench\/alternate\.sh/);
});
