// The one wasm module: every kernel family of assembly/ re-exported from here.
// Families append one `export * from './<family>';` line each.
export * from './memory';
export * from './gemm';
export * from './norm';
export * from './rope';
export * from './attention';
export * from './act';
export * from './loss';
export * from './stats';
export * from './metric';
export * from './select';
export * from './dsnot';
export * from './sparsegpt';
export * from './swaps';
