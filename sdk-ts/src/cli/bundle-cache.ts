/**
 * The job compiler's bundle cache: esbuild's bundle of a job file, kept on disk and reused while
 * everything that could change it is unchanged, so a repeated `sluice run job.ts` neither loads
 * esbuild nor starts its service process. Only the bundle is cached: the job file is still
 * imported (run) at every compile, so what it reads from the environment, its params, the time
 * or the network is read afresh.
 *
 * Where: `$SLUICE_CACHE_DIR`, else `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`, in
 * `bundles/`, at most 512 entries (a write past that removes the least recently used, down to
 * 384); `SLUICE_CACHE=off` turns the cache off. Nothing here ever fails a compile: a cache
 * that cannot be read or written is a miss.
 *
 * An entry is valid while all of these are unchanged (else the file is bundled again):
 * - the key: the entry file's absolute path, the working directory (the bundle's comments name
 *   paths relative to it), this SDK's path, Node's version (its built-in modules stay external),
 *   esbuild's package.json and `ESBUILD_BINARY_PATH`, and the compiler's own code;
 * - the content of every file esbuild read (the job file, every module it bundled);
 * - everything resolution looked at: for each bundled file, the `package.json`, `tsconfig.json`,
 *   `jsconfig.json` and Yarn PnP files in its folder and every folder above (present, absent,
 *   content); for each relative import, the names in the folder it points into and in the
 *   folder of what it resolved to; for each package import, which `node_modules/<package>`
 *   folders exist from the importer up to the first one found, and that package's
 *   `package.json`.
 * Bundles whose resolution could look elsewhere are not cached at all: a tsconfig with
 * `extends`, `paths` or `baseUrl`; a `#` import; an `import()` or `require()` whose argument
 * is not one string literal (esbuild may bundle every file a pattern matches); an input from a
 * plugin namespace. A file changed during the bundling is caught too: no entry is written when
 * any file or folder checked was modified in the 20 ms before bundling started or after.
 *
 * An entry also keeps what the SDK's function analysis made of each function text of the bundle
 * (FunctionMemoStore), so a repeated compile neither loads the parser nor runs it. The functions
 * are still made, and the spec built, by the job file at every compile; only the analysis of a
 * text already seen is looked up, and only for the same content of the analysing code.
 */
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { FunctionMemo, MemoResult } from "../brand.js";

const FORMAT = 1;
/** Files esbuild reads in every folder above a module when it resolves or compiles it. */
const FOLDER_FILES = ["package.json", "tsconfig.json", "jsconfig.json", ".pnp.cjs", ".pnp.js", ".pnp.data.json"];
/** Timestamps are coarse (a clock tick): changes this close before the build count as during it. */
const RACY_MS = 20;
/** A call whose argument is anything but one string literal: esbuild may expand it to files. */
const DYNAMIC_CALL = /\b(?:import|require)\s*\(\s*(?!(?:"[^"\\\n]*"|'[^'\\\n]*')\s*\))/;
const LOOKUP_CONFIG = /"(?:extends|paths|baseUrl)"\s*:/;
/** Past this many entries a write removes the least recently used, down to KEEP_ENTRIES. */
export const MAX_ENTRIES = 512;
const KEEP_ENTRIES = 384;
/** The most function records an entry keeps for one fingerprint (FunctionMemoStore.toKeep). */
export const MAX_FUNCTION_RECORDS = 256;

/** esbuild's metafile, the parts read here. */
export interface Metafile {
  inputs: Record<string, { imports: Array<{ path: string; kind: string; external?: boolean; original?: string }> }>;
}

/** Where `@sluice/sdk` was imported from, and whether it resolved there (else to this SDK). */
export interface SdkImport {
  readonly dir: string;
  readonly found: boolean;
}

/** One check of an entry: a file's content ("f"), a folder's names ("l"), what a path is ("s"). */
export type Check = [kind: "f" | "l" | "s", path: string, value: string];

/**
 * What the SDK's prepareFunction made of each function text of the bundle at earlier compiles:
 * by the fingerprint of the code that made it (FunctionMemoStore), then by the text.
 */
export type FunctionRecords = Record<string, Record<string, MemoResult>>;

interface Entry {
  format: number;
  key: string;
  checks: Check[];
  code: string;
  functions?: FunctionRecords;
}

/** A valid entry, as read. */
export interface CachedBundle {
  readonly code: string;
  readonly checks: Check[];
  readonly functions: FunctionRecords | undefined;
}

/** An open cache slot for one job file. */
export interface BundleSlot {
  readonly file: string;
  readonly key: string;
}

/** The cache folder, or undefined when `SLUICE_CACHE=off` (or `0`, `false`, `no`). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const switched = (env.SLUICE_CACHE ?? "").toLowerCase();
  if (["off", "0", "false", "no"].includes(switched)) return undefined;
  if (env.SLUICE_CACHE_DIR) return resolve(env.SLUICE_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), ".cache"), "sluice");
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The slot of this job file, or undefined when the cache is off. `compilerFiles`: the files
 * of the compiler whose code decides the bundle (their content is part of the key).
 */
export function openSlot(jobFile: string, ownSdk: string, esbuildPackageJson: string, compilerFiles: string[]): BundleSlot | undefined {
  const dir = cacheDir();
  if (dir === undefined) return undefined;
  try {
    const key = JSON.stringify({
      format: FORMAT,
      job: resolve(jobFile),
      cwd: process.cwd(),
      sdk: ownSdk,
      node: process.version,
      esbuild: sha256(readFileSync(esbuildPackageJson)),
      esbuildBinary: process.env.ESBUILD_BINARY_PATH ?? "",
      compiler: compilerFiles.map((f) => sha256(readFileSync(f))),
    });
    return { file: join(dir, "bundles", `${sha256(key)}.json`), key };
  } catch {
    return undefined;
  }
}

function contentOf(path: string): string {
  try {
    return sha256(readFileSync(path));
  } catch {
    return "-";
  }
}

function namesIn(path: string): string {
  try {
    return sha256(readdirSync(path).sort().join("\0"));
  } catch {
    return "-";
  }
}

/** What is at a path: nothing, or its type and identity (a symlink's target as well). */
function whatIs(path: string): string {
  try {
    const l = lstatSync(path, { bigint: true });
    const self = `${l.isDirectory() ? "d" : l.isSymbolicLink() ? "l" : "f"}:${l.dev}:${l.ino}`;
    if (!l.isSymbolicLink()) return self;
    try {
      const s = statSync(path, { bigint: true });
      return `${self}>${s.isDirectory() ? "d" : "f"}:${s.dev}:${s.ino}`;
    } catch {
      return `${self}>-`;
    }
  } catch {
    return "-";
  }
}

function measure(check: Check): string {
  const [kind, path] = check;
  return kind === "f" ? contentOf(path) : kind === "l" ? namesIn(path) : whatIs(path);
}

/** The bundle kept for this slot when every check still holds, else undefined. */
export function readBundle(slot: BundleSlot): string | undefined {
  return readEntry(slot)?.code;
}

/** The entry kept for this slot when every check still holds, else undefined. */
export function readEntry(slot: BundleSlot): CachedBundle | undefined {
  let entry: Entry;
  try {
    entry = JSON.parse(readFileSync(slot.file, "utf8")) as Entry;
  } catch {
    return undefined;
  }
  if (entry.format !== FORMAT || entry.key !== slot.key || typeof entry.code !== "string") return undefined;
  for (const check of entry.checks) {
    if (measure(check) !== check[2]) return undefined;
  }
  try {
    const now = new Date();
    utimesSync(slot.file, now, now); // used now: the last an eviction removes
  } catch {
    // a read-only cache still serves
  }
  const functions = typeof entry.functions === "object" && entry.functions !== null ? entry.functions : undefined;
  return { code: entry.code, checks: entry.checks, functions };
}

function foldersUp(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    out.push(d);
    if (dirname(d) === d) return out;
  }
}

function packageName(spec: string): { name: string; sub: string } {
  const parts = spec.split("/");
  const n = spec.startsWith("@") ? 2 : 1;
  return { name: parts.slice(0, n).join("/"), sub: parts.slice(n).join("/") };
}

/** Collects the checks of a bundle; throws "uncacheable" for a bundle that must not be kept. */
class Collector {
  readonly checks = new Map<string, Check>();

  add(kind: Check[0], path: string): void {
    const id = `${kind}\0${path}`;
    if (!this.checks.has(id)) this.checks.set(id, [kind, path, ""]);
  }

  folderFiles(dir: string): void {
    for (const d of foldersUp(dir)) {
      for (const name of FOLDER_FILES) {
        const file = join(d, name);
        this.add("f", file);
        if (name.endsWith("config.json") && LOOKUP_CONFIG.test(readOr(file))) throw new Error("uncacheable");
      }
    }
  }

  /**
   * A package import from `fromDir`: node_modules/<name> up to the first that exists; whether
   * one does.
   */
  packageImport(spec: string, fromDir: string): boolean {
    const { name, sub } = packageName(spec);
    for (const d of foldersUp(fromDir)) {
      const folder = join(d, "node_modules", name);
      this.add("s", folder);
      if (whatIs(folder) === "-") continue;
      this.add("f", join(folder, "package.json"));
      if (sub !== "") this.add("l", dirname(join(folder, sub)));
      return true;
    }
    return false;
  }
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function isBuiltin(path: string, builtins: ReadonlySet<string>): boolean {
  return path.startsWith("node:") || builtins.has(path) || builtins.has(path.split("/")[0]!);
}

/**
 * The checks of a fresh bundle, or undefined when it must not be cached. `sdkImports`: where
 * `@sluice/sdk` was resolved from (it is external, so the metafile does not say).
 */
export function checksOf(
  metafile: Metafile,
  sdkImports: readonly SdkImport[],
  builtins: ReadonlySet<string>,
  startedMs: number,
): Check[] | undefined {
  const cwd = process.cwd();
  const c = new Collector();
  try {
    for (const { dir, found } of sdkImports) {
      // Not found although a folder exists: a broken install, which a new file could mend.
      if (c.packageImport("@sluice/sdk", dir) !== found) return undefined;
    }
    for (const [input, info] of Object.entries(metafile.inputs)) {
      if (/^[a-z][\w-]*:/i.test(input)) return undefined; // a plugin namespace
      const file = resolve(cwd, input);
      const text = readOr(file);
      if (DYNAMIC_CALL.test(text)) return undefined;
      c.add("f", file);
      c.folderFiles(dirname(file));
      for (const imp of info.imports) {
        if (imp.external === true) {
          if (isBuiltin(imp.path, builtins) || imp.path.startsWith("file:")) continue;
          return undefined;
        }
        const spec = imp.original;
        if (spec === undefined || spec.startsWith("#")) return undefined;
        const target = resolve(cwd, imp.path);
        c.add("l", dirname(target));
        if (spec.startsWith(".") || isAbsolute(spec)) {
          const pointed = resolve(dirname(file), spec);
          c.add("l", dirname(pointed));
          c.add("l", pointed);
        } else {
          c.packageImport(spec, dirname(file));
        }
      }
    }
  } catch {
    return undefined;
  }
  const checks = [...c.checks.values()];
  for (const check of checks) {
    check[2] = measure(check);
    if (check[0] !== "s" && changedSince(check[1], startedMs - RACY_MS)) return undefined;
  }
  return checks;
}

function changedSince(path: string, ms: number): boolean {
  try {
    const s = lstatSync(path);
    return s.ctimeMs >= ms || s.mtimeMs >= ms;
  } catch {
    return false;
  }
}

/** Keeps a bundle for the slot (atomically: a reader sees the old entry or the new one). */
export function writeBundle(slot: BundleSlot, code: string, checks: Check[], functions?: FunctionRecords): void {
  const entry: Entry = { format: FORMAT, key: slot.key, checks, code, ...(functions !== undefined ? { functions } : {}) };
  const tmp = `${slot.file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(slot.file), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(tmp, slot.file);
    evict(dirname(slot.file));
  } catch {
    rmSync(tmp, { force: true });
  }
}

/** Bounds the folder: past MAX_ENTRIES, the least recently used (mtime) go, to KEEP_ENTRIES. */
function evict(dir: string): void {
  const names = readdirSync(dir).filter((n) => n.endsWith(".json"));
  if (names.length <= MAX_ENTRIES) return;
  const used = names.map((n) => {
    try {
      return { n, ms: statSync(join(dir, n)).mtimeMs };
    } catch {
      return { n, ms: 0 };
    }
  });
  used.sort((a, b) => a.ms - b.ms);
  for (const { n } of used.slice(0, used.length - KEEP_ENTRIES)) rmSync(join(dir, n), { force: true });
}

function isMemoResult(value: unknown): value is MemoResult {
  const r = value as MemoResult;
  return (
    typeof r === "object" && r !== null && typeof r.source === "string" &&
    Array.isArray(r.problems) && r.problems.every((p) => typeof p === "string")
  );
}

/**
 * The memo a compile hands the SDK (brand.ts FUNCTION_MEMO): the records of the entry it
 * read, and the ones its job's functions add. A record counts only for the exact code that
 * made it: the SDK names its files, and their content (sha256) is the record's fingerprint.
 * Files that cannot be read, or that changed in the RACY_MS before the compile started or
 * since, give no fingerprint: nothing is looked up or recorded for them.
 */
export class FunctionMemoStore implements FunctionMemo {
  private readonly fingerprints = new Map<string, string>();
  /** The records this compile looked up or made, by fingerprint (null-prototype objects). */
  private readonly used: FunctionRecords = {};
  private changed = false;

  constructor(
    private readonly earlier: FunctionRecords | undefined,
    private readonly startedMs: number,
  ) {}

  private fingerprint(code: readonly string[]): string {
    const id = code.join("\0");
    let fp = this.fingerprints.get(id);
    if (fp === undefined) {
      const contents = code.map(contentOf);
      const unsure = contents.includes("-") || code.some((f) => changedSince(f, this.startedMs - RACY_MS));
      fp = unsure ? "" : sha256(JSON.stringify(contents));
      this.fingerprints.set(id, fp);
    }
    return fp;
  }

  private use(fp: string, text: string, result: MemoResult): void {
    // Null-prototype records: a text is a key like any other.
    (this.used[fp] ??= Object.create(null) as Record<string, MemoResult>)[text] = result;
  }

  get(code: readonly string[], text: string): MemoResult | undefined {
    const fp = this.fingerprint(code);
    if (fp === "") return undefined;
    const records = this.earlier?.[fp];
    if (typeof records !== "object" || records === null || !Object.hasOwn(records, text)) {
      return this.used[fp]?.[text];
    }
    const found = records[text];
    if (!isMemoResult(found)) return undefined;
    this.use(fp, text, found);
    return found;
  }

  set(code: readonly string[], text: string, result: MemoResult): void {
    const fp = this.fingerprint(code);
    if (fp === "") return;
    this.use(fp, text, { source: result.source, problems: [...result.problems] });
    this.changed = true;
  }

  /**
   * The records to keep when this compile made some (else undefined: the entry stays as it
   * is): for each fingerprint seen now, the entry's records and this compile's, or this
   * compile's alone past MAX_FUNCTION_RECORDS (a job file that makes new texts at every run
   * does not grow its entry without bound).
   */
  toKeep(): FunctionRecords | undefined {
    if (!this.changed) return undefined;
    const out: FunctionRecords = {};
    for (const fp of new Set(this.fingerprints.values())) {
      const now = this.used[fp];
      if (fp === "" || now === undefined) continue;
      const old = this.earlier?.[fp];
      const both = { ...(typeof old === "object" && old !== null ? old : {}), ...now };
      out[fp] = Object.keys(both).length <= MAX_FUNCTION_RECORDS ? both : { ...now };
    }
    return out;
  }
}
