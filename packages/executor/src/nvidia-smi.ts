import { execFile } from 'node:child_process'

/** One GPU as offers describe it (`OfferGpu` in @bazaar/protocol). */
export interface GpuInfo {
  /** As nvidia-smi reports it, e.g. "NVIDIA A100-SXM4-40GB". */
  model: string
  /** Total memory in MiB; 0 when the driver does not report it. */
  memoryMb: number
}

/** The query `listGpus` runs; `parseNvidiaSmiCsv` reads its output. */
export const NVIDIA_SMI_ARGS = ['--query-gpu=name,memory.total', '--format=csv,noheader'] as const

const UNIT_MB: Record<string, number> = { kib: 1 / 1024, mib: 1, gib: 1024, tib: 1024 * 1024 }

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader`: one line per GPU,
 * `NAME, 40960 MiB` (or a bare number with `nounits`). The memory is the last field, so a
 * name containing a comma still parses. Lines that do not parse (warnings, "[N/A]" names)
 * are skipped; an unreported memory ("[N/A]", "[Not Supported]") is 0.
 */
export function parseNvidiaSmiCsv(text: string): GpuInfo[] {
  const gpus: GpuInfo[] = []
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    const comma = line.lastIndexOf(',')
    if (comma <= 0) continue
    const model = line.slice(0, comma).trim()
    if (!model || model.startsWith('[')) continue
    gpus.push({ model, memoryMb: parseMemory(line.slice(comma + 1).trim()) })
  }
  return gpus
}

function parseMemory(field: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]iB)?$/i.exec(field)
  if (!match) return 0
  const factor = UNIT_MB[(match[2] ?? 'MiB').toLowerCase()] ?? 1
  return Math.floor(Number(match[1]) * factor)
}

export interface ListGpusOptions {
  /** The nvidia-smi executable. Default "nvidia-smi" (from PATH). */
  command?: string
  timeoutMs?: number
  signal?: AbortSignal
}

/**
 * The machine's NVIDIA GPUs, or [] when nvidia-smi is missing, fails or times out (a
 * machine without a working driver has no GPU to offer).
 */
export function listGpus(options: ListGpusOptions = {}): Promise<GpuInfo[]> {
  return new Promise((resolve) => {
    execFile(
      options.command ?? 'nvidia-smi',
      NVIDIA_SMI_ARGS,
      { timeout: options.timeoutMs ?? 5000, signal: options.signal, windowsHide: true },
      (err, stdout) => resolve(err ? [] : parseNvidiaSmiCsv(stdout)),
    )
  })
}
