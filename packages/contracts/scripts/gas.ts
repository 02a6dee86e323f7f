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
  deployBazaar,
  resultCommitment,
  startEmbeddedChain,
} from '@bazaar/chain'
import { jobMarketAbi, providerRegistryAbi } from '@bazaar/contracts'
import solc from 'solc'
import { type Abi, type Address, keccak256, parseEther, toHex } from 'viem'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const outFile = join(root, 'bench', 'results', 'gas.json')

const chain = await startEmbeddedChain({ accounts: 8 })
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
}
await mkdir(dirname(outFile), { recursive: true })
await writeFile(outFile, `${JSON.stringify(out, null, 2)}\n`)
console.log(`\nwritten ${outFile}`)
