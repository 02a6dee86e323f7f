/**
 * The requester's path through the CLI and the SDK against a real running node:
 * `bazaar node start --local` as a subprocess (embedded EVM, 3 providers, libp2p, WASM),
 * then `bazaar job ...` subprocesses and SDK calls against its HTTP API.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createBazaarClient, uploadSpecFile } from '@bazaar/sdk'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const bin = resolve(root, 'packages/cli/src/bin.ts')
const wordcountSpec = resolve(root, 'examples/specs/wordcount.yaml')

function bazaar(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', fail)
    child.on('close', (code) => done({ code, stdout, stderr }))
  })
}

describe('node API, CLI and SDK', () => {
  let node: ChildProcess
  let api: string
  let dir: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-cli-'))
    node = spawn(
      process.execPath,
      [bin, 'node', 'start', '--local', '--api-port', '0', '--log-level', 'warn'],
      { cwd: root },
    )
    api = await new Promise<string>((found, fail) => {
      let seen = ''
      const timer = setTimeout(() => fail(new Error(`node did not start: ${seen}`)), 60_000)
      node.stdout!.on('data', (d) => {
        seen += d
        const match = /Node API: (http:\/\/\S+)/.exec(seen)
        if (match && seen.includes('Ready.')) {
          clearTimeout(timer)
          found(match[1]!)
        }
      })
      node.on('exit', (code) => fail(new Error(`node exited with ${code}: ${seen}`)))
    })
  })

  after(async () => {
    if (node && node.exitCode === null) {
      const exited = new Promise((r) => node.once('exit', r))
      node.kill('SIGTERM')
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  })

  it('runs a spec from the CLI and prints one JSON object with what was paid', async () => {
    const out = join(dir, 'count.json')
    const result = await bazaar(['job', 'run', wordcountSpec, '--api', api, '--json', '--out', out])
    assert.equal(result.code, 0, result.stderr)
    const job = JSON.parse(result.stdout)
    assert.equal(job.state, 'completed')
    assert.match(job.id, /^\d+$/)
    assert.match(job.paid, /^\d+$/)
    assert.equal(BigInt(job.paid), BigInt(job.fuelUsed) * BigInt(job.pricePerFuel))
    assert.equal(BigInt(job.paid) + BigInt(job.refunded), BigInt(job.escrow))
    const counts = JSON.parse(await readFile(out, 'utf8'))
    assert.equal(typeof counts.words, 'number')
    assert.ok(counts.words > 0)

    const status = await bazaar(['job', 'status', job.id, '--api', api, '--json'])
    assert.equal(status.code, 0)
    const types = JSON.parse(status.stdout).events.map((e: { type: string }) => e.type)
    for (const step of ['created', 'announced', 'bid', 'awarded', 'revealed', 'verified', 'finalized']) {
      assert.ok(types.includes(step), `missing ${step} in ${types}`)
    }
  })

  it('rejects a bad spec with its file, line and field, exit code 2', async () => {
    const bad = join(dir, 'bad.yaml')
    await writeFile(
      bad,
      'version: 1\nruntime: wasm\nmodule: { path: x.wasm }\nlimits: { fuel: -1 }\nprice: { maxPerFuel: "1" }\n',
    )
    const result = await bazaar(['job', 'run', bad, '--api', api])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /bad\.yaml:4:\d+ limits\.fuel/)
    assert.match(result.stderr, /hint:/)
  })

  it('reports bad flags, unknown jobs and an unreachable node with distinct exit codes', async () => {
    assert.equal((await bazaar(['job', 'run'])).code, 2)
    assert.equal((await bazaar(['demo', '--tiles', 'many'])).code, 2)
    const missing = await bazaar(['job', 'status', '987654', '--api', api])
    assert.equal(missing.code, 4)
    assert.match(missing.stderr, /no job 987654/)
    const unreachable = await bazaar(['job', 'list', '--api', 'http://127.0.0.1:9'])
    assert.equal(unreachable.code, 3)
    assert.match(unreachable.stderr, /cannot reach the Bazaar node/)
  })

  it('SDK: submits, watches every step in order, fetches the verified output', async () => {
    const client = createBazaarClient({ url: api })
    const info = await client.node()
    assert.match(info.address, /^0x[0-9a-fA-F]{40}$/)
    const spec = await uploadSpecFile(client, wordcountSpec)
    assert.ok('cid' in (spec.module as object), 'module uploaded and referenced by CID')
    const submitted = await client.submit(spec)
    const seen: string[] = []
    for await (const event of client.watch(submitted.id)) seen.push(event.type)
    assert.equal(seen.at(-1), 'end')
    assert.ok(seen.indexOf('awarded') > seen.indexOf('bid'))
    assert.ok(seen.indexOf('finalized') > seen.indexOf('verified'))
    const final = await client.getJob(submitted.id)
    assert.equal(final.state, 'completed')
    const output = await client.output(submitted.id)
    assert.equal(output.length, final.outputBytes)
  })

  it('SDK example: maps a module over many inputs with progress (examples/sdk/batch-wordcount.ts)', async () => {
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (done, fail) => {
        const child = spawn(process.execPath, [resolve(root, 'examples/sdk/batch-wordcount.ts'), api], {
          cwd: root,
        })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (d) => (stdout += d))
        child.stderr.on('data', (d) => (stderr += d))
        child.on('error', fail)
        child.on('close', (code) => done({ code, stdout, stderr }))
      },
    )
    assert.equal(result.code, 0, result.stderr)
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    assert.equal(lines.length, 5)
    for (const line of lines) {
      assert.equal(line.state, 'completed')
      assert.equal(line.words, line.text.split(' ').length)
    }
    assert.match(result.stderr, /done 5\/5, failed 0/)
  })

  it('SDK: API errors are typed, spec paths are refused over the API', async () => {
    const client = createBazaarClient({ url: api })
    await assert.rejects(
      client.submit({
        version: 1,
        runtime: 'wasm',
        module: { path: '/etc/passwd' },
        limits: { fuel: 1 },
        price: { maxPerFuel: '1' },
      }),
      (err: Error & { status?: number; code?: string }) => err.name === 'ApiError' && err.status === 400,
    )
    await assert.rejects(
      client.submit({ version: 2 }),
      (err: Error & { code?: string }) => err.code === 'E_INVALID_SPEC',
    )
    await assert.rejects(
      client.output('424242'),
      (err: Error & { status?: number }) => err.name === 'ApiError' && err.status === 404,
    )
  })

  it('serves Prometheus metrics: node info, jobs by state, peer misbehaviour', async () => {
    const res = await fetch(`${api}/metrics`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/)
    const text = await res.text()
    assert.match(text, /^bazaar_node_info\{[^}]*address="0x[0-9a-fA-F]{40}"[^}]*\} 1$/m)
    // The jobs run above completed: the gauge counts them.
    const completed = Number(/^bazaar_jobs\{state="completed"\} (\d+)$/m.exec(text)?.[1] ?? 0)
    assert.ok(completed >= 1, 'completed jobs counted')
    assert.match(text, /^bazaar_peer_bans_total 0$/m)
    assert.match(text, /^bazaar_peers_banned 0$/m)
  })
})
