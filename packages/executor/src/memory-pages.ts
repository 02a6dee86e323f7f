/** The WebAssembly page size. */
export const WASM_PAGE_BYTES = 65_536

/** A memory cap in MiB as WebAssembly pages (1 MiB = 16 pages). */
export function memoryMbToPages(memoryMb: number): number {
  return Math.floor((memoryMb * 1024 * 1024) / WASM_PAGE_BYTES)
}
