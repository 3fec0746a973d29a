// node:path's resolve and join for the SDK in the page: POSIX paths against the page's
// working directory, "/" (a file source's path is resolved on the workers as written).
function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}
export function resolve(...paths: string[]): string {
  let out = "";
  for (const p of paths) out = p.startsWith("/") ? p : `${out}/${p}`;
  return normalize(out);
}
export function join(...paths: string[]): string {
  return normalize(paths.join("/"));
}
export function dirname(path: string): string {
  const n = normalize(path);
  return n.slice(0, Math.max(1, n.lastIndexOf("/")));
}
export default { resolve, join, dirname };
