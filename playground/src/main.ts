// The playground page: an editor, the in-page compiler, and a live view of a job on the
// coordinator (graph, status, checkpoints, output, jobs list).
import { EditorView, basicSetup } from "codemirror";
import { javascript } from "@codemirror/lang-javascript";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import examples from "virtual:examples";
import { api, ApiError, setToken, streamEvents, type ApiProblem } from "./api.ts";
import { compile, initCompiler, type Compiled, type Problem } from "./compile.ts";
import { drawPlan, watermarkText, type GroupRates, type Plan } from "./graph.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const examplesList = examples as Array<{ name: string; source: string }>;

let lastCompiled: Compiled | null = null;
let compileTimer = 0;
let compileSeq = 0;

function showProblems(list: Problem[]): void {
  const ul = $("problems");
  ul.replaceChildren(...list.map((p) => {
    const li = document.createElement("li");
    li.textContent = p.line !== null ? `line ${p.line}: ${p.message}` : p.message;
    li.dataset.line = String(p.line ?? "");
    return li;
  }));
  const doc = editor.state.doc;
  const diagnostics: Diagnostic[] = list.flatMap((p) => {
    if (p.line === null || p.line < 1 || p.line > doc.lines) return [];
    const line = doc.line(p.line);
    return [{ from: line.from, to: line.to, severity: "error" as const, message: p.message }];
  });
  editor.dispatch(setDiagnostics(editor.state, diagnostics));
}

const editor = new EditorView({
  parent: $("editor"),
  extensions: [basicSetup, javascript({ typescript: true }), lintGutter(), EditorView.lineWrapping,
    EditorView.updateListener.of((u) => { if (u.docChanged) scheduleCompile(); })],
});

function overrides(): { parallelism?: number; params?: Record<string, unknown> } | string {
  const p = $<HTMLInputElement>("parallelism").value.trim();
  const text = $<HTMLInputElement>("params").value.trim();
  const out: { parallelism?: number; params?: Record<string, unknown> } = {};
  if (p !== "") {
    if (!/^\d+$/.test(p) || Number(p) < 1) return "parallelism must be a whole number >= 1";
    out.parallelism = Number(p);
  }
  if (text !== "") {
    try {
      const v = JSON.parse(text);
      if (typeof v !== "object" || v === null || Array.isArray(v)) return "params must be a JSON object";
      out.params = v;
    } catch (e) { return `params are not JSON: ${(e as Error).message}`; }
  }
  return out;
}

async function recompile(): Promise<Compiled | null> {
  const seq = ++compileSeq;
  const o = overrides();
  if (typeof o === "string") { showProblems([{ line: null, message: o }]); return null; }
  $("compile-state").textContent = "compiling…";
  const result = await compile(editor.state.doc.toString(), o);
  if (seq !== compileSeq) return null;
  lastCompiled = result;
  showProblems(result.problems);
  $("compile-state").textContent = result.spec ? `compiled: ${result.spec.operators.length} operators` : "has problems";
  ($("run") as HTMLButtonElement).disabled = result.spec === null;
  return result;
}

function scheduleCompile(): void {
  clearTimeout(compileTimer);
  compileTimer = window.setTimeout(() => void recompile(), 250);
}

function loadExample(name: string): void {
  const ex = examplesList.find((e) => e.name === name);
  if (!ex) return;
  editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: ex.source } });
}

// --- The job view -------------------------------------------------------------------------

interface JobStatus {
  id: string; name: string; state: string; reason: string; restarts: number; lastRestartReason: string;
  checkpoints: { completed: number; failed: number; latest: { id: number; durationMs: number; path: string } | null };
  tasks: Array<{ id: string; operators: string; subtask: number; worker: string; state: string; failure: string }>;
}
interface Metrics { tasks: Array<{ id: string; operators: string; subtask: number; state: string; recordsIn: number; recordsOut: number; inPerSecond: number; outPerSecond: number; watermark: number | "end" | null; backpressure: number }>; groups: Array<GroupRates & { operators: string }> }

let current: { id: string; abort: AbortController; plan: Plan | null; rates: Map<string, GroupRates>; metrics: Metrics | null; selected: string | null; lines: Record<string, number>; functionLines: Compiled["functionLines"] } | null = null;
let paused = false;
let outputRows = 0;
let dropped = 0;
const MAX_ROWS = 200;

function renderStatus(s: JobStatus): void {
  const state = $("job-state");
  state.textContent = s.state;
  state.className = `state ${s.state}`;
  const live = !["finished", "failed", "canceled"].includes(s.state);
  ($("cancel") as HTMLButtonElement).disabled = !live;
  ($("savepoint") as HTMLButtonElement).disabled = s.state !== "running";
  const cp = s.checkpoints;
  const lines = [
    `restarts: ${s.restarts}${s.lastRestartReason ? ` (last: ${s.lastRestartReason})` : ""}`,
    `checkpoints: ${cp.completed} completed, ${cp.failed} failed${cp.latest ? `; latest #${cp.latest.id} in ${cp.latest.durationMs} ms` : ""}`,
  ];
  if (s.reason) lines.push(`reason: ${s.reason}`);
  $("job-info").textContent = lines.join("\n");
  // A failure naming an operator points at its line in the editor, when the page compiled it:
  // at the line inside the operator's function when the worker said which ("line k of the
  // function"), else at the operator.
  if (s.state === "failed" && current) {
    const op = /\((op\d+)\)/.exec(s.reason)?.[1];
    const k = Number(/\(line (\d+)(?:, column \d+)? of the function\)/.exec(s.reason)?.[1] ?? 0);
    const inFunction = op && k > 0 ? (current.functionLines[op] ?? []).map((lines) => lines[k - 1]).find((l) => l != null) : undefined;
    const line = inFunction ?? (op ? current.lines[op] : undefined);
    if (line !== undefined && line !== null) showProblems([{ line, message: `the job failed: ${s.reason}` }]);
  }
}

function renderSubtasks(): void {
  const box = $("subtasks");
  if (!current?.selected || !current.metrics) { box.replaceChildren(); return; }
  const rows = current.metrics.tasks.filter((t) => t.operators === current!.selected);
  const table = document.createElement("table");
  table.innerHTML = "<thead><tr><th>subtask</th><th>state</th><th>in</th><th>out</th><th>in/s</th><th>out/s</th><th>watermark</th><th>back-pressure</th></tr></thead>";
  const body = document.createElement("tbody");
  for (const t of rows) {
    const tr = document.createElement("tr");
    for (const v of [t.subtask, t.state, t.recordsIn, t.recordsOut, t.inPerSecond.toFixed(0), t.outPerSecond.toFixed(0),
      watermarkText(t.watermark), `${(t.backpressure * 100).toFixed(0)}%`]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  table.appendChild(body);
  box.replaceChildren(Object.assign(document.createElement("div"), { textContent: `subtasks of ${current.selected}` }), table);
}

function redrawGraph(): void {
  if (!current?.plan) return;
  drawPlan($("graph") as unknown as SVGSVGElement, current.plan, current.rates, (name) => {
    if (current) { current.selected = name; renderSubtasks(); }
  });
}

function addOutput(records: unknown[], droppedNow: number): void {
  dropped += droppedNow;
  $("output-dropped").textContent = String(dropped);
  if (paused) return;
  const body = ($("output") as HTMLTableElement).tBodies[0]!;
  for (const r of records) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.textContent = typeof r === "string" ? r : JSON.stringify(r);
    tr.appendChild(td);
    body.insertBefore(tr, body.firstChild);  // newest first
    outputRows++;
  }
  while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
  $("output-count").textContent = `${outputRows} rows`;
}

async function openJob(id: string, lines: Record<string, number> = {}, functionLines: Compiled["functionLines"] = {}): Promise<void> {
  current?.abort.abort();
  const abort = new AbortController();
  current = { id, abort, plan: null, rates: new Map(), metrics: null, selected: null, lines, functionLines };
  outputRows = 0;
  dropped = 0;
  ($("output") as HTMLTableElement).tBodies[0]!.replaceChildren();
  $("output-count").textContent = "0 rows";
  $("output-dropped").textContent = "0";
  $("job-title").textContent = `Job ${id}`;
  try {
    current.plan = await api<Plan>("GET", `/api/v1/jobs/${id}/plan`);
    redrawGraph();
  } catch (e) { $("job-info").textContent = (e as Error).message; }
  const mine = current;
  void streamEvents(id, (e) => {
    if (current !== mine) return;
    if (e.event === "status") renderStatus(e.data as JobStatus);
    else if (e.event === "metrics") {
      mine.metrics = e.data as Metrics;
      mine.rates = new Map(mine.metrics.groups.map((g) => [g.operators, g]));
      redrawGraph();
      renderSubtasks();
    } else if (e.event === "output") {
      const d = e.data as { records: unknown[]; dropped: number };
      addOutput(d.records, d.dropped);
    }
  }, abort.signal).catch((e) => { $("job-info").textContent = (e as Error).message; });
}

async function refreshJobs(): Promise<void> {
  try {
    const { jobs } = await api<{ jobs: Array<{ id: string; name: string; state: string; durationMs: number }> }>("GET", "/api/v1/jobs");
    const body = ($("jobs") as HTMLTableElement).tBodies[0]!;
    body.replaceChildren(...jobs.slice().reverse().map((j) => {
      const tr = document.createElement("tr");
      tr.dataset.job = j.id;
      for (const v of [j.id, j.name, j.state, `${(j.durationMs / 1000).toFixed(1)} s`]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      }
      tr.addEventListener("click", () => void openJob(j.id));
      return tr;
    }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) $("token-box").hidden = false;
  }
}

// Coordinator problems name operators; the compiled job knows their lines.
function mapServerProblems(list: ApiProblem[], compiled: Compiled): Problem[] {
  return list.map((p) => ({
    line: compiled.operatorLines[p.operatorId] ?? null,
    message: p.operatorId && !p.message.includes(`(${p.operatorId})`)
      ? `operator '${p.operatorName}' (${p.operatorId}): ${p.message}` : p.message,
    operatorId: p.operatorId,
  }));
}

async function run(): Promise<void> {
  // A compile scheduled by the last keystroke would supersede this one (and clear the problems
  // the job shows): this compile of the editor's text is the latest.
  clearTimeout(compileTimer);
  const compiled = await recompile();
  if (!compiled?.spec) return;
  try {
    const { id } = await api<{ id: string }>("POST", "/api/v1/jobs", compiled.spec);
    await openJob(id, compiled.operatorLines, compiled.functionLines);
    void refreshJobs();
  } catch (e) {
    if (e instanceof ApiError) {
      if (e.status === 401) $("token-box").hidden = false;
      showProblems(e.problems.length > 0 ? mapServerProblems(e.problems, compiled) : [{ line: null, message: e.message }]);
    } else showProblems([{ line: null, message: (e as Error).message }]);
  }
}

function setup(): void {
  const select = $<HTMLSelectElement>("examples");
  for (const ex of examplesList) select.appendChild(new Option(ex.name, ex.name));
  select.addEventListener("change", () => loadExample(select.value));
  $("run").addEventListener("click", () => void run());
  $("parallelism").addEventListener("input", scheduleCompile);
  $("params").addEventListener("input", scheduleCompile);
  $("cancel").addEventListener("click", async () => {
    if (!current) return;
    try { await api("POST", `/api/v1/jobs/${current.id}/cancel`); } catch (e) { $("job-info").textContent = (e as Error).message; }
  });
  $("savepoint").addEventListener("click", async () => {
    if (!current) return;
    try {
      const sp = await api<{ path: string }>("POST", `/api/v1/jobs/${current.id}/savepoints`);
      $("job-info").textContent += `\nsavepoint: ${sp.path}`;
    } catch (e) { $("job-info").textContent += `\nsavepoint refused: ${(e as Error).message}`; }
  });
  $("pause").addEventListener("click", () => {
    paused = !paused;
    $("pause").textContent = paused ? "Resume" : "Pause";
  });
  $("clear").addEventListener("click", () => {
    ($("output") as HTMLTableElement).tBodies[0]!.replaceChildren();
    outputRows = 0;
    $("output-count").textContent = "0 rows";
  });
  $("token-save").addEventListener("click", () => {
    setToken($<HTMLInputElement>("token").value);
    $("token-box").hidden = true;
    void refreshJobs();
  });
  loadExample(examplesList[0]!.name);
  initCompiler(document.body.dataset.wasm!).then(() => recompile(), (e) => {
    $("compile-state").textContent = `the compiler did not load: ${(e as Error).message}`;
  });
  void refreshJobs();
  setInterval(() => void refreshJobs(), 2000);
}

// For tests and the curious: compile any source as the page does.
(globalThis as Record<string, unknown>).sluicePlayground = { compile, initCompiler, ready: () => initCompiler(document.body.dataset.wasm!) };
setup();
