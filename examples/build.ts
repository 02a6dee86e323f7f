/**
 * Compiles the AssemblyScript examples in assembly/ to build/<name>.wasm: WASI preview1
 * command modules (through @assemblyscript/wasi-shim), optimized with -O3. Offline.
 *
 *   node build.ts            build every example
 *   node build.ts spin       build only the named ones
 */
import { mkdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const EXAMPLE_NAMES = ['mandelbrot', 'wordcount', 'spin', 'sha256'] as const
export type ExampleName = (typeof EXAMPLE_NAMES)[number]

/** Where `buildExamples` writes by default: examples/build/. */
export const EXAMPLES_BUILD_DIR = fileURLToPath(new URL('./build/', import.meta.url))

export interface BuildExamplesOptions {
  /** Output folder; default examples/build/. */
  outDir?: string
  /** Which examples; default all. */
  names?: readonly ExampleName[]
}

/** Builds the examples and returns each one's .wasm path. Throws with asc's diagnostics on failure. */
export async function buildExamples(
  options: BuildExamplesOptions = {},
): Promise<Record<ExampleName, string>> {
  const { default: asc } = await import('assemblyscript/asc')
  const outDir = options.outDir ?? EXAMPLES_BUILD_DIR
  const names = options.names ?? EXAMPLE_NAMES
  // asc resolves the shim config's `lib: "./assembly"` correctly only when the config path is
  // relative to the working directory (an absolute one silently drops the shim).
  const shimConfig = relative(
    process.cwd(),
    createRequire(import.meta.url).resolve('@assemblyscript/wasi-shim/asconfig.json'),
  )
  await mkdir(outDir, { recursive: true })
  const outputs = {} as Record<ExampleName, string>
  for (const name of names) {
    const source = fileURLToPath(new URL(`./assembly/${name}.ts`, import.meta.url))
    const outFile = `${outDir.replace(/\/$/, '')}/${name}.wasm`
    const { error, stderr } = await asc.main(
      [source, '--config', shimConfig, '--optimizeLevel', '3', '--shrinkLevel', '0', '--outFile', outFile],
      {},
    )
    if (error) throw new Error(`building ${name}.wasm failed: ${error.message}\n${stderr.toString()}`)
    outputs[name] = outFile
  }
  return outputs
}

if (import.meta.main) {
  const requested = process.argv.slice(2)
  const unknown = requested.filter((name) => !(EXAMPLE_NAMES as readonly string[]).includes(name))
  if (unknown.length > 0) {
    console.error(`unknown example(s): ${unknown.join(', ')}; known: ${EXAMPLE_NAMES.join(', ')}`)
    process.exit(2)
  }
  const started = performance.now()
  const outputs = await buildExamples(requested.length > 0 ? { names: requested as ExampleName[] } : {})
  for (const path of Object.values(outputs)) console.log(`built ${path}`)
  console.log(`done in ${Math.round(performance.now() - started)} ms`)
}
