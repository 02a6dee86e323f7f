/**
 * SDK example: count the words of many texts in parallel on the market, with progress.
 *
 *   npm run bazaar -- node start --local          # in one terminal
 *   node_modules/.bin/node examples/sdk/batch-wordcount.ts [API_URL]
 *
 * Uploads the module once, then maps it over the inputs with at most 3 jobs in flight,
 * retrying a job that a provider failed to deliver. Prints one JSON line per text.
 */
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createBazaarClient, mapJobs } from '@bazaar/sdk'

const api = process.argv[2] ?? 'http://127.0.0.1:8080'
const here = dirname(fileURLToPath(import.meta.url))
const client = createBazaarClient({ url: api })

const texts = [
  'the quick brown fox jumps over the lazy dog',
  'to be or not to be that is the question',
  'a market for compute with no cloud in between',
  'sellers bid buyers pay for verified results',
  'the same module the same input the same fuel',
]

const { cid } = await client.uploadBlob(
  new Uint8Array(await readFile(resolve(here, '../build/wordcount.wasm'))),
)
const results = await mapJobs(client, {
  items: texts,
  concurrency: 3,
  specFor: (text, index) => ({
    version: 1,
    name: `batch-${index}`,
    runtime: 'wasm',
    module: { cid },
    args: ['text.txt'],
    env: { LANG: 'C' },
    inputs: [{ name: 'text.txt', text }],
    limits: { fuel: '50000000' },
    price: { maxPerFuel: '5000000000' },
  }),
  onProgress: (p) =>
    process.stderr.write(`\rdone ${p.completed}/${p.total}, failed ${p.failed}, running ${p.running}   `),
})
process.stderr.write('\n')
for (const result of results) {
  const counts = result.output ? JSON.parse(new TextDecoder().decode(result.output)) : null
  console.log(
    JSON.stringify({
      text: result.item,
      state: result.job.state,
      paid: result.job.paid,
      words: counts?.words ?? null,
    }),
  )
}
process.exit(results.every((r) => r.job.state === 'completed') ? 0 : 1)
