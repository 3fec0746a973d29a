// The coordinator's HTTP API, from the page (same origin). A token, when the cluster has one, is
// kept in sessionStorage and sent as a bearer token.

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly problems: ApiProblem[] = []) {
    super(message);
  }
}
export interface ApiProblem { operatorId: string; operatorName: string; message: string }

const TOKEN_KEY = "sluice.token";
export function setToken(token: string): void { sessionStorage.setItem(TOKEN_KEY, token); }
function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...extra };
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: headers(method === "POST" ? { "Content-Type": "application/json" } : {}) };
  if (method === "POST") init.body = JSON.stringify(body ?? {});
  const response = await fetch(path, init);
  const text = await response.text();
  const json = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const e = json.error ?? {};
    throw new ApiError(response.status, e.code ?? "http_error", e.message ?? `HTTP ${response.status}`, e.problems ?? []);
  }
  return json as T;
}

export interface SseEvent { event: string; id: string; data: unknown }

/**
 * Reads a job's event stream with fetch (so the bearer token can be sent); reconnects with
 * Last-Event-ID after a network error until the stream ends or `signal` aborts.
 */
export async function streamEvents(jobId: string, onEvent: (e: SseEvent) => void, signal: AbortSignal): Promise<void> {
  let lastId = "";
  while (!signal.aborted) {
    try {
      const response = await fetch(`/api/v1/jobs/${encodeURIComponent(jobId)}/events`, {
        headers: headers(lastId ? { "Last-Event-ID": lastId } : {}),
        signal,
      });
      if (!response.ok || response.body === null) throw new ApiError(response.status, "http_error", `events: HTTP ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { event: "message", id: "", data: null };
          let data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const colon = line.indexOf(":");
            const field = line.slice(0, colon);
            const v = line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") event.event = v;
            else if (field === "id") event.id = lastId = v;
            else if (field === "data") data += v;
          }
          if (data === "") continue;
          event.data = JSON.parse(data);
          onEvent(event);
          if (event.event === "end") return;
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ApiError && e.status !== 0 && e.status < 500) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
