// Draws a job's plan as SVG: one box per chained task group (its operators, parallelism and
// live rates), arrows for the exchanges between groups labelled with their partitioning.

export interface Plan {
  operators: Array<{ id: string; name: string; kind: string; parallelism: number }>;
  groups: Array<{ index: number; operators: string[]; name: string; parallelism: number }>;
  exchanges: Array<{ from: number; to: number; partitioning: string; input: number }>;
}
export interface GroupRates {
  inPerSecond: number; outPerSecond: number; recordsIn: number; recordsOut: number;
  /** Epoch ms; "end" once the input ended; null before the first. */
  watermark: number | "end" | null;
  /** Share of the last second the busiest subtask waited for room downstream (0..1). */
  backpressure: number;
}

/** A watermark as the time of day (UTC), "end" or "–". */
export function watermarkText(w: number | "end" | null): string {
  if (w === null) return "–";
  if (w === "end") return "end";
  return new Date(w).toISOString().slice(11, 23);
}

// Flink's thresholds: a task waiting more than 10 % of the time is back-pressured, over 50 % high.
export function backpressureLevel(share: number): "ok" | "low" | "high" {
  return share > 0.5 ? "high" : share > 0.1 ? "low" : "ok";
}

const SVG = "http://www.w3.org/2000/svg";
const W = 210, ROW = 18;

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function rate(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k/s` : `${n.toFixed(0)}/s`;
}

export function drawPlan(svg: SVGSVGElement, plan: Plan, rates: Map<string, GroupRates>,
                         onClick: (groupName: string) => void): void {
  svg.replaceChildren();
  const names = new Map(plan.operators.map((o) => [o.id, o]));
  // Columns by longest path from a source.
  const depth = new Map<number, number>();
  for (const g of plan.groups) {
    const ins = plan.exchanges.filter((e) => e.to === g.index).map((e) => (depth.get(e.from) ?? 0) + 1);
    depth.set(g.index, Math.max(0, ...ins));
  }
  const perColumn = new Map<number, number>();
  const pos = new Map<number, { x: number; y: number; h: number }>();
  for (const g of plan.groups) {
    const d = depth.get(g.index)!;
    const row = perColumn.get(d) ?? 0;
    perColumn.set(d, row + 1);
    const h = 44 + ROW * (g.operators.length + 1);
    pos.set(g.index, { x: 10 + d * (W + 60), y: 10 + row * 170, h });
  }
  let width = 0, height = 0;
  for (const p of pos.values()) { width = Math.max(width, p.x + W + 10); height = Math.max(height, p.y + p.h + 10); }
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  const defs = el("defs", {});
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" });
  marker.appendChild(el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#666" }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  for (const e of plan.exchanges) {
    const a = pos.get(e.from)!, b = pos.get(e.to)!;
    const x1 = a.x + W, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2;
    svg.appendChild(el("path", { d: `M${x1},${y1} C${x1 + 30},${y1} ${x2 - 30},${y2} ${x2},${y2}`, class: "edge", "marker-end": "url(#arrow)" }));
    svg.appendChild(el("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 4, class: "edge-label", "text-anchor": "middle" }, e.partitioning));
  }
  for (const g of plan.groups) {
    const p = pos.get(g.index)!;
    const r = rates.get(g.name);
    const level = backpressureLevel(r?.backpressure ?? 0);
    const node = el("g", { class: `task-group backpressure-${level}`, "data-group": g.name, transform: `translate(${p.x},${p.y})` });
    node.appendChild(el("rect", { width: W, height: p.h, rx: 6 }));
    node.appendChild(el("text", { x: 8, y: 16, class: "group-title" }, `task group ${g.index} · ×${g.parallelism}`));
    g.operators.forEach((id, i) => {
      const op = names.get(id);
      node.appendChild(el("text", { x: 8, y: 34 + i * ROW, class: "operator", "data-operator": id }, `${op?.name ?? id}`));
    });
    node.appendChild(el("text", { x: 8, y: p.h - 8 - ROW, class: "rates" },
      r ? `in ${rate(r.inPerSecond)} · out ${rate(r.outPerSecond)}` : "in – · out –"));
    node.appendChild(el("text", { x: 8, y: p.h - 8, class: "time" },
      r ? `wm ${watermarkText(r.watermark)} · back-pressure ${(r.backpressure * 100).toFixed(0)}%` : "wm – · back-pressure –"));
    node.addEventListener("click", () => onClick(g.name));
    svg.appendChild(node);
  }
}
