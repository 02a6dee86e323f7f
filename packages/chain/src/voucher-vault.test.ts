import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Hex, parseEther, zeroHash } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { type BazaarContracts, createBazaarContracts } from './bazaar-contracts.ts'
import { ChainError } from './chain-error.ts'
import { createChainClients } from './clients.ts'
import { type Deployment, deployBazaar } from './deploy.ts'
import { type EmbeddedChain, startEmbeddedChain } from './embedded-chain.ts'
import { createVoucherVault, type VoucherVault } from './voucher-vault.ts'

describe('VoucherVault client', () => {
  let chain: EmbeddedChain
  let deployment: Deployment
  let facades: BazaarContracts[]
  let vaults: VoucherVault[]

  before(async () => {
    chain = await startEmbeddedChain({ accounts: 4 })
    facades = []
    for (const [i, account] of chain.accounts.entries()) {
      const clients = await createChainClients({ provider: chain.provider, privateKey: account.privateKey })
      if (i === 0) {
        deployment = await deployBazaar(clients, {
          minStake: parseEther('10'),
          minCollateral: parseEther('1'),
          challengeWindow: 60,
          vault: { thawDelay: 600, signerRevokeDelay: 300, claimWindow: 100, disputeTimeout: 1000 },
        })
      }
      facades.push(createBazaarContracts({ clients, deployment }))
    }
    vaults = facades.map((f) => createVoucherVault(f, deployment.vault))
    await facades[0]!.mint(facades[1]!.address, parseEther('100'))
  })
  after(async () => {
    await chain?.close()
  })

  it('deposits by permit, signs and redeems vouchers, and recovers their signers', async () => {
    const [, requester, provider] = vaults as [VoucherVault, VoucherVault, VoucherVault]
    await requester.depositWithPermit(provider.account, 1_000_000n)
    assert.equal((await requester.channelOf(requester.account, provider.account)).balance, 1_000_000n)
    const delays = await requester.delays()
    assert.deepEqual(delays, {
      thawDelay: 600n,
      signerRevokeDelay: 300n,
      claimWindow: 100n,
      disputeTimeout: 1000n,
    })
    const voucher = {
      requester: requester.account,
      provider: provider.account,
      paidThroughSequence: 3n,
      cumulativeAmount: 30_000n,
      jobsRoot: zeroHash,
    }
    const signature = await requester.signVoucher(voucher)
    assert.equal(
      (await provider.recoverVoucherSigner(voucher, signature)).toLowerCase(),
      requester.account.toLowerCase(),
    )
    const before = await facades[2]!.balanceOf(provider.account)
    const redeemed = await provider.redeem([{ voucher, signature }])
    assert.equal(redeemed.paid, 30_000n)
    assert.equal(await facades[2]!.balanceOf(provider.account), before + 30_000n)
    const channel = await provider.channelOf(requester.account, provider.account)
    assert.equal(channel.collected, 30_000n)
    assert.equal(channel.paidThrough, 3n)
    // A replay pays nothing: the vault refuses the batch with its named error.
    await assert.rejects(provider.redeem([{ voucher, signature }]), (err: unknown) => {
      assert.ok(err instanceof ChainError)
      assert.equal(err.errorName, 'Vault__NothingToRedeem')
      return true
    })
  })

  it('claims with a signed award, finalizes after the window, and reads thaws and revocations', async () => {
    const [, requester, provider] = vaults as [VoucherVault, VoucherVault, VoucherVault]
    const delegate = privateKeyToAccount(generatePrivateKey())
    const from = await requester.blockNumber()
    await requester.authorizeSigner(delegate.address)
    assert.equal(await provider.isSigner(requester.account, delegate.address), true)
    const now = await requester.nowSeconds()
    const award = {
      jobId: 2n ** 255n + 4n,
      requester: requester.account,
      provider: provider.account,
      sequence: 4n,
      pricePerFuel: 10n,
      maxFuel: 1_000n,
      specHash: `0x${'11'.repeat(32)}` as Hex,
      resultDeadline: now + 60n,
      claimDeadline: now + 600n,
    }
    const signature = await requester.signAward(award, delegate)
    assert.equal(
      (await provider.recoverAwardSigner(award, signature)).toLowerCase(),
      delegate.address.toLowerCase(),
    )
    const claimed = await provider.claim({
      award,
      signature,
      fuelUsed: 700n,
      resultHash: `0x${'22'.repeat(32)}`,
    })
    assert.equal(claimed.amount, 7_000n)
    assert.equal((await provider.claimOf(claimed.claimId)).status, 'Pending')
    await assert.rejects(provider.finalizeClaim(claimed.claimId), /Vault__ChallengeWindowOpen/)
    await chain.increaseTime(101)
    const final = await provider.finalizeClaim(claimed.claimId)
    assert.equal(final.paid, true)
    assert.equal(final.amount, 7_000n)
    assert.equal((await provider.claimOf(claimed.claimId)).status, 'Paid')

    await requester.startThaw(provider.account, 1_000n)
    await requester.revokeSigner(delegate.address)
    const to = await requester.blockNumber()
    const thaws = await provider.thawsSince(from, to, provider.account)
    assert.equal(thaws.length, 1)
    assert.equal(thaws[0]!.amount, 1_000n)
    const revoked = await provider.signerRevocationsSince(from, to)
    assert.equal(revoked.length, 1)
    assert.equal(revoked[0]!.signer.toLowerCase(), delegate.address.toLowerCase())
    assert.deepEqual(await provider.thawOf(requester.account, provider.account), {
      amount: 1_000n,
      readyAt: thaws[0]!.readyAt,
    })
  })
})
