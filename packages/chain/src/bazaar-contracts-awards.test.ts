import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { parseEther } from 'viem'
import { type BazaarContracts, createBazaarContracts } from './bazaar-contracts.ts'
import { createChainClients } from './clients.ts'
import { type Deployment, deployBazaar } from './deploy.ts'
import { type EmbeddedChain, startEmbeddedChain } from './embedded-chain.ts'

describe('BazaarContracts.awardsSince', () => {
  let chain: EmbeddedChain
  let deployment: Deployment
  let requester: BazaarContracts
  const providers: BazaarContracts[] = []

  before(async () => {
    chain = await startEmbeddedChain({ accounts: 4 })
    const facade = async (index: number) =>
      createBazaarContracts({
        clients: await createChainClients({
          provider: chain.provider,
          privateKey: chain.accounts[index]!.privateKey,
          chainId: chain.chainId,
        }),
        deployment,
      })
    const adminClients = await createChainClients({
      provider: chain.provider,
      privateKey: chain.accounts[0]!.privateKey,
    })
    deployment = await deployBazaar(adminClients, {
      minStake: parseEther('1'),
      minCollateral: 1n,
      challengeWindow: 10,
    })
    const admin = createBazaarContracts({ clients: adminClients, deployment })
    requester = await facade(1)
    await admin.mint(requester.address, parseEther('10'))
    for (const index of [2, 3]) {
      const p = await facade(index)
      await admin.mint(p.address, parseEther('2'))
      await p.stakeWithPermit(parseEther('2'))
      providers.push(p)
    }
  })
  after(async () => {
    await chain?.close()
  })

  const openJob = async () => {
    const now = (await requester.clients.publicClient.getBlock()).timestamp
    return (
      await requester.createJobWithPermit({
        specHash: `0x${'22'.repeat(32)}`,
        maxPricePerFuel: 100n,
        maxFuel: 1_000n,
        bidDeadline: now + 60n,
        awardDeadline: now + 60n,
        commitWindow: 60n,
        revealWindow: 60n,
      })
    ).jobId
  }
  const awardTo = async (provider: BazaarContracts, jobId: bigint, pricePerFuel: bigint) => {
    const now = (await requester.clients.publicClient.getBlock()).timestamp
    const bid = await provider.signBid({ jobId, pricePerFuel, expiry: now + 60n })
    return requester.award(bid)
  }

  it('returns every award on the market with its block time, oldest first, in any scan range', async () => {
    const start = BigInt(deployment.deployedAtBlock)
    const first = await openJob()
    await openJob() // never awarded: not a clearing price
    const third = await openJob()
    const a = await awardTo(providers[0]!, first, 40n)
    const b = await awardTo(providers[1]!, third, 55n)
    const scan = await requester.awardsSince(start)
    assert.deepEqual(
      scan.awards.map((x) => [x.jobId, x.provider, x.pricePerFuel, x.blockNumber]),
      [
        [first, providers[0]!.address, 40n, a.blockNumber],
        [third, providers[1]!.address, 55n, b.blockNumber],
      ],
    )
    const block = await requester.clients.publicClient.getBlock({ blockNumber: b.blockNumber })
    assert.equal(scan.awards[1]!.timeSeconds, block.timestamp)
    assert.equal(scan.toBlock, await requester.clients.publicClient.getBlockNumber({ cacheTime: 0 }))
    // Chunked scans (a public RPC's getLogs cap) see the same awards.
    const chunked = await requester.awardsSince(start, { maxBlockRange: 2n })
    assert.deepEqual(chunked.awards, scan.awards)
    // Continuing from the cursor finds nothing new, and says where it stands.
    const next = await requester.awardsSince(scan.toBlock + 1n)
    assert.deepEqual(next, { awards: [], toBlock: scan.toBlock })
    // A later award is found from the cursor.
    const fourth = await openJob()
    await awardTo(providers[0]!, fourth, 41n)
    const later = await requester.awardsSince(scan.toBlock + 1n)
    assert.deepEqual(
      later.awards.map((x) => [x.jobId, x.pricePerFuel]),
      [[fourth, 41n]],
    )
  })
})
