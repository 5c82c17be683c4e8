// FolderState (the resumable output folder) over a browser folder, in Chromium's OPFS from the
// page's main thread: there, files are written through writable streams (the app's worker uses
// sync access handles; test/app covers that path end to end). The same journal, hidden states,
// partial files and commit as on disk.
import { describe, expect, it } from 'vitest';
import { FolderState, PARTIAL_DIR } from '../../src/pipeline/folder-state.js';

async function folder(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(`handle-fs-${Math.random().toString(36).slice(2)}`, { create: true });
}

async function bytes(dir: FileSystemDirectoryHandle, name: string): Promise<number[]> {
  return [...new Uint8Array(await (await (await dir.getFileHandle(name)).getFile()).arrayBuffer())];
}

describe('FolderState over OPFS (handle-fs.ts)', () => {
  it('journal, hidden states, files written out of order, commit', async () => {
    const dir = await folder();
    const state = FolderState.onHandle(dir);
    expect((await state.readJournal()).kind).toBe('none');
    await state.startFresh();
    const file = await state.sink().create('a.bin', 8);
    await file.write(new Uint8Array([5, 6, 7, 8]), 4);
    await file.write(new Uint8Array([1, 2, 3, 4]), 0);
    await state.syncFiles();
    const hidden = [new Float32Array([1.5, 2]), new Float32Array([3])];
    const saved = await state.saveHidden(1, hidden);
    const journal = { fingerprint: 'f', device: 'wasm' as const, layers: 2, layersDone: 1, written: [], entries: [], hashes: {}, stamp: 's', hidden: saved, phase: 'layers' as const };
    await state.writeJournal(journal);
    const read = await state.readJournal();
    expect(read).toEqual({ kind: 'ok', journal });
    expect(await state.loadHidden(saved)).toEqual(hidden);
    await file.commit();
    expect(await state.partialShards()).toEqual([]);
    await state.commitFiles(['a.bin']);
    expect(await bytes(dir, 'a.bin')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await expect(dir.getDirectoryHandle(PARTIAL_DIR)).rejects.toThrow();
  });

  it('a damaged journal is told from a good one; a foreign file keeps the folder from being used', async () => {
    const dir = await folder();
    const state = FolderState.onHandle(dir);
    await state.startFresh();
    const partial = await dir.getDirectoryHandle(PARTIAL_DIR);
    const w = await (await partial.getFileHandle('journal.json', { create: true })).createWritable();
    await w.write('dsnot-journal sha256=00\n{"fingerprint":"f"}');
    await w.close();
    expect(await state.readJournal()).toMatchObject({ kind: 'damaged' });
    await (await dir.getFileHandle('mine.txt', { create: true })).createWritable().then((s) => s.close());
    await expect(state.startFresh()).rejects.toThrow(/not empty \(mine\.txt\)/);
  });
});
