import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { custom, HttpRequestError, parseEther } from 'viem'
import { createBazaarContracts } from './bazaar-contracts.ts'
import { ChainError } from './chain-error.ts'
import { isChainUnreachable } from './chain-outage.ts'
import { createChainClients } from './clients.ts'
import { type Deployment, deployBazaar } from './deploy.ts'
import { type EmbeddedChain, startEmbeddedChain } from './embedded-chain.ts'

/**
 * Writes through an RPC outage, on the embedded EVM behind a transport that loses requests or
 * answers on cue: the facade retries what never reached the chain and, once a signed
 * transaction left, only ever sends those same bytes again, so an outage never doubles a write.
 */
describe('writes through an RPC outage', () => {
  let chain: EmbeddedChain
  let deployment: Deployment
  /** Decides, per request, whether the "network" drops it: 'before' (never reaches the chain) or 'after' (the answer is lost). */
  let fault: (method: string) => 'before' | 'after' | undefined = () => undefined
  const seen: string[] = []

  const unreachable = () => new HttpRequestError({ url: 'http://127.0.0.1:1', details: 'socket hang up' })
  const facade = async (outagePausesMs: readonly number[]) => {
    const clients = await createChainClients({
      chainId: chain.chainId,
      privateKey: chain.accounts[0]!.privateKey,
      transport: custom(
        {
          async request(args: { method: string; params?: unknown }) {
            seen.push(args.method)
            const when = fault(args.method)
            if (when === 'before') throw unreachable()
            const answer = await chain.provider.request(args)
            if (when === 'after') throw unreachable()
            return answer
          },
        },
        { retryCount: 0 },
      ),
    })
    return createBazaarContracts({ clients, deployment, outagePausesMs })
  }

  before(async () => {
    chain = await startEmbeddedChain({ accounts: 2 })
    const clients = await createChainClients({
      provider: chain.provider,
      privateKey: chain.accounts[0]!.privateKey,
    })
    deployment = await deployBazaar(clients, {
      minStake: parseEther('1'),
      minCollateral: 1n,
      challengeWindow: 10,
    })
  })
  after(async () => {
    await chain?.close()
  })

  const nonce = async () =>
    (
      await createChainClients({ provider: chain.provider, privateKey: chain.accounts[0]!.privateKey })
    ).publicClient.getTransactionCount({ address: chain.accounts[0]!.address })

  it('a send whose answer was lost is sent again as the same transaction: mined once', async () => {
    const contracts = await facade([5, 5, 5])
    const to = chain.accounts[1]!.address
    const [balanceBefore, nonceBefore] = [await contracts.balanceOf(to), await nonce()]
    let lost = 0
    fault = (method) => (method === 'eth_sendRawTransaction' && lost++ === 0 ? 'after' : undefined)
    seen.length = 0
    const result = await contracts.mint(to, 7n)
    fault = () => undefined
    assert.equal(
      seen.filter((m) => m === 'eth_sendRawTransaction').length,
      2,
      'the same bytes were sent twice',
    )
    assert.equal(await nonce(), nonceBefore + 1, 'one transaction mined')
    assert.equal(await contracts.balanceOf(to), balanceBefore + 7n, 'minted once')
    const tx = await contracts.clients.publicClient.getTransaction({ hash: result.hash })
    assert.equal(tx.nonce, nonceBefore)
  })

  it('an endpoint refusing before anything was sent is tried again until it answers', async () => {
    const contracts = await facade([5, 5, 5])
    const to = chain.accounts[1]!.address
    const balanceBefore = await contracts.balanceOf(to)
    let refused = 0
    fault = (method) => (method === 'eth_estimateGas' && refused++ < 2 ? 'before' : undefined)
    await contracts.mint(to, 3n)
    fault = () => undefined
    assert.equal(refused, 3)
    assert.equal(await contracts.balanceOf(to), balanceBefore + 3n)
  })

  it('a lost receipt is looked up again, not resent', async () => {
    const contracts = await facade([5, 5, 5])
    const to = chain.accounts[1]!.address
    const nonceBefore = await nonce()
    let lost = 0
    fault = (method) => (method === 'eth_getTransactionReceipt' && lost++ < 2 ? 'before' : undefined)
    seen.length = 0
    await contracts.mint(to, 1n)
    fault = () => undefined
    assert.equal(seen.filter((m) => m === 'eth_sendRawTransaction').length, 1)
    assert.equal(await nonce(), nonceBefore + 1)
  })

  it('an endpoint down for good ends the write with a typed error once the pauses are spent', async () => {
    const contracts = await facade([5, 5])
    const nonceBefore = await nonce()
    fault = () => 'before'
    const err = await contracts.mint(chain.accounts[1]!.address, 1n).then(
      () => assert.fail('the write should fail'),
      (e: unknown) => e,
    )
    fault = () => undefined
    assert.ok(err instanceof ChainError, String(err))
    assert.ok(isChainUnreachable(err))
    assert.equal(await nonce(), nonceBefore, 'nothing mined')
  })

  it('a send that never gets an answer fails typed, naming the hash that may still be mined', async () => {
    const contracts = await facade([5, 5])
    fault = (method) => (method === 'eth_sendRawTransaction' ? 'before' : undefined)
    const err = await contracts.mint(chain.accounts[1]!.address, 1n).then(
      () => assert.fail('the write should fail'),
      (e: unknown) => e,
    )
    fault = () => undefined
    assert.ok(err instanceof ChainError, String(err))
    assert.match(err.message, /could not be sent/)
    assert.ok(
      !isChainUnreachable(err),
      'not retried from the start by a caller: an earlier try may have landed',
    )
    assert.match(String(err.hint), /check the hash/)
  })

  it('a revert is not an outage: thrown at once', async () => {
    const contracts = await facade([5, 5])
    seen.length = 0
    await assert.rejects(contracts.finalize(999n), ChainError)
    assert.equal(seen.filter((m) => m === 'eth_estimateGas').length, 1)
  })
})
