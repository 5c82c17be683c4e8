// A node:fs/promises stand-in for fault injection (prune's internal `_testing.fs`): the disk
// fills after a byte budget (the write that crosses it is torn: its first part lands), and
// chosen renames fail, each with a real errno code as Node reports it.
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Fs } from '../../src/io/sinks/path.js';

export interface Faults {
  /** Bytes written through handles before writes fail (default: never). */
  bytes?: number;
  /** The code of a failed write: 'ENOSPC' (default) or 'EDQUOT'. */
  writeCode?: string;
  /** Renames for which this returns a code fail with it. */
  rename?: (from: string, to: string) => string | null;
}

export function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const what: Record<string, string> = { ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EACCES: 'permission denied', EROFS: 'read-only file system' };
  return Object.assign(new Error(`${code}: ${what[code] ?? 'failed'}, ${syscall} '${path}'`), { code, syscall, path });
}

/** A file system with `faults`; `written` counts the bytes that landed. */
export function faultyFs(faults: Faults): Fs & { written: number } {
  const state = { written: 0 };
  const budget = faults.bytes ?? Infinity;
  const charge = async (n: number, land: (k: number) => Promise<unknown>, path: string) => {
    const room = Math.max(0, budget - state.written);
    if (n <= room) {
      state.written += n;
      return;
    }
    if (room > 0) await land(room);
    state.written += room;
    throw errno(faults.writeCode ?? 'ENOSPC', 'write', path);
  };
  const wrap = (h: FileHandle, path: string): FileHandle => new Proxy(h, {
    get(target, key) {
      if (key === 'write') {
        return async (buf: Uint8Array, offset = 0, length = buf.length - offset, position: number | null = null) => {
          await charge(length, (k) => target.write(buf, offset, k, position), path);
          return target.write(buf, offset, length, position);
        };
      }
      if (key === 'writeFile') {
        return async (data: string | Uint8Array) => {
          const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
          await charge(bytes.length, (k) => target.writeFile(bytes.subarray(0, k)), path);
          return target.writeFile(bytes);
        };
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const fs = {
    ...fsp,
    open: async (path: string, flags?: string, mode?: number) => wrap(await fsp.open(path, flags, mode), path),
    rename: async (from: string, to: string) => {
      const code = faults.rename?.(from, to);
      if (code) throw errno(code, 'rename', from);
      return fsp.rename(from, to);
    },
  };
  Object.defineProperty(fs, 'written', { get: () => state.written });
  return fs as unknown as Fs & { written: number };
}
