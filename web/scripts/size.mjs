// `npm run size` after `npm run build`: the gzipped JavaScript that the first screen loads
// (index.html's entry and its static imports, from dist/.vite/manifest.json), and the total.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const LIMIT = 250 * 1024;
const dist = resolve(dirname(fileURLToPath(import.meta.url)), "../dist");
const manifest = JSON.parse(readFileSync(resolve(dist, ".vite/manifest.json"), "utf8"));
const gz = (file) => gzipSync(readFileSync(resolve(dist, file)), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

const first = new Set();
const visit = (key) => {
  const chunk = manifest[key];
  if (!chunk || first.has(chunk.file)) return;
  first.add(chunk.file);
  (chunk.imports ?? []).forEach(visit);
};
visit("index.html");

const all = new Set(Object.values(manifest).map((c) => c.file).filter((f) => f.endsWith(".js")));
const firstBytes = [...first].reduce((sum, f) => sum + gz(f), 0);
const allBytes = [...all].reduce((sum, f) => sum + gz(f), 0);
for (const f of first) console.log(`  first screen  ${f}  ${kb(gz(f))} gzipped`);
console.log(`first screen JavaScript: ${kb(firstBytes)} gzipped (limit ${kb(LIMIT)})`);
console.log(`all JavaScript: ${kb(allBytes)} gzipped in ${all.size} files`);
if (firstBytes > LIMIT) {
  console.error("the first screen's JavaScript is over the limit");
  process.exit(1);
}
