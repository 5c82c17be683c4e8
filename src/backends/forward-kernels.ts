// Kernels of the decoder forward pass (issue: pruning pipeline). Families: gemm, norm, rope,
// attention, act, loss. Filled in by the pipeline work; empty until then.
export interface ForwardKernels {}
