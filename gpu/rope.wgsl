// Rotary position embedding in place, Hugging Face rotate_half pairing (i, i + rotaryDim/2) over
// the first rotaryDim features of each head (the rest pass through: partial_rotary_factor), with
// the host's angle table (cos of the rotaryDim/2 angles, then their sines, per position, already
// times the variant's attention factor): GPU sin/cos lose accuracy at large arguments. One
// invocation per (row, head, pair). Mirrors assembly/rope.ts.

struct RopeParams {
  rows: u32,
  heads: u32,
  headDim: u32,
  rotaryDim: u32,
  posOffset: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<uniform> p: RopeParams;

@compute @workgroup_size(64)
fn rope(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let half = p.rotaryDim / 2u;
  let id = gid.x + gid.y * nwg.x * 64u;
  if (id >= p.rows * p.heads * half) { return; }
  let i = id % half;
  let th = id / half; // row * heads + head
  let t = th / p.heads;
  let base = th * p.headDim;
  let trow = (p.posOffset + t) * p.rotaryDim;
  let c = table[trow + i];
  let s = table[trow + half + i];
  let x1 = x[base + i];
  let x2 = x[base + half + i];
  x[base + i] = x1 * c - x2 * s;
  x[base + half + i] = x2 * c + x1 * s;
}
