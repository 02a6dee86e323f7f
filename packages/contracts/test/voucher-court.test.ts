/**
 * The court as judge of disputed voucher claims, through the chain clients on a `deployBazaar`
 * deployment (which wires the court into the vault and the registry): a wrong claim pays nothing
 * and is slashed, an honest claim disputed anyway is paid and the requester's bond lost. Also
 * reports the gas of a dispute and of its resolution.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import {
  createVerificationCourt,
  createVoucherVault,
  resultCommitment,
  type VerificationCourt,
  type VoucherVault,
} from '@bazaar/chain'
import { verificationCourtAbi } from '@bazaar/contracts'
import type { VoucherAward } from '@bazaar/protocol'
import { type Address, type Hex, keccak256, toHex } from 'viem'
import {
  assertConserved,
  assertRevert,
  bytes32,
  FAUCET,
  type Fixture,
  MIN_COLLATERAL,
  send,
  setupFixture,
} from './fixture.ts'

const PRICE = 10n ** 16n
const FUEL = 900n
const AMOUNT = FUEL * PRICE
const ESCROW = 100n * 10n ** 18n
/** defaultCourtConfig(MIN_COLLATERAL): the requester's bond and each right referee's fee. */
const BOND = MIN_COLLATERAL
const FEE = MIN_COLLATERAL / 10n
const RIGHT = bytes32('right receipt')
const WRONG = bytes32('wrong receipt')

describe('VerificationCourt judging voucher claims', () => {
  let f: Fixture
  let snap: Hex
  let requesterCourt: VerificationCourt
  let requesterVault: VoucherVault
  let providerVault: VoucherVault
  let refereeCourts: VerificationCourt[]
  let sequence = 0n

  before(async () => {
    f = await setupFixture({ extraProviders: 3 })
    requesterCourt = createVerificationCourt(f.requester, f.deployment.court)
    requesterVault = createVoucherVault(f.requester, f.deployment.vault)
    providerVault = createVoucherVault(f.provider, f.deployment.vault)
    refereeCourts = f.extra.map((x) => createVerificationCourt(x, f.deployment.court))
    for (const [i, r] of refereeCourts.entries()) {
      await f.extra[i]!.approve(f.deployment.court, FAUCET)
      await r.joinPool()
    }
    await f.requester.approve(f.deployment.vault, FAUCET)
    await f.requester.approve(f.deployment.court, FAUCET)
    await requesterVault.deposit(f.provider.address, ESCROW)
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

  async function claim(resultHash: Hex): Promise<Hex> {
    const now = await f.now()
    sequence += 1n
    const award: VoucherAward = {
      jobId: 2n ** 255n + sequence,
      requester: f.requester.address,
      provider: f.provider.address,
      sequence,
      pricePerFuel: PRICE,
      maxFuel: 1_000n,
      specHash: bytes32('voucher spec'),
      resultDeadline: now + 600n,
      claimDeadline: now + 86_400n,
    }
    const signature = await requesterVault.signAward(award)
    return (await providerVault.claim({ award, signature, fuelUsed: FUEL, resultHash })).claimId
  }

  /** Draws, has every referee commit and reveal `answer`, resolves; returns the resolution gas. */
  async function judge(
    disputeId: bigint,
    answer: Hex,
  ): Promise<{ gas: bigint; referees: readonly Address[] }> {
    const { referees } = await requesterCourt.drawReferees(disputeId)
    assert.equal(referees.length, 3)
    const salts = new Map<Address, Hex>()
    for (const referee of referees) {
      const court = refereeCourts[f.extra.findIndex((x) => x.address.toLowerCase() === referee.toLowerCase())]
      assert.ok(court, 'drawn from the pool')
      const salt = keccak256(toHex(`salt ${disputeId} ${referee}`))
      salts.set(referee, salt)
      await court.commitVerdict(
        disputeId,
        resultCommitment({ resultHash: answer, fuelUsed: FUEL, salt, provider: referee }),
      )
    }
    for (const referee of referees) {
      const court =
        refereeCourts[f.extra.findIndex((x) => x.address.toLowerCase() === referee.toLowerCase())]!
      await court.revealVerdict({ disputeId, resultHash: answer, fuel: FUEL, salt: salts.get(referee)! })
    }
    const resolved = await requesterCourt.resolveDispute(disputeId)
    return { gas: resolved.gasUsed, referees }
  }

  it('is wired by deployBazaar', async () => {
    assert.equal((await requesterCourt.voucherVault()).toLowerCase(), f.deployment.vault.toLowerCase())
    // Set once: the deployment already did.
    await assertRevert(
      send(f.deployer, {
        address: f.deployment.court,
        abi: verificationCourtAbi,
        functionName: 'setVoucherVault',
        args: [f.deployment.vault],
      }),
      'Court__InvalidConfig',
    )
  })

  it('a disputed wrong claim pays nothing and the provider is slashed', async (t) => {
    const id = await claim(WRONG)
    await assertRevert(
      createVerificationCourt(f.stranger, f.deployment.court).disputeVoucherClaim(id),
      'Vault__NotRequester',
    )
    const requesterBefore = await f.requester.balanceOf(f.requester.address)
    const providerBefore = await f.provider.balanceOf(f.provider.address)
    const stakeBefore = (await f.provider.reputationOf(f.provider.address)).stake
    const disputed = await requesterCourt.disputeVoucherClaim(id)
    assert.equal((await requesterVault.claimOf(id)).status, 'Disputed')
    const c = await requesterCourt.getCase(disputed.caseId)
    assert.equal(c.kind, 'VoucherClaim')
    assert.equal(c.claimId, id)
    assert.equal(c.claimedResult, WRONG)
    assert.equal(c.claimedFuel, FUEL)
    const { gas, referees } = await judge(disputed.disputeId, RIGHT)
    t.diagnostic(`gas: disputeVoucherClaim ${disputed.gasUsed}, resolveDispute (wrong claim, slash) ${gas}`)
    assert.equal((await requesterVault.claimOf(id)).status, 'Rejected')
    assert.equal((await requesterVault.channelOf(f.requester.address, f.provider.address)).balance, ESCROW)
    assert.equal(await f.provider.balanceOf(f.provider.address), providerBefore, 'nothing paid')
    assert.equal((await f.provider.reputationOf(f.provider.address)).stake, stakeBefore - AMOUNT, 'slashed')
    assert.equal(
      await f.requester.balanceOf(f.requester.address),
      requesterBefore + AMOUNT - 3n * FEE,
      'bond back, plus the slash less the referees fees',
    )
    assert.equal((await requesterCourt.getCase(disputed.caseId)).status, 'Settled')
    assert.equal(referees.length, 3)
    await assertConserved(f, [f.deployment.court, f.deployment.vault])
  })

  it('an honest claim disputed anyway is paid and the requester loses its bond', async (t) => {
    const id = await claim(RIGHT)
    const requesterBefore = await f.requester.balanceOf(f.requester.address)
    const providerBefore = await f.provider.balanceOf(f.provider.address)
    const disputed = await requesterCourt.disputeVoucherClaim(id)
    const { gas } = await judge(disputed.disputeId, RIGHT)
    t.diagnostic(`gas: resolveDispute (claim upheld) ${gas}`)
    assert.equal((await requesterVault.claimOf(id)).status, 'Paid')
    assert.equal(await f.requester.balanceOf(f.requester.address), requesterBefore - BOND)
    assert.equal(await f.provider.balanceOf(f.provider.address), providerBefore + AMOUNT + BOND - 3n * FEE)
    await assertConserved(f, [f.deployment.court, f.deployment.vault])
  })

  it('refuses a dispute outside the window, and a dispute nobody judges expires to escrow', async () => {
    const late = await claim(RIGHT)
    await f.advance((await requesterVault.delays()).claimWindow)
    await assertRevert(requesterCourt.disputeVoucherClaim(late), 'Vault__ChallengeWindowOver')
    const id = await claim(RIGHT)
    await requesterCourt.disputeVoucherClaim(id)
    await assertRevert(requesterVault.expireDispute(id), 'Vault__DisputeOpen')
    await f.advance((await requesterVault.delays()).disputeTimeout)
    await requesterVault.expireDispute(id)
    assert.equal((await requesterVault.claimOf(id)).status, 'Rejected')
    await assertConserved(f, [f.deployment.court, f.deployment.vault])
  })
})
