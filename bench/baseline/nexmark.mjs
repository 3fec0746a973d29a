// The Nexmark generator of the runtime (worker/js/runtime/nexmark.js), loaded as the worker
// loads it, and the arguments every baseline takes: `node qN.mjs [events] [--print]`.
// Without --print a baseline prints one line, "<query>: <events> events, <n> out"; with it,
// every output record as a JSON line (for the test that compares them with Sluice's).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const source = fileURLToPath(new URL("../../worker/js/runtime/nexmark.js", import.meta.url));
export const nexmark = vm.runInThisContext(readFileSync(source, "utf8"), { filename: source });

export function args(query) {
  const argv = process.argv.slice(2);
  const print = argv.includes("--print");
  const rest = argv.filter((a) => a !== "--print");
  const events = rest.length > 0 ? Number(rest[0]) : 20_000_000;
  if (!Number.isSafeInteger(events) || events < 0) {
    console.error(query + ": events must be a whole number, not " + JSON.stringify(rest[0]));
    process.exit(2);
  }
  let out = 0;
  const lines = [];
  return {
    events,
    event: nexmark.make({}),
    emit: print
      ? (record) => {
          out++;
          lines.push(JSON.stringify(record));
          if (lines.length >= 4096) process.stdout.write(lines.splice(0).join("\n") + "\n");
        }
      : () => {
          out++;
        },
    done() {
      if (print) {
        if (lines.length > 0) process.stdout.write(lines.join("\n") + "\n");
      } else {
        console.log(query + ": " + events + " events, " + out + " out");
      }
    },
  };
}
