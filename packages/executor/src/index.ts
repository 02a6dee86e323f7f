// instrumentModule (./meter.ts) is not re-exported here on purpose: it loads binaryen
// (~0.3 s, tens of MB) and only runs inside sandbox workers. Import '@bazaar/executor/meter'.

export {
  type ContainerJob,
  type ContainerOutput,
  type ContainerResult,
  createDockerExecutor,
  type DockerExecutor,
  type DockerExecutorInit,
} from './docker-executor.ts'
export {
  AbortedError,
  InvalidJobError,
  InvalidModuleError,
  MemoryLimitError,
  OutOfFuelError,
  OutputTooLargeError,
  SandboxError,
  TimeoutError,
  TrapError,
} from './errors.ts'
export {
  createExecutor,
  type Executor,
  type ExecutorInit,
  type ExecutorLogger,
  type RunOptions,
  type RunResult,
  type WasmJob,
} from './executor.ts'
export { createInstrumentCache, type InstrumentCache } from './instrument-cache.ts'
export { memoryMbToPages, WASM_PAGE_BYTES } from './memory-pages.ts'
export {
  BULK_BYTES_PER_FUEL,
  FUEL_EXPORT,
  FUEL_LIMIT_IMPORT,
  MEMORY_EXCEEDED_EXPORT,
  METER_VERSION,
  MIN_REGION_COST,
  START_EXPORT,
  WASI_MODULE,
} from './metering.ts'
export {
  type GpuInfo,
  type ListGpusOptions,
  listGpus,
  NVIDIA_SMI_ARGS,
  parseNvidiaSmiCsv,
} from './nvidia-smi.ts'
export {
  type MachineResources,
  type ProbeResourcesOptions,
  probeResources,
  type Runtime,
} from './probe-resources.ts'
export { detectResources, type Resources } from './resources.ts'
export { ARGV0, RANDOM_DOMAIN, STDERR_KEEP_BYTES, VIRTUAL_EPOCH_NS } from './sandbox-profile.ts'
