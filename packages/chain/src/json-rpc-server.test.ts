import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { parseEther, toHex } from 'viem'
import { createBazaarContracts } from './bazaar-contracts.ts'
import { ChainError } from './chain-error.ts'
import { createChainClients } from './clients.ts'
import { deployBazaar } from './deploy.ts'
import { type EmbeddedChain, startEmbeddedChain } from './embedded-chain.ts'
import { type JsonRpcServer, serveJsonRpc } from './json-rpc-server.ts'

describe('serveJsonRpc + createChainClients({ rpcUrl })', () => {
  let chain: EmbeddedChain
  let server: JsonRpcServer

  before(async () => {
    chain = await startEmbeddedChain({ accounts: 2 })
    server = await serveJsonRpc(chain.provider)
  })
  after(async () => {
    await server?.close()
    await chain?.close()
  })

  it('answers single and batch JSON-RPC requests', async () => {
    const post = async (body: unknown) =>
      (await fetch(server.url, { method: 'POST', body: JSON.stringify(body) })).json() as Promise<unknown>
    assert.deepEqual(await post({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }), {
      jsonrpc: '2.0',
      id: 1,
      result: toHex(chain.chainId),
    })
    const batch = (await post([
      { jsonrpc: '2.0', id: 'a', method: 'eth_chainId' },
      { jsonrpc: '2.0', id: 'b', method: 'no_such_method' },
    ])) as { id: string; result?: unknown; error?: { code: number } }[]
    assert.equal(batch[0]!.result, toHex(chain.chainId))
    assert.ok(batch[1]!.error)
  })

  it('deploys, writes and decodes custom errors over HTTP', async () => {
    const [owner, other] = chain.accounts
    const clients = await createChainClients({
      rpcUrl: server.url,
      privateKey: owner!.privateKey,
      pollingInterval: 50,
    })
    assert.equal(clients.chainId, chain.chainId)
    const deployment = await deployBazaar(clients, {
      minStake: parseEther('1'),
      minCollateral: 0n,
      challengeWindow: 60,
    })
    assert.equal(deployment.chainId, chain.chainId)
    assert.deepEqual(JSON.parse(JSON.stringify(deployment)), deployment)
    const bazaar = createBazaarContracts({ clients, deployment })
    await bazaar.mint(other!.address, 5n)
    assert.equal(await bazaar.balanceOf(other!.address), 5n)
    await assert.rejects(bazaar.cancelJob(42n), (err: unknown) => {
      assert.ok(err instanceof ChainError)
      assert.equal(err.errorName, 'JobMarket__JobNotFound')
      assert.deepEqual(err.errorArgs, [42n])
      assert.equal(err.details.errorName, 'JobMarket__JobNotFound')
      return true
    })
  })
})
