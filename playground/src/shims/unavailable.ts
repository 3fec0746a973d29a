// What the SDK reaches only to run or submit jobs from Node (files, processes, gRPC): in the
// page jobs are posted to the coordinator's HTTP API instead, so any use is a clear error.
function unavailable(): never {
  throw new Error("not available in the browser playground (the page posts jobs to the coordinator)");
}
const handler: ProxyHandler<() => never> = {
  get: (_target, key) => (key === "__esModule" ? false : unavailable),
  apply: () => unavailable(),
};
const stub = new Proxy(unavailable, handler);
export default stub;
export const existsSync = unavailable;
export const mkdtemp = unavailable;
export const readFile = unavailable;
export const readFileSync = unavailable;
export const rm = unavailable;
export const writeFile = unavailable;
export const tmpdir = unavailable;
export const spawn = unavailable;
export const setTimeout = unavailable;
