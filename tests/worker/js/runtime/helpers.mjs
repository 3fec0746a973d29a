// Shared by the runtime suites: loading a runtime file as the isolate does, and a state table
// that keeps JSON copies (every get returns a fresh copy, so an operator that changes a value
// without putting it back is caught).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath } from "node:url";

const runtimeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)),
                                "../../../../worker/js/runtime");

// The completion value of worker/js/runtime/<name>.
export const load = (name) => vm.runInThisContext(fs.readFileSync(path.join(runtimeDir, name), "utf8"),
                                                  { filename: name });

// timers.js's TimerService with its checkpoint part, timer_changes.js, as the chain's driver
// makes it (new rt.timers.TimerService(rt.timer_changes)).
const timerChanges = load("timer_changes.js");
export class TimerService extends load("timers.js").TimerService {
  constructor() {
    super(timerChanges);
  }
}

export function copyingTable() {
  const entries = new Map();
  return {
    entries,
    get(keyGroup, keyString) {
      const text = entries.get(keyGroup + "/" + keyString);
      return text === undefined ? undefined : JSON.parse(text);
    },
    put(keyGroup, keyString, value) {
      assert.notEqual(value, undefined, "put of undefined");
      entries.set(keyGroup + "/" + keyString, JSON.stringify(value));
    },
    delete(keyGroup, keyString) {
      entries.delete(keyGroup + "/" + keyString);
    },
  };
}
