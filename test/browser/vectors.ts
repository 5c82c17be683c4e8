/// <reference types="vite/client" />
// The authors' vectors in the browser: fetched from the dev server (no node:fs there), decoded by
// test/support/vector.ts as in the Node tests.
import { vectorFromBytes, type VectorData } from '../support/vector.js';

const urls = import.meta.glob('../fixtures/vectors/*.safetensors', { query: '?url', import: 'default', eager: true }) as Record<string, string>;

export function browserVectorNames(): string[] {
  return Object.keys(urls).sort();
}

export async function fetchVector(key: string): Promise<VectorData> {
  const res = await fetch(urls[key]);
  if (!res.ok) throw new Error(`${key}: HTTP ${res.status}`);
  return vectorFromBytes(new Uint8Array(await res.arrayBuffer()), key);
}
