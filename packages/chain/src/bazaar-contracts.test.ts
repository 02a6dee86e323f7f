import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { bidTypes, marketDomain } from '@bazaar/protocol'
import { type Address, parseEther, recoverTypedDataAddress } from 'viem'
import { type BazaarContracts, createBazaarContracts } from './bazaar-contracts.ts'
import { ChainError } from './chain-error.ts'
import { createChainClients } from './clients.ts'
import { type Deployment, deployBazaar } from './deploy.ts'
import { type EmbeddedChain, startEmbeddedChain } from './embedded-chain.ts'
import { signBid } from './sign-bid.ts'

describe('BazaarContracts', () => {
  let chain: EmbeddedChain
  let deployment: Deployment
  let owner: BazaarContracts

  const facadeFor = async (index: number) => {
    const clients = await createChainClients({
      provider: chain.provider,
      privateKey: chain.accounts[index]!.privateKey,
      chainId: chain.chainId,
    })
    return createBazaarContracts({ clients, deployment })
  }

  before(async () => {
    chain = await startEmbeddedChain({ accounts: 3 })
    const clients = await createChainClients({
      provider: chain.provider,
      privateKey: chain.accounts[0]!.privateKey,
    })
    deployment = await deployBazaar(clients, {
      minStake: parseEther('1'),
      minCollateral: 1n,
      challengeWindow: 10,
    })
    owner = createBazaarContracts({ clients, deployment })
  })
  after(async () => {
    await chain?.close()
  })

  it('serializes concurrent writes of one signer across facades (no nonce collisions)', async () => {
    const second = await facadeFor(0)
    const to = chain.accounts[1]!.address as Address
    const before = await owner.balanceOf(to)
    const writes = Array.from({ length: 20 }, (_, i) => (i % 2 ? owner : second).mint(to, 1n))
    const results = await Promise.all(writes)
    assert.equal(new Set(results.map((r) => r.hash)).size, 20)
    for (const r of results) assert.ok(r.gasUsed > 0n)
    assert.equal(await owner.balanceOf(to), before + 20n)
  })

  it('sends with gas headroom over the estimate, so state moving before inclusion cannot starve it', async () => {
    const { hash, gasUsed } = await owner.mint(owner.address, 1n)
    const tx = await owner.clients.publicClient.getTransaction({ hash })
    assert.ok(tx.gas >= gasUsed + gasUsed / 5n, `limit ${tx.gas} for ${gasUsed} used`)
  })

  it('keeps the queue going after a failed write', async () => {
    const [failed, ok] = await Promise.allSettled([owner.cancelJob(1n), owner.mint(owner.address, 1n)])
    assert.equal(failed.status, 'rejected')
    assert.equal(ok.status, 'fulfilled')
  })

  it('signs bids that recover to the provider, from an account or a wallet client', async () => {
    const provider = await facadeFor(2)
    const bid = { jobId: 3n, provider: provider.address, pricePerFuel: 7n, expiry: 1_000n }
    const domain = marketDomain(chain.chainId, deployment.market)
    const fromAccount = await signBid(provider.clients.account, domain, bid)
    const fromWallet = await signBid(provider.clients.walletClient, domain, bid)
    const fromFacade = await provider.signBid({ jobId: 3n, pricePerFuel: 7n, expiry: 1_000n })
    assert.equal(fromAccount.signature, fromWallet.signature)
    assert.equal(fromFacade.signature, fromAccount.signature)
    const signer = await recoverTypedDataAddress({
      domain,
      types: bidTypes,
      primaryType: 'Bid',
      message: bid,
      signature: fromAccount.signature,
    })
    assert.equal(signer, provider.address)
  })

  it('funds concurrent jobs by permit without permit-nonce races', async () => {
    const requester = await facadeFor(1)
    await owner.mint(requester.address, 1_000_000n)
    const block = await requester.clients.publicClient.getBlock()
    const terms = {
      specHash: `0x${'11'.repeat(32)}`,
      maxPricePerFuel: 10n,
      maxFuel: 1_000n,
      bidDeadline: block.timestamp + 30n,
      awardDeadline: block.timestamp + 60n,
      commitWindow: 60n,
      revealWindow: 60n,
    } as const
    const before = await requester.balanceOf(requester.address)
    const created = await Promise.all(Array.from({ length: 5 }, () => requester.createJobWithPermit(terms)))
    assert.equal(new Set(created.map((c) => c.jobId)).size, 5)
    assert.equal(await requester.balanceOf(requester.address), before - 5n * 10_000n)
    for (const { jobId } of created) assert.equal((await requester.getJob(jobId)).status, 'Open')
  })

  it('reads reputation, stake accounts and registry parameters', async () => {
    const provider = await facadeFor(2)
    await owner.mint(provider.address, parseEther('2'))
    await provider.stakeWithPermit(parseEther('2'))
    assert.equal(await provider.isEligible(provider.address), true)
    const account = await provider.accountOf(provider.address)
    assert.equal(account.staked, parseEther('2'))
    const rep = await provider.reputationOf(provider.address)
    assert.equal(rep.completed, 0n)
    assert.equal(rep.stake, parseEther('2'))
    assert.equal(rep.score, 0n, 'no track record yet')
    assert.equal((await provider.registryParameters()).minStake, parseEther('1'))
  })

  it('wraps non-revert failures in ChainError too', async () => {
    const poor = await createChainClients({
      provider: chain.provider,
      privateKey: `0x${'42'.repeat(32)}`,
      chainId: chain.chainId,
    })
    const facade = createBazaarContracts({ clients: poor, deployment })
    await assert.rejects(facade.approve(deployment.market, 1n), (err: unknown) => {
      assert.ok(err instanceof ChainError)
      assert.equal(err.name, 'ChainError')
      assert.equal(err.errorName, undefined)
      assert.match(err.message, /^ComputeToken\.approve failed/)
      return true
    })
  })
})
