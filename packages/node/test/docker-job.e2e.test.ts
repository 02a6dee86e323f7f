/**
 * A container job through the real market: the embedded EVM, libp2p on 127.0.0.1 and a
 * real Docker daemon. One provider has Docker (its offer lists the runtime because the
 * daemon answered the probe), one has only wasm and must decline with a reason. The job's
 * image is a root file system tarball sent by CID; the provider imports it, runs the command
 * and is paid fuelUsed x price, with fuel = core-milliseconds of container run time.
 *
 * Needs a Docker daemon and a static busybox (.ci/run provides both when it is root);
 * without them every test here reports SKIPPED with the reason, never passed.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  type BazaarContracts,
  createBazaarContracts,
  createChainClients,
  deployBazaar,
  devAccounts,
  type EmbeddedChain,
  startEmbeddedChain,
} from '@bazaar/chain'
import { createDockerExecutor, createExecutor, probeResources } from '@bazaar/executor'
import { BUSYBOX, busyboxRootfs, dockerUnavailable } from '@bazaar/executor/docker-test-fixtures'
import { cidOf, parseTokens, validateJobSpec } from '@bazaar/protocol'
import pino from 'pino'
import { type BazaarNode, createBazaarNode } from '../src/bazaar-node.ts'
import { createJobRunner } from '../src/provider/job-runner.ts'
import { prepareJob } from '../src/requester/prepare-job.ts'

const docker = createDockerExecutor()
const unavailable = await dockerUnavailable(() => docker.ping())
const GWEI = 1_000_000_000n

async function waitUntil(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > until) throw new Error(`not ready after ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('a docker job through the market', () => {
  let chain: EmbeddedChain | undefined
  let admin: BazaarContracts
  let requester: BazaarNode
  const providers: BazaarNode[] = []
  const stoppables: { stop(): Promise<void> }[] = []
  let dataDir = ''

  before(async () => {
    if (unavailable) return
    dataDir = await mkdtemp(join(tmpdir(), 'bazaar-docker-e2e-'))
    const logger = pino({ level: 'silent' })
    const accounts = devAccounts(4)
    chain = await startEmbeddedChain({ accounts: accounts.length })
    const clientsFor = (privateKey: `0x${string}`) =>
      createChainClients({ provider: (chain as EmbeddedChain).provider, privateKey })
    const [deployerKey, requesterKey, dockerKey, wasmKey] = accounts.map((a) => a.privateKey)
    const adminClients = await clientsFor(deployerKey!)
    const deployment = await deployBazaar(adminClients, {
      minStake: parseTokens('10'),
      minCollateral: parseTokens('1'),
      challengeWindow: 60n,
    })
    admin = createBazaarContracts({ clients: adminClients, deployment })
    const contractsFor = async (key: `0x${string}`) =>
      createBazaarContracts({ clients: await clientsFor(key), deployment })

    const requesterContracts = await contractsFor(requesterKey!)
    await admin.mint(requesterContracts.address, parseTokens('1000'))
    let bootstrap: string[] = []
    for (const [name, key, withDocker] of [
      ['docker-provider', dockerKey!, true],
      ['wasm-provider', wasmKey!, false],
    ] as const) {
      const contracts = await contractsFor(key)
      await admin.mint(contracts.address, parseTokens('100'))
      await contracts.stakeWithPermit(parseTokens('100'))
      const wasm = createExecutor({ workers: 1 })
      stoppables.push({ stop: () => wasm.close() })
      // What the node would do: offer docker only when the daemon answers the probe.
      const machine = await probeResources({
        dataDir,
        ...(withDocker ? { dockerPing: () => docker.ping() } : {}),
        gpus: async () => [],
      })
      const runner = createJobRunner({ wasm, ...(withDocker ? { containers: docker } : {}) })
      assert.deepEqual(machine.runtimes, withDocker ? ['wasm', 'docker'] : ['wasm'])
      assert.deepEqual(runner.runtimes, machine.runtimes)
      const node = await createBazaarNode({
        name,
        contracts,
        logger,
        bootstrap,
        provider: {
          capacity: { cores: 2, memoryMb: 1024, runtimes: machine.runtimes },
          pricing: { floorPerFuel: GWEI, utilizationMarkupPercent: 0 },
          runner,
        },
      })
      stoppables.unshift(node)
      providers.push(node)
      bootstrap = [...bootstrap, ...node.network.multiaddrs()]
    }
    requester = await createBazaarNode({
      name: 'requester',
      contracts: requesterContracts,
      logger,
      bootstrap,
      requester: {},
    })
    stoppables.unshift(requester)
    await requester.network.waitForJobSubscribers(providers.length, { signal: AbortSignal.timeout(20_000) })
    await waitUntil(
      () => (requester.requester?.offers.size ?? 0) >= providers.length,
      30_000,
      'offers from both providers',
    )
  })

  after(async () => {
    for (const s of stoppables) await s.stop().catch(() => undefined)
    await chain?.close()
    await docker.close()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('runs on the Docker provider, pays it fuelUsed x price, and the wasm-only one declines', async (t) => {
    if (unavailable) return t.skip(unavailable)
    const tarball = await busyboxRootfs()
    const imageCid = await cidOf(tarball)
    const spec = validateJobSpec({
      version: 1,
      name: 'busybox-wc',
      runtime: 'docker',
      image: { cid: imageCid },
      command: [BUSYBOX, 'sh', '-c', 'wc -w < /input/words.txt > /output/count.txt; echo ran'],
      env: { LANG: 'C' },
      inputs: [{ name: 'words.txt', text: 'the quick brown fox jumps over the lazy dog' }],
      output: { file: 'count.txt' },
      resources: { cores: 1, memoryMb: 64 },
      limits: { timeoutMs: 20_000, outputBytes: 4096 },
      price: { maxPerFuel: (3n * GWEI).toString() },
      deadlines: { biddingMs: 1500, executionSeconds: 120 },
    })
    const prepared = await prepareJob(spec, { baseDir: '/', known: new Map([[imageCid, tarball]]) })
    assert.equal(prepared.descriptor.limits.fuel, '20000', 'maxFuel = timeout x cores')
    const [dockerNode, wasmNode] = providers as [BazaarNode, BazaarNode]
    const before = await admin.balanceOf(dockerNode.chain.address)

    const outcome = await requester.requester!.run(prepared)

    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error ?? outcome.receipt))
    assert.equal(outcome.provider?.toLowerCase(), dockerNode.chain.address.toLowerCase())
    assert.equal(new TextDecoder().decode(outcome.output).trim(), '9', 'the output is the file under /output')
    assert.ok(outcome.receipt?.status === 'ok' && outcome.receipt.exitCode === 0)
    // Billed in core-milliseconds of container run time: more than nothing, at most the limit.
    assert.ok(outcome.fuelUsed > 0n && outcome.fuelUsed <= 20_000n, `fuel ${outcome.fuelUsed}`)
    assert.equal(outcome.paid, outcome.fuelUsed * outcome.pricePerFuel!)
    assert.equal(outcome.paid + outcome.refunded, outcome.escrow)
    assert.equal(outcome.escrow, 20_000n * 3n * GWEI)
    const onChain = await admin.getJob(outcome.jobId)
    assert.equal(onChain.status, 'Finalized')
    assert.equal(onChain.fuelUsed, outcome.fuelUsed)
    assert.equal(await admin.balanceOf(dockerNode.chain.address), before + outcome.paid)

    const declined = wasmNode.provider!.jobs.get(outcome.jobId.toString())
    assert.equal(declined?.phase, 'declined')
    assert.match(declined?.reason ?? '', /runtime docker not offered/)
  })
})
