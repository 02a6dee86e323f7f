/**
 * `npm run gas`: deploys the suite on the embedded chain, runs every external function and whole
 * job lifecycles, prints the gas each used and writes bench/results/gas.json.
 *
 * Per-function figures are measured in steady state (the accounts and providers have done a job
 * before, so no first-time storage is paid) unless the row says "first". Gas does not depend on
 * the machine: runs differ only by a few dozen gas, from signature and timestamp bytes in calldata
 * (a zero byte costs 4 gas, any other 16).
 * Settings: protocol fee 100 bps with a treasury (the costlier, production-like path).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type BazaarContracts,
  createBazaarContracts,
  createChainClients,
  createVerificationCourt,
  createVoucherVault,
  deployBazaar,
  resultCommitment,
  startEmbeddedChain,
} from '@bazaar/chain'
import { jobMarketAbi, providerRegistryAbi, voucherVaultAbi } from '@bazaar/contracts'
import solc from 'solc'
import { type Abi, type Address, keccak256, parseEther, toHex } from 'viem'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const outFile = join(root, 'bench', 'results', 'gas.json')

const chain = await startEmbeddedChain({ accounts: 15 })
const clientsFor = (i: number) =>
  createChainClients({
    provider: chain.provider,
    privateKey: chain.accounts[i]!.privateKey,
    chainId: chain.chainId,
  })
const adminClients = await clientsFor(0)
const deployment = await deployBazaar(adminClients, {
  minStake: parseEther('100'),
  minCollateral: parseEther('10'),
  challengeWindow: 600,
  unbondingDelay: 60,
  feeBps: 100,
  treasury: chain.accounts[7]!.address,
})
const facade = async (i: number) => createBazaarContracts({ clients: await clientsFor(i), deployment })
const admin = createBazaarContracts({ clients: adminClients, deployment })
const requester = await facade(1)
const providers = [await facade(2), await facade(3), await facade(4)]
const verifier = await facade(5)

const functions: Record<string, { gas: number; note?: string }> = {}
const record = (name: string, gas: bigint, note?: string) => {
  functions[name] = { gas: Number(gas), ...(note ? { note } : {}) }
  return gas
}
const adminSend = async (abi: Abi, address: Address, functionName: string, args: unknown[]) => {
  const hash = await adminClients.walletClient.writeContract({
    abi,
    address,
    functionName,
    args,
  } as Parameters<typeof adminClients.walletClient.writeContract>[0])
  const receipt = await adminClients.publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new Error(`${functionName} reverted`)
  return receipt.gasUsed
}

const now = () => chain.latestTimestamp()
const terms = async () => {
  const t = await now()
  return {
    specHash: keccak256(toHex('spec')),
    maxPricePerFuel: 1_000_000_000n,
    maxFuel: 5_000_000n,
    bidDeadline: t + 300n,
    awardDeadline: t + 600n,
    commitWindow: 600n,
    revealWindow: 600n,
  }
}
const salt = keccak256(toHex('salt'))
const resultHash = keccak256(toHex('result'))
const fuelUsed = 3_000_000n

/** One whole job: create (by permit or approve), award, commit, reveal, finalize. Returns gas per step. */
async function lifecycle(provider: BazaarContracts, funding: 'permit' | 'approve') {
  const steps: Record<string, bigint> = {}
  const t = await terms()
  let jobId: bigint
  if (funding === 'permit') {
    const created = await requester.createJobWithPermit(t)
    steps.createJobWithPermit = created.gasUsed
    jobId = created.jobId
  } else {
    steps.approve = (await requester.approve(deployment.market, t.maxPricePerFuel * t.maxFuel)).gasUsed
    const created = await requester.createJob(t)
    steps.createJob = created.gasUsed
    jobId = created.jobId
  }
  const bid = await provider.signBid({ jobId, pricePerFuel: 600_000_000n, expiry: (await now()) + 300n })
  steps.award = (await requester.award(bid)).gasUsed
  steps.commitResult = (
    await provider.commitResult(
      jobId,
      resultCommitment({ resultHash, fuelUsed, salt, provider: provider.address }),
    )
  ).gasUsed
  steps.revealResult = (await provider.revealResult({ jobId, resultHash, fuelUsed, salt })).gasUsed
  steps.finalize = (await requester.finalize(jobId)).gasUsed
  const total = Object.values(steps).reduce((a, b) => a + b, 0n)
  return { jobId, steps, total }
}
const asNumbers = (steps: Record<string, bigint>) =>
  Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Number(v)]))

// ---- setup: funds, first stakes (recorded as "first"), token functions
await admin.mint(requester.address, parseEther('1000000'))
record(
  'ComputeToken.mint',
  await admin.mint(verifier.address, parseEther('1000')).then((r) => r.gasUsed),
  'first mint to the account',
)
for (const [i, p] of providers.entries()) {
  await admin.mint(p.address, parseEther('1000'))
  if (i === 0) {
    record('ComputeToken.approve', (await p.approve(deployment.registry, parseEther('1000'))).gasUsed)
    record('ProviderRegistry.stake', (await p.stake(parseEther('200'))).gasUsed, 'first stake')
  } else if (i === 1) {
    record(
      'ProviderRegistry.stakeWithPermit',
      (await p.stakeWithPermit(parseEther('200'))).gasUsed,
      'first stake',
    )
  } else {
    await p.stakeWithPermit(parseEther('200'))
  }
}
record('ProviderRegistry.stake (top-up)', (await providers[0]!.stake(parseEther('10'))).gasUsed)

// ---- lifecycles: the first job of each provider pays first-time storage (reputation, counters)
const first = await lifecycle(providers[0]!, 'permit')
const warm = await lifecycle(providers[0]!, 'permit')
const viaApprove = await lifecycle(providers[0]!, 'approve')
const three = []
for (const p of providers) three.push(await lifecycle(p, 'permit'))
for (const [name, gas] of Object.entries(warm.steps)) record(`JobMarket.${name}`, gas)
record('JobMarket.createJob', viaApprove.steps.createJob!, 'after approve')
record('JobMarket.award (first job of a provider)', first.steps.award!, 'first')
record('JobMarket.finalize (first job of a provider)', first.steps.finalize!, 'first')

// ---- the other paths
{
  const { jobId } = await requester.createJobWithPermit(await terms())
  record('JobMarket.cancelJob', (await requester.cancelJob(jobId)).gasUsed)
}
{
  const { jobId } = await requester.createJobWithPermit(await terms())
  await chain.increaseTime(601)
  record('JobMarket.reclaimExpired (open job)', (await verifier.reclaimExpired(jobId)).gasUsed)
}
let missedTotal = 0n
{
  const created = await requester.createJobWithPermit(await terms())
  const award = await requester.award(
    await providers[1]!.signBid({ jobId: created.jobId, pricePerFuel: 1n, expiry: (await now()) + 300n }),
  )
  await chain.increaseTime(601)
  const reclaim = await verifier.reclaimExpired(created.jobId)
  record('JobMarket.reclaimExpired (missed commit: refund + slash)', reclaim.gasUsed)
  missedTotal = created.gasUsed + award.gasUsed + reclaim.gasUsed
}
{
  const { jobId } = await requester.createJobWithPermit(await terms())
  await requester.award(
    await providers[1]!.signBid({ jobId, pricePerFuel: 1n, expiry: (await now()) + 300n }),
  )
  await chain.increaseTime(601)
  record(
    'JobMarket.reaward (slash + new award)',
    (
      await requester.reaward(
        await providers[2]!.signBid({ jobId, pricePerFuel: 1n, expiry: (await now()) + 300n }),
      )
    ).gasUsed,
  )
}
{
  const { jobId } = await requester.createJobWithPermit(await terms())
  const bid = await providers[0]!.signBid({ jobId, pricePerFuel: 5n, expiry: (await now()) + 300n })
  await requester.award(bid)
  await providers[0]!.commitResult(
    jobId,
    resultCommitment({ resultHash, fuelUsed, salt, provider: providers[0]!.address }),
  )
  await providers[0]!.revealResult({ jobId, resultHash, fuelUsed, salt })
  await chain.increaseTime(600)
  record('JobMarket.finalize (by anyone after the window)', (await verifier.finalize(jobId)).gasUsed)
}
record(
  'JobMarket.grantRole (VERIFIER_ROLE)',
  await adminSend(jobMarketAbi, deployment.market, 'grantRole', [
    keccak256(toHex('VERIFIER_ROLE')),
    verifier.address,
  ]),
)
for (const fault of [false, true]) {
  const { jobId } = await requester.createJobWithPermit(await terms())
  await requester.award(
    await providers[0]!.signBid({ jobId, pricePerFuel: 5n, expiry: (await now()) + 300n }),
  )
  const settled = await verifier.settleByVerifier({
    jobId,
    fuelToPay: fault ? 0n : 1_000n,
    providerAtFault: fault,
    reason: toHex('VERDICT', { size: 32 }),
    evidence: '0x',
  })
  record(`JobMarket.settleByVerifier (${fault ? 'provider at fault: slash' : 'pay'})`, settled.gasUsed)
}
record(
  'JobMarket.setFee',
  await adminSend(jobMarketAbi, deployment.market, 'setFee', [chain.accounts[7]!.address, 50]),
)
record(
  'JobMarket.setCollateralPolicy',
  await adminSend(jobMarketAbi, deployment.market, 'setCollateralPolicy', [parseEther('10'), 1_000]),
)
// JobMarket.claim is not measured: it needs a recipient that refused a payment (attacks.test.ts).

// ---- verified jobs (VerificationCourt): the whole job, every replica and referee included
const court = (who: BazaarContracts) => createVerificationCourt(who, deployment.court)
const pool = [await facade(8), await facade(9), await facade(10)]
for (const [i, p] of pool.entries()) {
  await admin.mint(p.address, parseEther('1000'))
  await p.stakeWithPermit(parseEther('200'))
  await court(p).approve(parseEther('1000'))
  const joined = await court(p).joinPool()
  if (i === 0) record('VerificationCourt.joinPool', joined.gasUsed)
}
await court(requester).approve(parseEther('1000'))
await court(providers[2]!).approve(parseEther('1000'))
const sum = (gas: bigint[]) => gas.reduce((a, b) => a + b, 0n)
/** Create (permit) + award: the job's first two steps. */
async function awardedJob(provider: BazaarContracts) {
  const created = await requester.createJobWithPermit(await terms())
  const bid = await provider.signBid({
    jobId: created.jobId,
    pricePerFuel: 600_000_000n,
    expiry: (await now()) + 300n,
  })
  return { jobId: created.jobId, gas: [created.gasUsed, (await requester.award(bid)).gasUsed] }
}
async function commitReveal(provider: BazaarContracts, jobId: bigint, result: `0x${string}`) {
  return replicasCommitReveal([[provider, jobId, result]])
}
/** Every replica commits, then every replica reveals (the court bars reveals until all committed). */
async function replicasCommitReveal(replicas: [BazaarContracts, bigint, `0x${string}`][]) {
  const gas: bigint[] = []
  for (const [provider, jobId, result] of replicas) {
    const commitment = resultCommitment({ resultHash: result, fuelUsed, salt, provider: provider.address })
    gas.push((await provider.commitResult(jobId, commitment)).gasUsed)
  }
  for (const [provider, jobId, result] of replicas) {
    gas.push((await provider.revealResult({ jobId, resultHash: result, fuelUsed, salt })).gasUsed)
  }
  return gas
}
/** Referees (or the auditor) of `disputeId` commit and reveal the right result; then resolve. */
async function judge(disputeId: bigint, draw: boolean) {
  const gas: bigint[] = []
  let referees: readonly Address[]
  if (draw) {
    const drawn = await court(verifier).drawReferees(disputeId)
    gas.push(drawn.gasUsed)
    referees = drawn.referees
  } else {
    referees = (await court(verifier).getDispute(disputeId)).referees
  }
  const members = (address: Address) => court(pool.find((p) => p.address === address)!)
  for (const r of referees) {
    gas.push(
      (
        await members(r).commitVerdict(
          disputeId,
          resultCommitment({ resultHash, fuelUsed, salt, provider: r }),
        )
      ).gasUsed,
    )
  }
  for (const r of referees) {
    gas.push((await members(r).revealVerdict({ disputeId, resultHash, fuel: fuelUsed, salt })).gasUsed)
  }
  const resolved = await court(verifier).resolveDispute(disputeId)
  gas.push(resolved.gasUsed)
  return { gas, resolved }
}
const verified: Record<string, { total: number; steps: Record<string, number> }> = {}
const verifiedRow = (name: string, steps: Record<string, bigint[]>) => {
  const numbers = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Number(sum(v))]))
  verified[name] = { total: Object.values(numbers).reduce((a, b) => a + b, 0), steps: numbers }
}
verified['none (one provider, finalize)'] = { total: Number(warm.total), steps: asNumbers(warm.steps) }
{
  // Replicated k = 2, replicas agree.
  const a = await awardedJob(providers[0]!)
  const b = await awardedJob(providers[1]!)
  const open = await court(requester).openReplicated([a.jobId, b.jobId])
  record('VerificationCourt.openReplicated (k=2)', open.gasUsed)
  const work = await replicasCommitReveal([
    [providers[0]!, a.jobId, resultHash],
    [providers[1]!, b.jobId, resultHash],
  ])
  const settle = await court(verifier).settleCase(open.caseId)
  record('VerificationCourt.settleCase (k=2, agree: pays both)', settle.gasUsed)
  verifiedRow('replicated k=2, replicas agree', {
    'create+award x2': [...a.gas, ...b.gas],
    openReplicated: [open.gasUsed],
    'commit+reveal x2': work,
    settleCase: [settle.gasUsed],
  })
}
{
  // Replicated k = 2, one replica wrong: dispute with 3 referees.
  const a = await awardedJob(providers[0]!)
  const b = await awardedJob(providers[1]!)
  const open = await court(requester).openReplicated([a.jobId, b.jobId])
  const work = await replicasCommitReveal([
    [providers[0]!, a.jobId, resultHash],
    [providers[1]!, b.jobId, keccak256(toHex('wrong'))],
  ])
  const settle = await court(verifier).settleCase(open.caseId)
  record('VerificationCourt.settleCase (k=2, disagree: opens a dispute)', settle.gasUsed)
  const { gas } = await judge(settle.disputeId!, true)
  record('VerificationCourt.drawReferees (3 of 3)', gas[0]!)
  record('VerificationCourt.commitVerdict', gas[1]!)
  record('VerificationCourt.revealVerdict', gas[4]!)
  record('VerificationCourt.resolveDispute (slash one, pay one, 3 referees)', gas.at(-1)!)
  verifiedRow('replicated k=2, dispute (3 referees)', {
    'create+award x2': [...a.gas, ...b.gas],
    openReplicated: [open.gasUsed],
    'commit+reveal x2': work,
    settleCase: [settle.gasUsed],
    'referees: draw, 3 commits, 3 reveals, resolve': gas,
  })
}
{
  // Audit with p = 0.01%: (almost surely) not selected; the fee goes back.
  const a = await awardedJob(providers[0]!)
  const open = await court(requester).openAudit(a.jobId, 1)
  record('VerificationCourt.openAudit', open.gasUsed)
  const work = await commitReveal(providers[0]!, a.jobId, resultHash)
  const arm = await court(requester).drawAudit(open.caseId)
  const draw = await court(requester).drawAudit(open.caseId)
  record('VerificationCourt.drawAudit (arm)', arm.gasUsed)
  record(
    `VerificationCourt.drawAudit (${draw.selected ? 'selected' : 'not selected: pays the provider'})`,
    draw.gasUsed,
  )
  verifiedRow(`audit, ${draw.selected ? 'selected' : 'not selected'}`, {
    'create+award': a.gas,
    openAudit: [open.gasUsed],
    'commit+reveal': work,
    'drawAudit x2': [arm.gasUsed, draw.gasUsed],
  })
}
{
  // Audit with p = 100%: selected, the auditor agrees.
  const a = await awardedJob(providers[0]!)
  const open = await court(requester).openAudit(a.jobId, 10_000)
  const work = await commitReveal(providers[0]!, a.jobId, resultHash)
  const arm = await court(requester).drawAudit(open.caseId)
  const draw = await court(requester).drawAudit(open.caseId)
  record('VerificationCourt.drawAudit (selected: draws the auditor)', draw.gasUsed)
  const { gas } = await judge((await court(verifier).getCase(open.caseId)).disputeId, false)
  verifiedRow('audit, selected, auditor agrees', {
    'create+award': a.gas,
    openAudit: [open.gasUsed],
    'commit+reveal': work,
    'drawAudit x2': [arm.gasUsed, draw.gasUsed],
    'auditor: commit, reveal, resolve': gas,
  })
}
{
  // Optimistic: a wrong result challenged within the window, 3 referees.
  const a = await awardedJob(providers[0]!)
  const work = await commitReveal(providers[0]!, a.jobId, keccak256(toHex('wrong')))
  const challenger = pool[0]!
  const challenged = await court(challenger).challenge(a.jobId, resultHash, fuelUsed)
  record('VerificationCourt.challenge', challenged.gasUsed)
  await court(providers[2]!).joinPool()
  pool.push(providers[2]!)
  const { gas } = await judge((await court(verifier).getCase(challenged.caseId)).disputeId, true)
  verifiedRow('optimistic, challenged (3 referees)', {
    'create+award': a.gas,
    'commit+reveal': work,
    challenge: [challenged.gasUsed],
    'referees: draw, 3 commits, 3 reveals, resolve': gas,
  })
}
record('VerificationCourt.leavePool', (await court(pool[1]!).leavePool()).gasUsed)

// ---- registry exits
{
  const p = providers[2]!
  record('ProviderRegistry.requestUnbond', (await p.requestUnbond(parseEther('5'))).gasUsed)
  record('ProviderRegistry.cancelUnbonding', (await p.cancelUnbonding()).gasUsed)
  await p.requestUnbond(parseEther('5'))
  await chain.increaseTime(60)
  record('ProviderRegistry.withdraw', (await p.withdraw()).gasUsed)
}
record(
  'ProviderRegistry.setParameters',
  await adminSend(providerRegistryAbi, deployment.registry, 'setParameters', [
    {
      minStake: parseEther('100'),
      unbondingDelay: 60,
      jailDuration: 60,
      reputationHalfLife: 3600,
      maxFaults: 3,
    },
  ]),
)
// ---------------------------------------------------------------- vouchers (issue #9)
// The voucher path: jobs are paid off-chain by cumulative EIP-712 vouchers, and a provider
// redeems one voucher per requester covering N jobs. Redeeming costs the same whatever N (the
// voucher is cumulative), so gas per job is the redemption's gas over N. Measured in steady state
// (each pair redeemed once before) and with one escrow top-up per redemption as the "+ deposit"
// figure; a batch redeems vouchers of 5 requesters in one transaction.
const vaultSend = async (who: BazaarContracts, functionName: string, args: unknown[]) => {
  const { walletClient, publicClient } = who.clients
  const hash = await walletClient.writeContract({
    abi: voucherVaultAbi,
    address: deployment.vault,
    functionName,
    args,
  } as Parameters<typeof walletClient.writeContract>[0])
  const receipt = await publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new Error(`${functionName} reverted`)
  return receipt.gasUsed
}
const voucherTypes = {
  Voucher: [
    { name: 'requester', type: 'address' },
    { name: 'provider', type: 'address' },
    { name: 'paidThroughSequence', type: 'uint64' },
    { name: 'cumulativeAmount', type: 'uint256' },
    { name: 'jobsRoot', type: 'bytes32' },
  ],
} as const
const vaultDomain = {
  name: 'Bazaar VoucherVault',
  version: '1',
  chainId: chain.chainId,
  verifyingContract: deployment.vault,
}
/** Per (requester, provider): jobs vouched so far, at a flat price per job. */
const vouched = new Map<string, bigint>()
const PRICE_PER_JOB = parseEther('0.001')
async function signVoucher(from: BazaarContracts, to: BazaarContracts, jobs: bigint) {
  const key = `${from.address}:${to.address}`
  const through = (vouched.get(key) ?? 0n) + jobs
  vouched.set(key, through)
  const message = {
    requester: from.address,
    provider: to.address,
    paidThroughSequence: through,
    cumulativeAmount: through * PRICE_PER_JOB,
    jobsRoot: keccak256(toHex(`jobs ${key} ${through}`)),
  }
  const signature = await from.clients.account.signTypedData({
    domain: vaultDomain,
    types: voucherTypes,
    primaryType: 'Voucher',
    message,
  })
  return { message, signature }
}
const voucherRequesters = [requester, ...(await Promise.all([11, 12, 13, 14].map((i) => facade(i))))]
const voucherProvider = providers[0]!
for (const r of voucherRequesters) {
  if (r !== requester) await admin.mint(r.address, parseEther('1000000'))
  await r.approve(deployment.vault, parseEther('1000000'))
  record(
    'VoucherVault.deposit (first, per provider)',
    await vaultSend(r, 'deposit', [voucherProvider.address, parseEther('1000')]),
  )
}
record(
  'VoucherVault.deposit (top-up)',
  await vaultSend(requester, 'deposit', [voucherProvider.address, parseEther('1')]),
)
const redeemGas = async (signed: Awaited<ReturnType<typeof signVoucher>>[]) =>
  vaultSend(voucherProvider, 'redeem', [signed.map((s) => s.message), signed.map((s) => s.signature)])
// Warm-up: every pair redeemed once, so the figures below are steady state.
await redeemGas(await Promise.all(voucherRequesters.map((r) => signVoucher(r, voucherProvider, 1n))))
const topUp = functions['VoucherVault.deposit (top-up)']!.gas
const perJobPath = Number(warm.total)
const vouchers: Record<string, unknown> = {
  note: 'gas per job amortized over N jobs per redemption; per-job path = the steady-state permit lifecycle (5 transactions)',
  perJobPath: { gasPerJob: perJobPath },
}
for (const n of [10n, 100n, 1000n]) {
  const one = await redeemGas([await signVoucher(requester, voucherProvider, n)])
  const batch = await redeemGas(
    await Promise.all(
      voucherRequesters.map((r) => signVoucher(r, voucherProvider, n / BigInt(voucherRequesters.length))),
    ),
  )
  vouchers[`${n} jobs per redemption`] = {
    oneVoucher: { redeemGas: Number(one), gasPerJob: Math.ceil(Number(one) / Number(n)) },
    oneVoucherWithDeposit: {
      gas: Number(one) + topUp,
      gasPerJob: Math.ceil((Number(one) + topUp) / Number(n)),
    },
    [`batchOf${voucherRequesters.length}Requesters`]: {
      redeemGas: Number(batch),
      gasPerJob: Math.ceil(Number(batch) / Number(n)),
    },
  }
}
record(
  'VoucherVault.redeem (1 voucher)',
  BigInt((vouchers['100 jobs per redemption'] as { oneVoucher: { redeemGas: number } }).oneVoucher.redeemGas),
)
console.log('\nVoucher path: gas per job amortized (per-job path: %d gas per job)', perJobPath)
console.table(
  Object.fromEntries(
    Object.entries(vouchers)
      .filter(([k]) => k.endsWith('redemption'))
      .map(([k, v]) => {
        const row = v as Record<string, { gasPerJob: number }>
        return [k, Object.fromEntries(Object.entries(row).map(([name, x]) => [name, x.gasPerJob]))]
      }),
  ),
)

// Voucher claims disputed in the court: a provider claims one job of a silent requester, the
// requester disputes it (bond), three referees judge it. Upheld: the vault pays; wrong: the claim
// returns to escrow and the provider's stake is slashed.
{
  const requesterVault = createVoucherVault(requester, deployment.vault)
  const providerVault = createVoucherVault(voucherProvider, deployment.vault)
  let sequence = 1_000_000_000n
  for (const [name, claimed] of [
    ['voucher claim disputed, upheld (3 referees)', resultHash],
    ['voucher claim disputed, wrong: slashed (3 referees)', keccak256(toHex('wrong result'))],
  ] as const) {
    const t = await now()
    sequence += 1n
    const award = {
      jobId: 2n ** 255n + sequence,
      requester: requester.address,
      provider: voucherProvider.address,
      sequence,
      pricePerFuel: 1n,
      maxFuel: 5_000_000n,
      specHash: keccak256(toHex('voucher spec')),
      resultDeadline: t + 600n,
      claimDeadline: t + 86_400n,
    }
    const filed = await providerVault.claim({
      award,
      signature: await requesterVault.signAward(award),
      fuelUsed,
      resultHash: claimed,
    })
    record('VoucherVault.claim (silent requester: one job)', filed.gasUsed)
    const disputed = await court(requester).disputeVoucherClaim(filed.claimId)
    record('VerificationCourt.disputeVoucherClaim', disputed.gasUsed)
    const judged = await judge(disputed.disputeId, true)
    record(`VerificationCourt.resolveDispute (${name})`, judged.gas.at(-1)!)
    verifiedRow(name, {
      claim: [filed.gasUsed],
      dispute: [disputed.gasUsed],
      referees: judged.gas.slice(0, -1),
      resolve: judged.gas.slice(-1),
    })
    const status = (await providerVault.claimOf(filed.claimId)).status
    if (status !== (claimed === resultHash ? 'Paid' : 'Rejected')) throw new Error(`${name}: claim ${status}`)
  }
}

await chain.close()

const lifecycles = {
  'one provider, permit-funded (steady state)': { steps: asNumbers(warm.steps), total: Number(warm.total) },
  "one provider, permit-funded (provider's first job)": {
    steps: asNumbers(first.steps),
    total: Number(first.total),
  },
  'one provider, approve + createJob': {
    steps: asNumbers(viaApprove.steps),
    total: Number(viaApprove.total),
  },
  'three providers (3 jobs, one each)': {
    steps: Object.fromEntries(three.map((run, i) => [`provider ${i + 1}`, Number(run.total)])),
    total: Number(three.reduce((a, r) => a + r.total, 0n)),
  },
  'missed commit (create, award, reclaim with slash)': { steps: {}, total: Number(missedTotal) },
}

console.log('\nGas per external function')
console.table(
  Object.fromEntries(
    Object.entries(functions).map(([name, { gas, note }]) => [name, { gas, note: note ?? '' }]),
  ),
)
console.log('\nGas per verified job (whole job: every replica, auditor and referee)')
console.table(Object.fromEntries(Object.entries(verified).map(([name, v]) => [name, { total: v.total }])))
console.log('\nGas per job lifecycle')
console.table(
  Object.fromEntries(Object.entries(lifecycles).map(([name, l]) => [name, { total: l.total, ...l.steps }])),
)

const out = {
  date: new Date().toISOString(),
  solc: solc.version(),
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  settings: { feeBps: 100, minCollateral: '10 BZR', note: 'steady state unless marked first' },
  functions,
  lifecycles,
  verified,
  vouchers,
}
await mkdir(dirname(outFile), { recursive: true })
await writeFile(outFile, `${JSON.stringify(out, null, 2)}\n`)
console.log(`\nwritten ${outFile}`)
