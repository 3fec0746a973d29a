/**
 * The global names a user function may use: what a bare V8 10.2 context provides (the
 * ECMAScript 2022 built-ins plus V8's `WebAssembly`), nothing from Node or the browser.
 *
 * Deliberately absent: `console` (the workers' contexts do not show its output), `eval`
 * (defeats the free-variable check), `require`, `process`, `Buffer`, timers, `fetch`,
 * `TextEncoder`/`TextDecoder`, `structuredClone` and other host APIs that V8 does not have.
 */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  // Value properties and functions of the global object.
  "globalThis", "Infinity", "NaN", "undefined",
  "isFinite", "isNaN", "parseFloat", "parseInt",
  "decodeURI", "decodeURIComponent", "encodeURI", "encodeURIComponent", "escape", "unescape",
  // Fundamental objects and errors.
  "Object", "Function", "Boolean", "Symbol",
  "Error", "AggregateError", "EvalError", "RangeError", "ReferenceError", "SyntaxError",
  "TypeError", "URIError",
  // Numbers, dates, text.
  "Number", "BigInt", "Math", "Date", "String", "RegExp",
  // Collections and binary data.
  "Array", "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry",
  "ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics",
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
  "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
  // Structured data, control abstraction, reflection, internationalisation.
  "JSON", "Promise", "Reflect", "Proxy", "Intl", "WebAssembly",
]);

/** Why a well-known host global is refused, when a plainer message helps. */
export const REFUSED_GLOBAL_REASONS: ReadonlyMap<string, string> = new Map([
  ["console", "'console' is not available inside functions on workers (its output would not be shown)"],
  ["require", "functions cannot load modules ('require'); compute what you need in the function or pass it through params"],
  ["process", "'process' is a Node.js global that does not exist on workers"],
  ["Buffer", "'Buffer' is a Node.js global that does not exist on workers"],
  ["setTimeout", "timers ('setTimeout') do not exist on workers"],
  ["setInterval", "timers ('setInterval') do not exist on workers"],
  ["fetch", "'fetch' does not exist on workers; functions cannot do network I/O"],
  ["eval", "'eval' is not allowed in shipped functions"],
]);
