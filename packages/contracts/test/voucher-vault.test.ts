import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import type { BazaarContracts } from '@bazaar/chain'
import { voucherVaultAbi } from '@bazaar/contracts'
import fc from 'fast-check'
import { type Address, type Hex, hashTypedData, keccak256, type LocalAccount, toHex, zeroAddress } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { assertRevert, bytes32, FAUCET, type Fixture, send, setupFixture } from './fixture.ts'

const THAW_DELAY = 3600n
const REVOKE_DELAY = 600n
const CLAIM_WINDOW = 1800n
const DISPUTE_TIMEOUT = 7200n
const VERIFIER_ROLE = keccak256(toHex('VERIFIER_ROLE'))
const PRICE = 1_000n

export const voucherTypes = {
  Voucher: [
    { name: 'requester', type: 'address' },
    { name: 'provider', type: 'address' },
    { name: 'paidThroughSequence', type: 'uint64' },
    { name: 'cumulativeAmount', type: 'uint256' },
    { name: 'jobsRoot', type: 'bytes32' },
  ],
} as const
export const awardTypes = {
  Award: [
    { name: 'jobId', type: 'uint256' },
    { name: 'requester', type: 'address' },
    { name: 'provider', type: 'address' },
    { name: 'sequence', type: 'uint64' },
    { name: 'pricePerFuel', type: 'uint256' },
    { name: 'maxFuel', type: 'uint64' },
    { name: 'specHash', type: 'bytes32' },
    { name: 'resultDeadline', type: 'uint64' },
    { name: 'claimDeadline', type: 'uint64' },
  ],
} as const

interface Voucher {
  requester: Address
  provider: Address
  paidThroughSequence: bigint
  cumulativeAmount: bigint
  jobsRoot: Hex
}
interface Award {
  jobId: bigint
  requester: Address
  provider: Address
  sequence: bigint
  pricePerFuel: bigint
  maxFuel: bigint
  specHash: Hex
  resultDeadline: bigint
  claimDeadline: bigint
}
interface Channel {
  balance: bigint
  collected: bigint
  paidThrough: bigint
  thawReadyAt: bigint
  thawAmount: bigint
}
interface ClaimView {
  requester: Address
  deadline: bigint
  status: number
  provider: Address
  sequence: bigint
  amount: bigint
  jobId: bigint
}
const PENDING = 1
const DISPUTED = 2
const PAID = 3
const REJECTED = 4

describe('VoucherVault', () => {
  let f: Fixture
  let vault: Address
  let snap: Hex

  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    f.deployer.clients.publicClient.readContract({
      address: vault,
      abi: voucherVaultAbi,
      functionName,
      args,
    } as never) as Promise<T>
  const call = (who: BazaarContracts, functionName: string, args: readonly unknown[] = []) =>
    send(who, { address: vault, abi: voucherVaultAbi, functionName, args } as never)
  const balance = (who: Address) => f.deployer.balanceOf(who)
  const channel = (requester: BazaarContracts, provider: Address = zeroAddress) =>
    read<Channel>('channelOf', [requester.address, provider])
  const domain = () => ({
    name: 'Bazaar VoucherVault',
    version: '1',
    chainId: f.chain.chainId,
    verifyingContract: vault,
  })

  /** Signs as a facade's account or as a bare key (a delegated signer). */
  const signer = (who: BazaarContracts | LocalAccount): LocalAccount =>
    'clients' in who ? who.clients.account : who
  async function voucher(
    by: BazaarContracts | LocalAccount,
    v: Partial<Voucher> & { cumulativeAmount: bigint; paidThroughSequence: bigint },
  ) {
    const message: Voucher = {
      requester: f.requester.address,
      provider: f.provider.address,
      jobsRoot: bytes32(`jobs ${v.paidThroughSequence}`),
      ...v,
    }
    const signature = await signer(by).signTypedData({
      domain: domain(),
      types: voucherTypes,
      primaryType: 'Voucher',
      message,
    })
    return { message, signature }
  }
  async function award(by: BazaarContracts | LocalAccount, a: Partial<Award> & { sequence: bigint }) {
    const now = await f.now()
    const message: Award = {
      jobId: 2n ** 255n + a.sequence,
      requester: f.requester.address,
      provider: f.provider.address,
      pricePerFuel: PRICE,
      maxFuel: 1_000n,
      specHash: bytes32('spec'),
      resultDeadline: now + 600n,
      claimDeadline: now + 86_400n,
      ...a,
    }
    const signature = await signer(by).signTypedData({
      domain: domain(),
      types: awardTypes,
      primaryType: 'Award',
      message,
    })
    return { message, signature }
  }
  type Signed = Awaited<ReturnType<typeof voucher>>
  const redeem = (who: BazaarContracts, signed: Signed[]) =>
    call(who, 'redeem', [signed.map((s) => s.message), signed.map((s) => s.signature)])
  async function fileClaim(who: BazaarContracts, signed: Awaited<ReturnType<typeof award>>, fuel: bigint) {
    await call(who, 'claim', [signed.message, signed.signature, fuel, bytes32('result')])
    return read<Hex>('claimIdOf', [
      signed.message.requester,
      signed.message.provider,
      signed.message.sequence,
    ])
  }
  const claimOf = (id: Hex) => read<ClaimView>('claimOf', [id])

  /** Vault conservation: its token balance is every balance plus every open claim lock. */
  async function assertBacked(requesters: BazaarContracts[], providers: Address[], openClaims: Hex[] = []) {
    let sum = 0n
    for (const r of requesters) {
      for (const p of [zeroAddress, ...providers]) sum += (await channel(r, p)).balance
    }
    for (const id of openClaims) {
      const c = await claimOf(id)
      if (c.status === PENDING || c.status === DISPUTED) sum += c.amount
    }
    assert.equal(await balance(vault), sum, 'vault balance == balances + open claims')
  }

  before(async () => {
    // Every deployment has a vault (deployBazaar); these delays make the windows testable.
    f = await setupFixture({
      deploy: {
        vault: {
          thawDelay: Number(THAW_DELAY),
          signerRevokeDelay: Number(REVOKE_DELAY),
          claimWindow: Number(CLAIM_WINDOW),
          disputeTimeout: Number(DISPUTE_TIMEOUT),
        },
      },
    })
    vault = f.deployment.vault
    for (const who of [f.requester, f.stranger]) await who.approve(vault, FAUCET)
    await call(f.deployer, 'grantRole', [VERIFIER_ROLE, f.verifier.address])
  })
  after(async () => {
    await f?.close()
  })
  beforeEach(async () => {
    snap = await f.snapshot()
  })
  afterEach(async () => {
    await f.revert(snap)
  })

  it('exposes its token, delays and the EIP-712 type hashes the nodes sign', async () => {
    assert.equal(await read<Address>('token'), f.deployment.token)
    assert.equal(await read<bigint>('thawDelay'), THAW_DELAY)
    assert.equal(await read<bigint>('signerRevokeDelay'), REVOKE_DELAY)
    assert.equal(await read<bigint>('claimWindow'), CLAIM_WINDOW)
    assert.equal(await read<bigint>('disputeTimeout'), DISPUTE_TIMEOUT)
    assert.equal(await read<Hex>('VERIFIER_ROLE'), VERIFIER_ROLE)
    const typeString = (types: Record<string, readonly { name: string; type: string }[]>, name: string) =>
      `${name}(${types[name]!.map((x) => `${x.type} ${x.name}`).join(',')})`
    assert.equal(await read<Hex>('VOUCHER_TYPEHASH'), keccak256(toHex(typeString(voucherTypes, 'Voucher'))))
    assert.equal(await read<Hex>('AWARD_TYPEHASH'), keccak256(toHex(typeString(awardTypes, 'Award'))))
  })

  describe('deposits', () => {
    it('escrows per provider and unassigned, assigns later, and takes a permit', async () => {
      const before = await balance(f.requester.address)
      await call(f.requester, 'deposit', [f.provider.address, 5_000n])
      await call(f.requester, 'deposit', [zeroAddress, 3_000n])
      await call(f.requester, 'assign', [f.provider2.address, 1_000n])
      assert.equal((await channel(f.requester, f.provider.address)).balance, 5_000n)
      assert.equal((await channel(f.requester, f.provider2.address)).balance, 1_000n)
      assert.equal((await channel(f.requester)).balance, 2_000n)
      assert.equal(await balance(f.requester.address), before - 8_000n)

      // The stranger never approved... it did in before(); revoke so only the permit pays.
      await f.stranger.approve(vault, 0n)
      const permit = await f.stranger.signPermit(vault, 700n, (await f.now()) + 3600n)
      await call(f.stranger, 'depositWithPermit', [
        f.provider.address,
        700n,
        permit.deadline,
        permit.v,
        permit.r,
        permit.s,
      ])
      assert.equal((await channel(f.stranger, f.provider.address)).balance, 700n)

      await assertRevert(call(f.requester, 'assign', [zeroAddress, 1n]), 'Vault__ZeroAddress')
      await assertRevert(call(f.requester, 'assign', [f.provider.address, 0n]), 'Vault__ZeroAmount')
      await assertRevert(call(f.requester, 'deposit', [f.provider.address, 0n]), 'Vault__ZeroAmount')
      await assertRevert(
        call(f.requester, 'assign', [f.provider.address, 2_001n]),
        'Vault__InsufficientBalance',
      )
      await assertBacked([f.requester, f.stranger], [f.provider.address, f.provider2.address])
    })
  })

  describe('redeem', () => {
    beforeEach(async () => {
      await call(f.requester, 'deposit', [f.provider.address, 1_000_000n])
    })

    it('pays the difference to what was collected: never twice, whether replayed, older or reordered', async () => {
      const v1 = await voucher(f.requester, { paidThroughSequence: 10n, cumulativeAmount: 10_000n })
      const v2 = await voucher(f.requester, { paidThroughSequence: 20n, cumulativeAmount: 25_000n })
      const v3 = await voucher(f.requester, { paidThroughSequence: 30n, cumulativeAmount: 31_000n })
      const start = await balance(f.provider.address)
      await redeem(f.provider, [v1])
      assert.equal(await balance(f.provider.address), start + 10_000n)
      await assertRevert(redeem(f.provider, [v1]), 'Vault__NothingToRedeem') // replayed
      // Reordered: the newest first, then the older one in the same batch pays nothing more.
      await redeem(f.provider, [v3, v2, v1])
      assert.equal(await balance(f.provider.address), start + 31_000n)
      await assertRevert(redeem(f.provider, [v2]), 'Vault__NothingToRedeem') // older
      const c = await channel(f.requester, f.provider.address)
      assert.equal(c.collected, 31_000n)
      assert.equal(c.paidThrough, 30n)
      assert.equal(c.balance, 1_000_000n - 31_000n)
      await assertBacked([f.requester], [f.provider.address])
    })

    it('redeems vouchers of several requesters in one transaction, and pays what the escrow holds', async () => {
      await call(f.stranger, 'deposit', [f.provider.address, 500n])
      const a = await voucher(f.requester, { paidThroughSequence: 5n, cumulativeAmount: 4_000n })
      const b = await voucher(f.stranger, {
        requester: f.stranger.address,
        paidThroughSequence: 3n,
        cumulativeAmount: 900n,
      })
      const start = await balance(f.provider.address)
      await redeem(f.provider, [a, b])
      // The stranger's escrow held 500 of the 900: paid 500, the rest stays due.
      assert.equal(await balance(f.provider.address), start + 4_500n)
      assert.equal((await channel(f.stranger, f.provider.address)).collected, 500n)
      await call(f.stranger, 'deposit', [f.provider.address, 1_000n])
      await redeem(f.provider, [b])
      assert.equal(await balance(f.provider.address), start + 4_900n)
      await assertBacked([f.requester, f.stranger], [f.provider.address])
    })

    it('refuses vouchers for another provider, forged signatures and mismatched lists', async () => {
      const v = await voucher(f.requester, { paidThroughSequence: 1n, cumulativeAmount: 100n })
      await assertRevert(redeem(f.provider2, [v]), 'Vault__NotProvider')
      const forged = await voucher(f.stranger, { paidThroughSequence: 1n, cumulativeAmount: 100n })
      await assertRevert(redeem(f.provider, [forged]), 'Vault__InvalidSignature')
      await assertRevert(call(f.provider, 'redeem', [[v.message], []]), 'Vault__LengthMismatch')
      // A signature over other terms does not transfer to a higher amount.
      await assertRevert(
        redeem(f.provider, [
          { message: { ...v.message, cumulativeAmount: 10_000n }, signature: v.signature },
        ]),
        'Vault__InvalidSignature',
      )
      assert.equal(
        await read<Hex>('voucherDigest', [v.message]),
        hashTypedData({ domain: domain(), types: voucherTypes, primaryType: 'Voucher', message: v.message }),
      )
    })
  })

  describe('thaw', () => {
    beforeEach(async () => {
      await call(f.requester, 'deposit', [f.provider.address, 10_000n])
    })

    it('announces a withdrawal, and a thawing requester cannot escape a voucher or claim signed before it ended', async () => {
      const v = await voucher(f.requester, { paidThroughSequence: 4n, cumulativeAmount: 3_000n })
      const a = await award(f.requester, { sequence: 5n })
      await call(f.requester, 'startThaw', [f.provider.address, 10_000n])
      const [amount, readyAt] = await read<[bigint, bigint]>('thawOf', [
        f.requester.address,
        f.provider.address,
      ])
      assert.equal(amount, 10_000n)
      assert.equal(readyAt, (await f.now()) + THAW_DELAY)
      await assertRevert(call(f.requester, 'withdraw', [f.provider.address]), 'Vault__ThawNotOver')
      // During the thaw the provider redeems and claims.
      await redeem(f.provider, [v])
      const claimId = await fileClaim(f.provider, a, 2n) // 2 x PRICE locked
      await f.advance(THAW_DELAY)
      const before = await balance(f.requester.address)
      await call(f.requester, 'withdraw', [f.provider.address])
      assert.equal(await balance(f.requester.address), before + 10_000n - 3_000n - 2n * PRICE)
      assert.equal((await channel(f.requester, f.provider.address)).balance, 0n)
      // The claim survives the withdrawal and pays once its window is over.
      await f.advance(CLAIM_WINDOW)
      const pBefore = await balance(f.provider.address)
      await call(f.stranger, 'finalizeClaim', [claimId])
      assert.equal(await balance(f.provider.address), pBefore + 2n * PRICE)
      await assertBacked([f.requester], [f.provider.address], [claimId])
    })

    it('can be cancelled, and withdraws nothing without an announcement', async () => {
      await assertRevert(call(f.requester, 'withdraw', [f.provider.address]), 'Vault__NoThaw')
      await assertRevert(call(f.requester, 'cancelThaw', [f.provider.address]), 'Vault__NoThaw')
      await assertRevert(call(f.requester, 'startThaw', [f.provider.address, 0n]), 'Vault__ZeroAmount')
      await assertRevert(
        call(f.requester, 'startThaw', [f.provider.address, 10_001n]),
        'Vault__InsufficientBalance',
      )
      await call(f.requester, 'startThaw', [f.provider.address, 4_000n])
      await call(f.requester, 'cancelThaw', [f.provider.address])
      await f.advance(THAW_DELAY)
      await assertRevert(call(f.requester, 'withdraw', [f.provider.address]), 'Vault__NoThaw')
      // The unassigned balance thaws the same way.
      await call(f.requester, 'deposit', [zeroAddress, 50n])
      await call(f.requester, 'startThaw', [zeroAddress, 50n])
      await f.advance(THAW_DELAY)
      const before = await balance(f.requester.address)
      await call(f.requester, 'withdraw', [zeroAddress])
      assert.equal(await balance(f.requester.address), before + 50n)
    })
  })

  describe('signing keys', () => {
    it('accepts a delegated key, keeps it through the revocation delay, then refuses its vouchers', async () => {
      await call(f.requester, 'deposit', [f.provider.address, 10_000n])
      const key = privateKeyToAccount(generatePrivateKey())
      assert.equal(await read<boolean>('isSigner', [f.requester.address, key.address]), false)
      await assertRevert(call(f.requester, 'revokeSigner', [key.address]), 'Vault__NotSigner')
      await assertRevert(call(f.requester, 'authorizeSigner', [zeroAddress]), 'Vault__ZeroAddress')
      await call(f.requester, 'authorizeSigner', [key.address])
      assert.equal(await read<boolean>('isSigner', [f.requester.address, key.address]), true)
      await redeem(f.provider, [await voucher(key, { paidThroughSequence: 1n, cumulativeAmount: 100n })])
      await call(f.requester, 'revokeSigner', [key.address])
      // Within the delay: still accepted (providers redeem what it signed).
      await redeem(f.provider, [await voucher(key, { paidThroughSequence: 2n, cumulativeAmount: 200n })])
      await f.advance(REVOKE_DELAY)
      assert.equal(await read<boolean>('isSigner', [f.requester.address, key.address]), false)
      const late = await voucher(key, { paidThroughSequence: 3n, cumulativeAmount: 300n })
      await assertRevert(redeem(f.provider, [late]), 'Vault__SignerRevoked')
      await assertRevert(
        fileClaim(f.provider, await award(key, { sequence: 4n }), 1n),
        'Vault__SignerRevoked',
      )
      // The requester's own key always signs.
      await redeem(f.provider, [
        await voucher(f.requester, { paidThroughSequence: 3n, cumulativeAmount: 300n }),
      ])
      assert.equal((await channel(f.requester, f.provider.address)).collected, 300n)
    })
  })

  describe('claims', () => {
    beforeEach(async () => {
      await call(f.requester, 'deposit', [f.provider.address, 1_000_000n])
    })

    it('a silent requester still pays through the claim, and a later voucher does not pay the job again', async () => {
      await redeem(f.provider, [
        await voucher(f.requester, { paidThroughSequence: 10n, cumulativeAmount: 10_000n }),
      ])
      const a = await award(f.requester, { sequence: 11n })
      const id = await fileClaim(f.provider, a, 300n)
      assert.equal((await claimOf(id)).status, PENDING)
      assert.equal((await claimOf(id)).jobId, a.message.jobId, 'the claim names the signed job')
      await assertRevert(call(f.provider, 'finalizeClaim', [id]), 'Vault__ChallengeWindowOpen')
      await f.advance(CLAIM_WINDOW)
      const before = await balance(f.provider.address)
      await call(f.stranger, 'finalizeClaim', [id])
      assert.equal(await balance(f.provider.address), before + 300n * PRICE)
      assert.equal((await claimOf(id)).status, PAID)
      await assertRevert(call(f.stranger, 'finalizeClaim', [id]), 'Vault__InvalidClaimStatus')
      await assertRevert(fileClaim(f.provider, a, 300n), 'Vault__ClaimExists')
      // The requester comes back: its voucher through job 12 includes job 11 (300 x PRICE) and job 12 (5 000).
      const cumulative = 10_000n + 300n * PRICE + 5_000n
      await redeem(f.provider, [
        await voucher(f.requester, { paidThroughSequence: 12n, cumulativeAmount: cumulative }),
      ])
      assert.equal(await balance(f.provider.address), before + 300n * PRICE + 5_000n)
      assert.equal((await channel(f.requester, f.provider.address)).collected, cumulative)
      await assertRevert(
        fileClaim(f.provider, await award(f.requester, { sequence: 12n }), 1n),
        'Vault__AlreadyCovered',
      )
      await assertBacked([f.requester], [f.provider.address], [id])
    })

    it('returns a pending claim to escrow when a redeemed voucher already paid the job', async () => {
      const id = await fileClaim(f.provider, await award(f.requester, { sequence: 1n }), 10n)
      await redeem(f.provider, [
        await voucher(f.requester, { paidThroughSequence: 1n, cumulativeAmount: 10n * PRICE }),
      ])
      await f.advance(CLAIM_WINDOW)
      const before = await balance(f.provider.address)
      await call(f.provider, 'finalizeClaim', [id])
      assert.equal(await balance(f.provider.address), before)
      assert.equal((await claimOf(id)).status, REJECTED)
      assert.equal((await channel(f.requester, f.provider.address)).balance, 1_000_000n - 10n * PRICE)
      await assertBacked([f.requester], [f.provider.address], [id])
    })

    it('refuses malformed claims', async () => {
      const now = await f.now()
      await assertRevert(
        fileClaim(f.provider2, await award(f.requester, { sequence: 1n }), 1n),
        'Vault__NotProvider',
      )
      await assertRevert(
        fileClaim(f.provider, await award(f.requester, { sequence: 1n, claimDeadline: now - 1n }), 1n),
        'Vault__ClaimDeadlinePassed',
      )
      await assertRevert(
        fileClaim(f.provider, await award(f.requester, { sequence: 1n }), 1_001n),
        'Vault__FuelAboveMax',
      )
      await assertRevert(
        fileClaim(f.provider, await award(f.requester, { sequence: 1n }), 0n),
        'Vault__ZeroAmount',
      )
      await assertRevert(
        fileClaim(f.provider, await award(f.stranger, { sequence: 1n }), 1n),
        'Vault__InvalidSignature',
      )
      await assertRevert(
        fileClaim(f.provider, await award(f.requester, { sequence: 1n, pricePerFuel: 10n ** 9n }), 1_000n),
        'Vault__InsufficientBalance',
      )
      const signed = await award(f.requester, { sequence: 1n })
      // The job id is signed: the award presented for another job does not verify.
      await assertRevert(
        fileClaim(
          f.provider,
          { ...signed, message: { ...signed.message, jobId: signed.message.jobId + 1n } },
          1n,
        ),
        'Vault__InvalidSignature',
      )
      assert.equal(
        await read<Hex>('awardDigest', [signed.message]),
        hashTypedData({ domain: domain(), types: awardTypes, primaryType: 'Award', message: signed.message }),
      )
    })

    it('a disputed wrong result pays nothing; an unsettled dispute returns to escrow after its timeout', async () => {
      const id = await fileClaim(f.provider, await award(f.requester, { sequence: 1n }), 100n)
      // Disputes go through a verifier (the court, which takes a bond), never straight to the vault.
      await assertRevert(
        call(f.requester, 'holdClaim', [id, f.requester.address]),
        'AccessControlUnauthorizedAccount',
      )
      await assertRevert(call(f.verifier, 'holdClaim', [id, f.stranger.address]), 'Vault__NotRequester')
      await call(f.verifier, 'holdClaim', [id, f.requester.address])
      assert.equal((await claimOf(id)).status, DISPUTED)
      await f.advance(CLAIM_WINDOW)
      await assertRevert(call(f.provider, 'finalizeClaim', [id]), 'Vault__InvalidClaimStatus')
      await assertRevert(call(f.stranger, 'settleClaim', [id, true]), 'AccessControlUnauthorizedAccount')
      const before = await balance(f.provider.address)
      await call(f.verifier, 'settleClaim', [id, false])
      assert.equal(await balance(f.provider.address), before)
      assert.equal((await channel(f.requester, f.provider.address)).balance, 1_000_000n)

      const id2 = await fileClaim(f.provider, await award(f.requester, { sequence: 2n }), 100n)
      await f.advance(CLAIM_WINDOW)
      await assertRevert(
        call(f.verifier, 'holdClaim', [id2, f.requester.address]),
        'Vault__ChallengeWindowOver',
      )

      const id3 = await fileClaim(f.provider, await award(f.requester, { sequence: 3n }), 100n)
      await call(f.verifier, 'holdClaim', [id3, f.requester.address])
      await assertRevert(call(f.stranger, 'expireDispute', [id3]), 'Vault__DisputeOpen')
      await f.advance(DISPUTE_TIMEOUT)
      await call(f.stranger, 'expireDispute', [id3])
      assert.equal((await claimOf(id3)).status, REJECTED)

      // A verifier can also find the result right and pay.
      const id4 = await fileClaim(f.provider, await award(f.requester, { sequence: 4n }), 100n)
      await call(f.verifier, 'holdClaim', [id4, f.requester.address])
      await call(f.verifier, 'settleClaim', [id4, true])
      assert.equal(await balance(f.provider.address), before + 100n * PRICE)
      await assertBacked([f.requester], [f.provider.address], [id, id2, id3, id4])
    })
  })

  it('keeps its books under random operation sequences', async () => {
    // Model: what each pair has signed (highest cumulative) and what claims paid; the chain must
    // keep vault balance == balances + open claims, collected == paid to the provider, and
    // collected <= highest signed cumulative + claims paid.
    const requesters = [f.requester, f.stranger]
    const providers = [f.provider, f.provider2]
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('deposit' as const),
        r: fc.nat(1),
        p: fc.nat(1),
        amount: fc.bigInt(1n, 50_000n),
      }),
      fc.record({
        kind: fc.constant('sign' as const),
        r: fc.nat(1),
        p: fc.nat(1),
        add: fc.bigInt(0n, 30_000n),
      }),
      fc.record({
        kind: fc.constant('redeem' as const),
        p: fc.nat(1),
        pick: fc.array(fc.nat(20), { maxLength: 3 }),
      }),
      fc.record({
        kind: fc.constant('claim' as const),
        r: fc.nat(1),
        p: fc.nat(1),
        fuel: fc.bigInt(1n, 5n),
      }),
      {
        arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(20), how: fc.nat(2) }),
        weight: 2,
      },
      fc.record({
        kind: fc.constant('thaw' as const),
        r: fc.nat(1),
        p: fc.nat(1),
        percent: fc.bigInt(1n, 120n),
      }),
      // Weighted up: a withdrawal needs its own pair's thaw and a long enough wait first.
      {
        arbitrary: fc.record({ kind: fc.constant('withdraw' as const), r: fc.nat(1), p: fc.nat(1) }),
        weight: 4,
      },
      fc.record({ kind: fc.constant('time' as const), seconds: fc.bigInt(1n, 8_000n) }),
    )
    /** Kinds of operation that went through at least once, so the sequences are not all refusals. */
    const succeeded = new Set<string>()
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 40, maxLength: 40 }), async (ops) => {
        const id = await f.snapshot()
        const key = (r: number, p: number) => `${r}:${p}`
        const signed = new Map<string, Signed[]>()
        const sequence = new Map<string, bigint>()
        const claimsPaid = new Map<string, bigint>()
        const claims: { id: Hex; r: number; p: number }[] = []
        const received = providers.map(() => 0n)
        const startBalances = await Promise.all(providers.map((p) => balance(p.address)))
        try {
          for (const o of ops) {
            try {
              if (o.kind === 'deposit') {
                await call(requesters[o.r]!, 'deposit', [providers[o.p]!.address, o.amount])
              } else if (o.kind === 'sign') {
                const k = key(o.r, o.p)
                const list = signed.get(k) ?? []
                const seq = (sequence.get(k) ?? 0n) + 1n
                sequence.set(k, seq)
                const last = list.at(-1)?.message.cumulativeAmount ?? 0n
                list.push(
                  await voucher(requesters[o.r]!, {
                    requester: requesters[o.r]!.address,
                    provider: providers[o.p]!.address,
                    paidThroughSequence: seq,
                    cumulativeAmount: last + o.add,
                  }),
                )
                signed.set(k, list)
              } else if (o.kind === 'redeem') {
                const pool = [0, 1].flatMap((r) => signed.get(key(r, o.p)) ?? [])
                if (pool.length === 0) continue
                await redeem(
                  providers[o.p]!,
                  o.pick.map((i) => pool[i % pool.length]!),
                )
              } else if (o.kind === 'claim') {
                const k = key(o.r, o.p)
                const seq = (sequence.get(k) ?? 0n) + 1n
                sequence.set(k, seq)
                const a = await award(requesters[o.r]!, {
                  requester: requesters[o.r]!.address,
                  provider: providers[o.p]!.address,
                  sequence: seq,
                })
                claims.push({ id: await fileClaim(providers[o.p]!, a, o.fuel), r: o.r, p: o.p })
              } else if (o.kind === 'settle') {
                if (claims.length === 0) continue
                const c = claims[o.pick % claims.length]!
                const before = await claimOf(c.id)
                if (o.how === 0) await call(f.stranger, 'finalizeClaim', [c.id])
                else if (o.how === 1) await call(f.verifier, 'holdClaim', [c.id, requesters[c.r]!.address])
                else await call(f.verifier, 'settleClaim', [c.id, o.pick % 2 === 0])
                const after = await claimOf(c.id)
                if (after.status === PAID && before.status !== PAID) {
                  claimsPaid.set(key(c.r, c.p), (claimsPaid.get(key(c.r, c.p)) ?? 0n) + after.amount)
                }
              } else if (o.kind === 'thaw') {
                // A share of the balance (above 100%: refused), so most thaws are valid.
                const held = (await channel(requesters[o.r]!, providers[o.p]!.address)).balance
                await call(requesters[o.r]!, 'startThaw', [
                  providers[o.p]!.address,
                  (held * o.percent) / 100n,
                ])
              } else if (o.kind === 'withdraw') {
                await call(requesters[o.r]!, 'withdraw', [providers[o.p]!.address])
              } else {
                await f.advance(o.seconds)
              }
              succeeded.add(o.kind)
            } catch (err) {
              // A refused operation must be a named vault error (or the verifier role check).
              const name = (err as { errorName?: string }).errorName ?? ''
              assert.match(name, /^Vault__|^AccessControlUnauthorizedAccount$/, String(err))
            }
            await assertBacked(
              requesters,
              providers.map((p) => p.address),
              claims.map((c) => c.id),
            )
          }
          for (const [pi, p] of providers.entries()) {
            received[pi] = (await balance(p.address)) - startBalances[pi]!
            let collected = 0n
            for (const [ri, r] of requesters.entries()) {
              const c = await channel(r, p.address)
              const k = key(ri, pi)
              const maxSigned = signed.get(k)?.at(-1)?.message.cumulativeAmount ?? 0n
              assert.ok(
                c.collected <= maxSigned + (claimsPaid.get(k) ?? 0n),
                'collected within what was signed',
              )
              collected += c.collected
            }
            assert.equal(received[pi], collected, 'the provider received exactly what was collected')
          }
        } finally {
          await f.revert(id)
        }
      }),
      { numRuns: 20, seed: 9 },
    )
    assert.deepEqual([...succeeded].sort(), [
      'claim',
      'deposit',
      'redeem',
      'settle',
      'sign',
      'thaw',
      'time',
      'withdraw',
    ])
  })
})
