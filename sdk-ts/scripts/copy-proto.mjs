// Copies the wire contracts (../proto/sluice/*.proto) into sdk-ts/proto/sluice/ so the
// installed package carries the files it loads at run time for submit().
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const from = join(root, "..", "proto", "sluice");
const to = join(root, "proto", "sluice");
if (!existsSync(from)) {
  // Installed from a packed tarball: the protos already came with the package.
  process.exit(0);
}
mkdirSync(to, { recursive: true });
for (const file of readdirSync(from)) {
  if (file.endsWith(".proto")) copyFileSync(join(from, file), join(to, file));
}
