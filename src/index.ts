// Public API of dsnot. Nothing but exports lives here.
export type { DeviceKind, DeviceOption } from './backends/backend.js';
// Model I/O: sources, readers (safetensors, llama2.c), the writer and sinks, model specs.
export { ModelIOError, SourceError, Llama2cError, TokenizerError, ConfigError, WriterError } from './io/errors.js';
export { SafetensorsError, decodeSafetensors, encodeSafetensors, encodeHeader, DTYPE_BYTES } from './io/safetensors.js';
export type { SafetensorsDType, SafetensorsHeader, TensorEntry, TensorToWrite } from './io/safetensors.js';
export { openSource, MemorySource, CountingSource } from './io/source.js';
export type { Source, ModelInput, OpenSourceOptions, ReadOptions } from './io/source.js';
export { openSink, BlobSink } from './io/sink.js';
export type { Sink, SinkFile, OutputTarget } from './io/sink.js';
export type { ModelReader, TensorInfo, ModelLayout, ShardLayout } from './io/model-reader.js';
export { SafetensorsReader, toFloat32 } from './io/safetensors-reader.js';
export { SafetensorsWriter, planFromReader, writeWholeFile } from './io/safetensors-writer.js';
export type { WritePlan, PlannedShard, PlannedTensor, PlanOptions } from './io/safetensors-writer.js';
export { Llama2cReader, parseLlama2cHeader, modelSpecFromLlama2c } from './io/llama2c.js';
export type { Llama2cParams } from './io/llama2c.js';
export { Llama2cTokenizer } from './io/llama2c-tokenizer.js';
export { openModel, copySideFiles, loadLlama2cTokenizer, llamaConfigJson } from './io/model.js';
export type { OpenedModel, OpenModelOptions } from './io/model.js';
export { modelSpecFromConfig, SUPPORTED_MODEL_TYPES } from './models/config.js';
export type { ModelSpec, LayerSpec, LinearSpec, LinearRole, NormSpec, TensorRef, ModelFamily } from './models/config.js';
export { pruneLayer } from './layer.js';
export type { PruneLayerOptions, PruneLayerResult, DsnotOptions, InitMethod } from './layer.js';
export { StatsAccumulator, statsFromRaw, columnVectors } from './stats.js';
export type { LayerStats, StatsAccumulatorOptions } from './stats.js';
export type { BackendHessian } from './backends/prune-kernels.js';
export { DsnotInputError } from './validate.js';
export type { Sparsity } from './validate.js';
export { decodeF16, decodeBF16, encodeF16, encodeBF16 } from './io/half.js';
// Forward pass: kernels interface, decoder models (one layer at a time), perplexity.
export type { ForwardKernels, AttentionShape } from './backends/forward-kernels.js';
export { KernelShapeError } from './backends/forward-kernels.js';
export type { Backend, BackendInfo, DeviceTensor, TensorStore, DType } from './backends/backend.js';
export { acquireBackend } from './backends/select.js';
export { createDecoder, ModelInputError, UnsupportedModelError } from './models/decoder.js';
export type { DecoderModel, DecoderLayer, Embeddings, Head, Tap, TapInput, LayerForwardOptions, ForwardBackend, TensorSource } from './models/decoder.js';
export { ROPE_TYPES, ropeFrequencies, ropeTable } from './models/rope.js';
export type { RopeParameters, RopeType, RopeFrequencies } from './models/rope.js';
export { IGNORED_CONFIG_KEYS } from './models/config-keys.js';
export { evaluate, evalWindows } from './eval/perplexity.js';
export type { EvaluateOptions, EvaluateResult, EvaluateProgress, EvalProtocol, EvalWindow } from './eval/perplexity.js';
// WebGPU backend: run on a GPUDevice of your own (pruneLayer({ backend })), its typed errors, and
// why device 'auto' chose wasm.
export { createWebGpuBackend, WebGpuUnavailableError, GpuDeviceLostError, GpuKernelError } from './backends/webgpu/index.js';
export type { WebGpuBackend, WebGpuBackendOptions } from './backends/webgpu/index.js';
export { deviceSelectionNote } from './backends/select.js';
// The model pipeline: prune() (streamed, resumable), its report and options.
export { prune, DEFAULT_SKIP } from './prune.js';
export type { PruneOptions, PruneProgress, PruneEvaluation, PruneReport, LinearReport, PerplexityReport, ErrorSummary, CalibrationInput, SkipOption, SparsityProfileOption, SparsityProfileReport } from './prune.js';
export { CalibrationError } from './calib/data.js';
export { OutputBusyError } from './pipeline/folder-lock.js';
export { InputChangedError, OutputFaultError } from './pipeline/faults.js';
export { verifyOutput } from './pipeline/verify.js';
export type { VerifyOptions, VerifyResult } from './pipeline/verify.js';
export type { Integrity } from './pipeline/integrity.js';
export type { LockInfo } from './pipeline/folder-lock.js';
// Calibration text and tokenizers: the authors' sampling, the model's own tokenizer.
export { parseCalibration, calibrationWindows } from './calib/data.js';
export type { CalibrationData, SamplingOptions, TextTokenizer } from './calib/data.js';
export { loadTokenizer } from './calib/tokenizers.js';
export type { LoadedTokenizer } from './calib/tokenizers.js';
// Advanced per-layer entry: prune a weight already on a backend, in place (what prune() uses).
export { pruneLayerOnBackend } from './layer.js';
export type { PruneOnBackendOptions, PruneOnBackendResult, LayerSettings } from './layer.js';
export { Workspace } from './models/decoder.js';
