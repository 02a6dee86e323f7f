import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createPublicClient, custom, getAddress, parseEther } from 'viem'
import { devAccounts, type EmbeddedChain, startEmbeddedChain } from './embedded-chain.ts'

describe('startEmbeddedChain', () => {
  let chain: EmbeddedChain

  before(async () => {
    chain = await startEmbeddedChain({ accounts: 3, balanceEth: 5n, chainId: 1337 })
  })
  after(async () => {
    await chain?.close()
  })

  it('funds deterministic Hardhat test accounts', async () => {
    assert.equal(chain.accounts.length, 3)
    assert.equal(chain.accounts[0]!.address, getAddress('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266'))
    assert.equal(
      chain.accounts[0]!.privateKey,
      '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
    )
    assert.deepEqual(devAccounts(3), chain.accounts)
    const client = createPublicClient({ transport: custom(chain.provider) })
    assert.equal(await client.getChainId(), 1337)
    for (const { address } of chain.accounts)
      assert.equal(await client.getBalance({ address }), parseEther('5'))
  })

  it('advances time and mines a block', async () => {
    const client = createPublicClient({ transport: custom(chain.provider), cacheTime: 0 })
    const blockBefore = await client.getBlockNumber()
    const before = await chain.latestTimestamp()
    await chain.increaseTime(3600)
    assert.ok((await chain.latestTimestamp()) >= before + 3600n)
    assert.equal(await client.getBlockNumber(), blockBefore + 1n)
  })
})
