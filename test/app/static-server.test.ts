// dsnot app's static server: ranges (206, suffix, 416), HEAD, MIME types, the cross-origin
// isolation headers, /models/ mapped to its own root, and nothing served from outside the roots
// (encoded dot segments, symbolic links leading out).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRange, serveStatic } from '../../src/cli/static-server.js';
import { tempDir } from '../support/temp-dir.js';

let server: Server;
let base: string;

beforeAll(async () => {
  const root = tempDir('dsnot-static-');
  const app = join(root, 'app');
  const models = join(root, 'models');
  mkdirSync(join(models, 'm'), { recursive: true });
  mkdirSync(app);
  writeFileSync(join(app, 'index.html'), '<!doctype html>hi');
  writeFileSync(join(app, 'main.js'), 'export {};');
  writeFileSync(join(root, 'secret.txt'), 'secret');
  writeFileSync(join(models, 'm', 'model.safetensors'), Buffer.from(Array.from({ length: 100 }, (_, i) => i)));
  symlinkSync(join(root, 'secret.txt'), join(models, 'link.txt'));
  server = await serveStatic({ app, models }, 0, '127.0.0.1');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

const get = (path: string, init?: RequestInit) => fetch(base + path, init);

describe('static server', () => {
  it('serves the app with its MIME type and the cross-origin isolation headers', async () => {
    for (const [path, type] of [['/', 'text/html'], ['/main.js', 'text/javascript']]) {
      const r = await get(path);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain(type);
      expect(r.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(r.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
      expect(r.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    }
    expect(await (await get('/')).text()).toBe('<!doctype html>hi');
  });

  it('answers Range with 206 and Content-Range, a suffix range, and 416 past the end', async () => {
    const r = await get('/models/m/model.safetensors', { headers: { Range: 'bytes=10-19' } });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe('bytes 10-19/100');
    expect([...new Uint8Array(await r.arrayBuffer())]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const tail = await get('/models/m/model.safetensors', { headers: { Range: 'bytes=-3' } });
    expect([...new Uint8Array(await tail.arrayBuffer())]).toEqual([97, 98, 99]);
    const past = await get('/models/m/model.safetensors', { headers: { Range: 'bytes=100-' } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */100');
  });

  it('HEAD gives the size and no body', async () => {
    const r = await get('/models/m/model.safetensors', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe('100');
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect((await r.arrayBuffer()).byteLength).toBe(0);
  });

  it('serves nothing outside its roots', async () => {
    for (const path of ['/models/%2e%2e/secret.txt', '/%2e%2e/secret.txt', '/models/..%2fsecret.txt', '/models/link.txt', '/models/m/nope', '/nope.js']) {
      expect((await get(path)).status, path).toBe(404);
    }
    expect((await get('/', { method: 'POST' })).status).toBe(405);
  });
});

describe('parseRange', () => {
  it('reads the forms of a single byte range', () => {
    expect(parseRange(undefined, 10)).toBeNull();
    expect(parseRange('bytes=2-', 10)).toEqual({ start: 2, end: 9 });
    expect(parseRange('bytes=2-50', 10)).toEqual({ start: 2, end: 9 });
    expect(parseRange('bytes=-20', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=5-4', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable');
    // Several ranges or another unit: the whole file, as RFC 9110 allows.
    expect(parseRange('bytes=0-1,4-5', 10)).toBeNull();
    expect(parseRange('items=0-1', 10)).toBeNull();
  });
});
