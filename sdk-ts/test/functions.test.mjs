// Function shipping: free-variable analysis with real JavaScript scoping, the allowlist of
// V8 globals, and functions that cannot be shipped at all.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { prepareFunction } from "../dist/functions.js";

/** The free variables reported for a function given as source text. */
function freeOf(source) {
  const fn = new Function(`return (${source});`)();
  return prepareFunction(fn)
    .problems.map((p) => /refers to '([^']+)'/.exec(p)?.[1] ?? /^'([^']+)'/.exec(p)?.[1] ?? p);
}

const cases = [
  ["a plain closure variable", "(x) => x + y", ["y"]],
  ["several, in order of first use, each once", "(x) => a + b + a + x", ["a", "b"]],
  ["destructured params with defaults and rest", "({ a, b = c, d: { e } }, [f, ...g], ...h) => a + b + e + f + g.length + h.length", ["c"]],
  ["a default that uses an earlier param", "(a, b = a * 2) => a + b", []],
  ["var is hoisted out of blocks", "function (x) { if (x) { var y = 1; } return y; }", []],
  ["let stays inside its block", "(x) => { { let y = 1; } return y; }", ["y"]],
  ["const with destructuring", "(r) => { const { a, b: [c] } = r; return a + c; }", []],
  ["function declarations are hoisted", "(x) => { return f(x); function f(v) { return v + 1; } }", []],
  ["sloppy-mode block function is visible after the block", "(x) => { if (x) { function g() { return 1; } } return g(); }", []],
  ["class declarations and this inside methods", "(x) => { class A { constructor() { this.v = x; } get() { return this.v; } } return new A().get(); }", []],
  ["class fields and static blocks see this", "(x) => { class A { static s = 1; f = this.constructor.s; static { let q = A.s; this.t = q; } } return new A().f; }", []],
  ["a computed class member key from outside", "(x) => { class A { [k]() { return 1; } } return A; }", ["k"]],
  ["a class expression's name is bound inside it", "(x) => new (class Node { self() { return Node; } })()", []],
  ["extends an outer class", "(x) => { class B extends Base {} return new B(); }", ["Base"]],
  ["catch param with destructuring", "(x) => { try { return JSON.parse(x); } catch ({ message }) { return message; } }", []],
  ["catch without a binding", "(x) => { try { return JSON.parse(x); } catch { return fallback; } }", ["fallback"]],
  ["catch param is not visible after the catch", "(x) => { try {} catch (e) {} return e; }", ["e"]],
  ["for-loop bindings", "(xs) => { let s = 0; for (let i = 0; i < xs.length; i++) s += xs[i]; for (const k in xs) s += k; for (const [a, b] of xs) s += a + b; for (var v of xs) s += v; return s + v; }", []],
  ["for-of without a declaration assigns an outer name", "(xs) => { for (item of xs) {} }", ["item"]],
  ["a for-let binding does not leak", "(xs) => { for (let i = 0; i < 1; i++) {} return i; }", ["i"]],
  ["nested functions and arrows", "(x) => [1, 2].map(function (v) { return ((w) => w * x + z)(v); })", ["z"]],
  ["a nested function's params do not leak", "(x) => { const f = (q) => q; return q; }", ["q"]],
  ["object keys and member names are not references", "(r) => ({ threshold: r.threshold, limit: r.params.limit, 'quoted': 1, 2: 2 })", []],
  ["computed keys and computed members are", "(r) => ({ [key]: r[field], [r.k]: 1 })", ["key", "field"]],
  ["shorthand properties are references", "(r) => ({ r, limit })", ["limit"]],
  ["object methods in a literal", "(r) => ({ m(a) { return a + r; }, get g() { return outerG; } })", ["outerG"]],
  ["labels are not references", "(xs) => { outer: for (const x of xs) { for (const y of xs) { if (y) continue outer; break outer; } } return 1; }", []],
  ["assigning to an outer variable", "(r) => { count = r; count += 1; total++; }", ["count", "total"]],
  ["destructuring assignment to outer names", "(r) => { let a; [a, b] = r; ({ c, d: e.f } = r); return a; }", ["b", "c", "e"]],
  ["a named function expression may call itself", "function fact(n) { return n <= 1 ? 1 : n * fact(n - 1); }", []],
  ["arguments inside a function is its own", "function (a) { return () => arguments[0] + a; }", []],
  ["arguments at the top of an arrow is the enclosing one", "(a) => arguments[0]", ["arguments"]],
  ["switch cases share one lexical scope", "(x) => { switch (x) { case 1: let y = 2; return y; default: y = 3; return z; } }", ["z"]],
  ["template literals and tagged templates", "(x) => tag`${x}-${y}`", ["tag", "y"]],
  ["optional chaining", "(r) => r?.a?.[idx]?.(arg)", ["idx", "arg"]],
  ["new.target is not a reference", "function () { return new.target; }", []],
  ["generator functions", "function* (xs) { for (const x of xs) yield fetchIt(x); }", ["fetchIt"]],
  ["a regex literal is not a reference", "(s) => /foo(bar)/g.test(s)", []],
  ["typeof of an undefined name is still a reference", "(x) => typeof helper === 'function'", ["helper"]],
  ["shadowing: a param shadows an outer name inside only", "(x) => { const f = (threshold) => threshold; return f(x) + threshold; }", ["threshold"]],
];

for (const [name, source, expected] of cases) {
  test(`free variables: ${name}`, () => {
    assert.deepEqual(freeOf(source), expected);
  });
}

test("standard V8 globals are allowed", () => {
  const fn = (x) =>
    Math.max(x, Number.MAX_SAFE_INTEGER) + JSON.stringify([new Map(), new Set(), new WeakMap(), new Date(0)]) +
    parseInt("1", 10) + parseFloat("1.5") + String(isNaN(x)) + String(isFinite(x)) + String(Infinity) +
    String(NaN) + String(undefined) + Symbol.iterator.toString() + String(BigInt(1)) + Object.keys({}).length +
    Array.from([1]).length + Boolean(1) + new RegExp("a").source + Reflect.ownKeys({}).length +
    new Error("e").message + new TypeError("t").message + new RangeError("r").message +
    encodeURIComponent("a b") + decodeURIComponent("a") + encodeURI("a") + decodeURI("a") +
    new Intl.NumberFormat("en").format(1) + new Uint8Array(2).length + new Float64Array(1).length +
    new DataView(new ArrayBuffer(1)).byteLength + typeof Promise + typeof Proxy + typeof globalThis;
  assert.deepEqual(prepareFunction(fn).problems, []);
});

test("host globals a bare V8 context lacks are refused, with a plain reason", () => {
  const problems = (fn) => prepareFunction(fn).problems;
  assert.deepEqual(problems((x) => console.log(x)), [
    "'console' is not available inside functions on workers (its output would not be shown)",
  ]);
  assert.match(problems((x) => process.env.X + x)[0], /'process' is a Node\.js global/);
  assert.match(problems((x) => require("fs"))[0], /cannot load modules \('require'\)/);
  assert.match(problems((x) => Buffer.from(x))[0], /'Buffer' is a Node\.js global/);
  assert.match(problems((x) => setTimeout(x, 1))[0], /timers/);
  assert.match(problems((x) => new TextEncoder().encode(x))[0], /refers to 'TextEncoder', which is defined outside it/);
  assert.match(problems((x) => structuredClone(x))[0], /refers to 'structuredClone'/);
  assert.match(problems((x) => window.x)[0], /refers to 'window'/);
});

test("shipped source of ordinary functions is their own text", () => {
  const arrow = (r, params) => r.price > params.threshold;
  assert.deepEqual(prepareFunction(arrow), { source: "(r, params) => r.price > params.threshold", problems: [] });
  function named(x) { return x; } // eslint-disable-line
  assert.equal(prepareFunction(named).source, "function named(x) { return x; }");
  const commented = new Function("return (x) => x // trailing comment")();
  assert.deepEqual(prepareFunction(commented).problems, []);
});

test("method shorthand becomes a function expression that keeps generator (async is refused)", () => {
  const o = {
    double(x) { return x * 2; },
    async later(x) { return x; },
    *each(xs) { yield* xs; },
    ["computed" + 1](x) { return x; },
    recurse(n) { return n > 0 ? recurse(n - 1) : 0; },
  };
  assert.equal(prepareFunction(o.double).source, "function (x) { return x * 2; }");
  assert.match(prepareFunction(o.later).problems[0], /an async function returns a Promise/);
  assert.equal(prepareFunction(o.each).source, "function* (xs) { yield* xs; }");
  assert.equal(prepareFunction(o.computed1).source, "function (x) { return x; }");
  // A method does not bind its own name, so `recurse` inside it is an outside reference.
  assert.match(prepareFunction(o.recurse).problems[0], /refers to 'recurse'/);
  class C { m(x) { return x + 1; } static s(x) { return x; } }
  assert.equal(prepareFunction(C.prototype.m).source, "function (x) { return x + 1; }");
  assert.equal(prepareFunction(C.s).source, "function (x) { return x; }");
});

test("functions that cannot be shipped are refused", () => {
  const only = (fn) => {
    const { source, problems } = prepareFunction(fn);
    assert.equal(source, "");
    assert.equal(problems.length, 1);
    return problems[0];
  };
  assert.match(only(((x) => x).bind(null)), /native or bound/);
  assert.match(only(Math.max), /native or bound/);
  assert.match(only(class A {}), /a class cannot be shipped/);
  assert.match(only(Object.getOwnPropertyDescriptor({ get v() { return 1; } }, "v").get), /a getter cannot be shipped/);
  assert.match(only(Object.getOwnPropertyDescriptor({ set v(x) {} }, "v").set), /a setter cannot be shipped/);
  assert.match(only(42), /expected a function, got number 42/);
  assert.match(only(function (x) { return this.y + x; }), /uses 'this'/);
  assert.match(only((x) => import("fs")), /uses import\(\)/);
  const withSuper = { m() { return super.toString(); } };
  assert.match(only(withSuper.m), /does it use 'super'/);
});

test("this inside a nested regular function is that function's own", () => {
  assert.deepEqual(prepareFunction((x) => { function F() { this.x = x; } return new F(); }).problems, []);
  assert.match(prepareFunction((x) => this)?.problems[0] ?? "", /uses 'this'/);
});

test("async functions and methods are refused: their Promise would be written as {}", () => {
  for (const fn of [async (x) => ({ d: x * 2 }), async function (x) { return x; }, { async m(x) { return x; } }.m]) {
    const prepared = prepareFunction(fn);
    assert.equal(prepared.source, "");
    assert.match(prepared.problems.join("\n"), /an async function returns a Promise, and Sluice calls functions synchronously/);
  }
  assert.deepEqual(prepareFunction(function* (x) { yield x; }).problems, []);
});

test("without process.getBuiltinModule (Node before 20.16, a browser bundle) acorn is imported up front and works the same", () => {
  const functions = new URL("../dist/functions.js", import.meta.url).href;
  const script = `delete process.getBuiltinModule;
    const { prepareFunction } = await import(${JSON.stringify(functions)});
    console.log(JSON.stringify([prepareFunction((x) => x * 2), prepareFunction(function () { return y; })]));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.stderr, "");
  assert.deepEqual(JSON.parse(r.stdout), [prepareFunction((x) => x * 2), prepareFunction(function () { return y; })]);
});
