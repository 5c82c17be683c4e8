// Builds the browser app (src/app/) into dist/app/: plain static files that any web server can
// host (with the COOP/COEP headers, README "Browser app"). The page script and the worker are
// bundled by esbuild from the package's sources, for browsers: node: modules are only ever
// loaded by dynamic import() on code paths a browser never takes, so they stay external.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'app');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { main: join(root, 'src/app/main.ts'), worker: join(root, 'src/app/worker.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  minify: true,
  external: ['node:*', 'webgpu'],
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css']) copyFileSync(join(root, 'src/app', f), join(out, f));
console.log(`app built into ${out}`);
