/** Where the package's own files are, from the compiled module's location (dist/paths.js). */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The SDK package's root folder (sdk-ts/ in the repository). */
export const PACKAGE_ROOT: string = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * The folder holding `sluice/*.proto`: the copy the package carries (sdk-ts/proto), else the
 * repository's proto/ next to sdk-ts/.
 */
export function protoRoot(): string {
  const own = join(PACKAGE_ROOT, "proto");
  if (existsSync(join(own, "sluice", "job_service.proto"))) return own;
  return join(PACKAGE_ROOT, "..", "proto");
}
