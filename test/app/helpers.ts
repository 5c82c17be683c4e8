// For the app's end-to-end tests: the built `dsnot app` server, the system Chromium driven by
// playwright-core (nothing is downloaded), reference runs of the built CLI, and reading the
// page's OPFS output and screenshots' pixels.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { PruneReport } from '../../src/prune.js';
import { tempDir } from '../support/temp-dir.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist/cli.js');
export const FIXTURES = join(ROOT, 'test/fixtures');

/** The fixtures as the server and the CLI name them. */
export const INPUTS = {
  model: 'stories260K-hf',
  calib: 'tinystories-valid/tinystories_val.txt',
  // Small, so that perplexity costs little; any text works.
  evalText: 'tinystories-valid/SOURCE.md',
};

/** Start the built `dsnot app --models test/fixtures` on a free port. */
export async function startApp(): Promise<{ url: string; process: ChildProcess }> {
  if (!existsSync(join(ROOT, 'dist/app/index.html'))) throw new Error('dist/app is missing: run npm run build first');
  const child = spawn(process.execPath, [CLI, 'app', '--models', FIXTURES, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /open (http:\/\/\S+\/)/.exec(out);
      if (m) ok(m[1]);
    });
    child.stderr!.on('data', (d: Buffer) => { out += d; });
    child.once('exit', (code) => fail(new Error(`dsnot app exited (${code}): ${out}`)));
  });
  return { url, process: child };
}

/** The system Chromium with WebGPU (SwiftShader) and a fresh profile (its own OPFS). */
export function launch(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tempDir('dsnot-chromium-'), {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** `dsnot prune` (the built CLI) on the fixtures with `flags`: its --json report and its weights' SHA-256. */
export async function cliRun(flags: string[]): Promise<{ report: PruneReport; sha: string }> {
  const out = join(tempDir('dsnot-app-ref-'), 'out');
  const { stdout } = await promisify(execFile)(process.execPath, [
    CLI, 'prune', join(FIXTURES, INPUTS.model), '--out', out, '--calib', join(FIXTURES, INPUTS.calib), '--json', ...flags,
  ], { maxBuffer: 1 << 26 });
  return { report: JSON.parse(stdout) as PruneReport, sha: createHash('sha256').update(readFileSync(join(out, 'model.safetensors'))).digest('hex') };
}

/** Wait for #result's data-state (done or error, whichever comes); returns the state and text. */
export async function outcome(page: Page, timeout: number): Promise<{ state: string; text: string }> {
  const result = page.locator('#result[data-state=done], #result[data-state=error]');
  await result.waitFor({ state: 'attached', timeout });
  return { state: (await result.getAttribute('data-state'))!, text: (await result.textContent())! };
}

/** The report of a run that must end well (its error message otherwise). */
export async function doneReport(page: Page, timeout: number): Promise<PruneReport> {
  const { state, text } = await outcome(page, timeout);
  if (state !== 'done') throw new Error(`the run ended in ${state}: ${text}`);
  return JSON.parse(text) as PruneReport;
}

/** SHA-256 (hex) of a file the page wrote into OPFS (dsnot/<out>/<file>). */
export function opfsSha(page: Page, out: string, file: string): Promise<string> {
  return page.evaluate(async ([o, f]) => {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('dsnot');
    const bytes = await (await (await root.getDirectoryHandle(o)).getFileHandle(f)).getFile();
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', await bytes.arrayBuffer()));
    return [...hash].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, [out, file]);
}

/**
 * Pixels of a screenshot (PNG) inside an element's box that are close to `rgb` (each channel
 * within 40): decoded by the page's own image decoder, so no PNG library is needed.
 */
export async function inkIn(page: Page, png: Buffer, selector: string, rgb: [number, number, number]): Promise<number> {
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not visible`);
  return page.evaluate(async ({ data, box, rgb }) => {
    const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${data}`)).blob());
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    const px = ctx.getImageData(Math.floor(box.x), Math.floor(box.y), Math.max(1, Math.floor(box.width)), Math.max(1, Math.floor(box.height))).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (Math.abs(px[i] - rgb[0]) < 40 && Math.abs(px[i + 1] - rgb[1]) < 40 && Math.abs(px[i + 2] - rgb[2]) < 40) n++;
    }
    return n;
  }, { data: png.toString('base64'), box, rgb });
}
