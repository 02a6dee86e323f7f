import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { computeTokenAbi } from '@bazaar/contracts'
import { assertRevert, type Fixture, send, setupFixture } from './fixture.ts'

describe('ComputeToken', () => {
  let f: Fixture

  before(async () => {
    f = await setupFixture()
  })
  after(async () => {
    await f?.close()
  })

  const token = () => ({ address: f.deployment.token, abi: computeTokenAbi }) as const

  it('is BZR with 18 decimals, minted only by the owner', async () => {
    const read = f.stranger.clients.publicClient
    assert.equal(await read.readContract({ ...token(), functionName: 'symbol' }), 'BZR')
    assert.equal(await read.readContract({ ...token(), functionName: 'decimals' }), 18)
    assert.equal(await read.readContract({ ...token(), functionName: 'owner' }), f.deployer.address)
    await assertRevert(f.stranger.mint(f.stranger.address, 1n), 'OwnableUnauthorizedAccount')
    const before = await f.stranger.totalSupply()
    await f.deployer.mint(f.stranger.address, 5n)
    assert.equal(await f.stranger.totalSupply(), before + 5n)
  })

  it('accepts an EIP-2612 permit once, from anyone, and refuses stale or forged ones', async () => {
    const value = 1234n
    const deadline = (await f.now()) + 60n
    const permit = await f.requester.signPermit(f.stranger.address, value, deadline)
    const args = [
      f.requester.address,
      f.stranger.address,
      value,
      deadline,
      permit.v,
      permit.r,
      permit.s,
    ] as const
    // a forged owner does not recover
    await assertRevert(
      send(f.stranger, {
        ...token(),
        functionName: 'permit',
        args: [f.provider.address, f.stranger.address, value, deadline, permit.v, permit.r, permit.s],
      }),
      'ERC2612InvalidSigner',
    )
    await send(f.stranger, { ...token(), functionName: 'permit', args })
    const read = f.stranger.clients.publicClient
    assert.equal(
      await read.readContract({
        ...token(),
        functionName: 'allowance',
        args: [f.requester.address, f.stranger.address],
      }),
      value,
    )
    assert.equal(
      await read.readContract({ ...token(), functionName: 'nonces', args: [f.requester.address] }),
      1n,
    )
    // replay: the nonce moved on
    await assertRevert(send(f.stranger, { ...token(), functionName: 'permit', args }), 'ERC2612InvalidSigner')
    const late = await f.requester.signPermit(f.stranger.address, value, (await f.now()) + 10n)
    await f.advance(11)
    await assertRevert(
      send(f.stranger, {
        ...token(),
        functionName: 'permit',
        args: [f.requester.address, f.stranger.address, value, late.deadline, late.v, late.r, late.s],
      }),
      'ERC2612ExpiredSignature',
    )
  })
})
