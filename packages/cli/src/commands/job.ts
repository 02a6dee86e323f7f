import { writeFile } from 'node:fs/promises'
import { formatTokens, isVoucherJobId, type JobSpec, validateJobSpec } from '@bazaar/protocol'
import {
  type BazaarClient,
  createBazaarClient,
  type JobEventView,
  type JobView,
  type NodeInfo,
  uploadSpecFile,
} from '@bazaar/sdk'
import type { Command } from 'commander'
import { ExitCode } from '../exit-codes.ts'

const DEFAULT_API = 'http://127.0.0.1:8080'

interface ApiOptions {
  api: string
  json?: boolean
}

function client(opts: ApiOptions): BazaarClient {
  return createBazaarClient({ url: opts.api })
}

const tokens = (amount: string | undefined) => (amount === undefined ? '-' : formatTokens(BigInt(amount)))

/** Whether a job id is a voucher job's (docs/vouchers.md): those ids are at least 2^255. */
function isVoucherJob(id: unknown): boolean {
  try {
    return typeof id === 'string' && isVoucherJobId(BigInt(id))
  } catch {
    return false
  }
}

/** How a job is paid, for people: `voucher` or `job-market` (older nodes do not say: from the id). */
export function paymentKind(job: Pick<JobView, 'id' | 'payment'>): 'voucher' | 'job-market' {
  return job.payment ?? (isVoucherJob(job.id) ? 'voucher' : 'job-market')
}

/** One line per event, in words: what happened and what it cost. */
export function describeEvent(event: JobEventView): string | undefined {
  const provider = typeof event.provider === 'string' ? `${event.provider.slice(0, 10)}…` : ''
  const byVoucher = isVoucherJob(event.jobId)
  switch (event.type) {
    case 'created':
      return byVoucher
        ? 'voucher job created: no escrow of its own, paid from the vault escrow by a signed voucher'
        : `escrowed ${tokens(event.escrow as string)} on-chain (job ${event.jobId})`
    case 'announced':
      return `announced to providers (round ${event.attempt})`
    case 'bid':
      return `bid from ${provider} at ${event.pricePerFuel} per fuel`
    case 'bid-rejected':
      return `bid from ${provider} rejected: ${event.reason}`
    case 'declined':
      return `${provider} declined: ${event.detail}`
    case 'no-bids':
      return `no qualifying bid in round ${event.attempt}`
    case 'awarded':
      return `awarded to ${provider} at ${event.pricePerFuel} per fuel: the cheapest of ${event.bids} bid(s)${event.sequence === undefined ? '' : ` (signed award, sequence ${event.sequence})`}`
    case 'committed':
      return 'result committed on-chain (hidden until the reveal)'
    case 'revealed':
      return byVoucher
        ? `result delivered: ${event.fuelUsed} fuel`
        : `result revealed on-chain: ${event.fuelUsed} fuel`
    case 'audit-opened':
      return `audit opened (probability ${event.probability}); the fee is held by the verification court`
    case 'audit-drawn':
      return event.selected
        ? `audit drawn: ${typeof event.auditor === 'string' ? `${event.auditor.slice(0, 10)}…` : 'an auditor'} re-executes the job`
        : 'audit draw passed this job: no re-execution, the fee comes back'
    case 'challenged':
      return `result challenged by ${typeof event.challenger === 'string' ? `${event.challenger.slice(0, 10)}…` : 'a watcher'}`
    case 'referees-drawn':
      return `${(event.referees as unknown[] | undefined)?.length ?? 0} referee(s) drawn to re-execute the job`
    case 'dispute-resolved':
      return `dispute ${event.disputeId} resolved by the referees`
    case 'audited':
      return `audit verdict: ${event.verdict}`
    case 'replicas-linked':
      return `${(event.jobIds as unknown[] | undefined)?.length ?? 0} replicas linked in verification case ${event.caseId}: the court settles them`
    case 'replicas-settled':
      return `replicas ${event.disputed ? 'disputed, referees decided' : 'agreed'}: verdict ${event.verdict}`
    case 'challenge-verdict':
      return `challenge verdict: ${event.verdict}`
    case 'verified':
      return `output verified against its hash (${event.outputBytes} bytes)`
    case 'finalized':
      return byVoucher
        ? `owed ${tokens(event.paid as string)}: nothing moves on-chain now; a signed voucher pays it when the provider redeems it`
        : `paid ${tokens(event.paid as string)}, refunded ${tokens(event.refunded as string)}`
    case 'voucher-signed':
      return `voucher signed through sequence ${event.paidThroughSequence}: ${tokens(event.cumulativeAmount as string)} in all, ${tokens(event.amount as string)} for this job`
    case 'claim-filed':
      return `provider claimed ${tokens(event.amount as string)} on-chain${event.disputed ? ': disputed (the result did not verify)' : ': not disputed'}`
    case 'claim-finalized':
      return event.status === 'Paid'
        ? `claim paid: ${tokens(event.amount as string)}`
        : 'claim ended unpaid: returned to the escrow'
    case 'refunded':
      return `refunded: ${event.reason}`
    default:
      return undefined
  }
}

/**
 * What a spec may cost, said before it is submitted: every job escrows fuel x max price; a
 * replicated one runs k jobs, so k escrows and about k times the price of one execution. A node
 * that pays by voucher (`payment` of GET /v1/node) escrows nothing per job for verification
 * `none`: the job is owed from the vault escrow and paid when the provider redeems the voucher.
 */
export function costNotice(spec: JobSpec, payment?: NodeInfo['payment']): string {
  const each = spec.limits.fuel * spec.price.maxPerFuel
  const v = spec.verification
  if (payment === 'voucher' && v.mode === 'none') {
    return `paid by voucher: ${tokens(each.toString())} at most, owed for the fuel used and paid from your vault escrow when the provider redeems the voucher; no JobMarket escrow for this job`
  }
  if (v.mode === 'replicated') {
    return `replicated k=${v.k}: ${v.k} providers each run the job; escrow ${v.k} x ${tokens(each.toString())} = ${tokens((each * BigInt(v.k)).toString())} at most (about ${v.k}x one execution; a replica found wrong is not paid)`
  }
  if (v.mode === 'audit') {
    return `escrow ${tokens(each.toString())} at most, plus the audit fee (held by the court; refunded when the job is not drawn, p=${v.probability})`
  }
  return `escrow ${tokens(each.toString())} at most`
}

/** Where a voucher job's payment stands, in words (`settlement` of the job's voucher section). */
export function settlementWords(v: NonNullable<JobView['voucher']>): string {
  switch (v.settlement) {
    case 'awarded':
      return 'awarded: nothing owed until the result verifies'
    case 'owed':
      return 'owed: result verified, no voucher signed yet'
    case 'vouchered':
      return v.redeemed === undefined
        ? 'vouchered: a signed voucher covers it (could not read the vault: redeemed or not is unknown)'
        : 'vouchered: a signed voucher covers it, not redeemed on-chain yet'
    case 'claim-pending':
      return 'claimed on-chain by the provider: locked in the vault, not paid yet'
    case 'redeemed':
      return 'redeemed: the provider was paid on-chain by the voucher'
    case 'claimed':
      return 'claimed: the provider was paid on-chain by its claim'
    case 'rejected':
      return `rejected: never owed${v.reason ? ` (${v.reason})` : ''}`
    default:
      return v.phase
  }
}

function printJob(job: JobView): void {
  console.log(`job ${job.id} (${job.name}): ${job.state}`)
  const v = job.voucher
  console.log(`  payment      ${paymentKind(job)}${v ? ` (${settlementWords(v)})` : ''}`)
  if (job.provider)
    console.log(`  provider     ${job.provider} (chosen from ${job.bidsReceived ?? 0} bid(s): lowest price)`)
  if (job.pricePerFuel) console.log(`  price        ${job.pricePerFuel} base units per fuel`)
  if (job.fuelUsed) console.log(`  fuel used    ${BigInt(job.fuelUsed).toLocaleString('en-US')}`)
  if (v) {
    console.log(`  voucher      sequence ${v.sequence} in vault ${v.vault}: ${v.phase}`)
    console.log(
      `  owed         ${tokens(v.owed)}; vouchered ${tokens(v.vouchered)}; redeemed ${v.redeemed === undefined ? 'unknown' : tokens(v.redeemed)}${v.voucher ? ` (voucher through ${v.voucher.paidThroughSequence}, ${tokens(v.voucher.cumulativeAmount)} in all)` : ''}`,
    )
    if (v.claim)
      console.log(
        `  claim        ${tokens(v.claim.amount)} ${v.claim.disputed ? 'disputed' : 'not disputed'}; ${v.claim.status ?? 'open'}`,
      )
  } else if (paymentKind(job) === 'voucher') {
    console.log(`  owed         ${tokens(job.paid)} (by voucher; no escrow of its own)`)
  } else {
    console.log(
      `  paid         ${tokens(job.paid)} of ${tokens(job.escrow)} escrowed; refunded ${tokens(job.refunded)}`,
    )
  }
  if (job.gasUsed) console.log(`  gas (yours)  ${BigInt(job.gasUsed).toLocaleString('en-US')}`)
  if (job.error)
    console.log(
      `  error        ${job.error.code}: ${job.error.message}${job.error.hint ? ` (hint: ${job.error.hint})` : ''}`,
    )
  const reasons = (job.error?.details?.reasons ?? []) as {
    provider: string
    source: string
    reasons: { detail: string }[]
  }[]
  for (const r of reasons) {
    console.log(
      `  why not      ${r.provider.slice(0, 10)}… (${r.source}): ${r.reasons.map((x) => x.detail).join('; ')}`,
    )
  }
}

/** The output as text if it is valid UTF-8 without NUL bytes, else undefined. */
function asText(bytes: Uint8Array): string | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return text.includes('\u0000') ? undefined : text
  } catch {
    return undefined
  }
}

const exitFor = (job: JobView) => (job.state === 'completed' ? ExitCode.Ok : ExitCode.JobNotCompleted)

export function registerJobCommand(program: Command): void {
  const job = program.command('job').description('Submit and follow jobs on a node')
  const withApi = (command: Command) =>
    command
      .option('--api <url>', 'the node API', process.env.BAZAAR_API ?? DEFAULT_API)
      .option('--json', 'print JSON')

  withApi(
    job
      .command('run <spec>')
      .description('Submit a job spec (YAML or JSON), follow it to the end and save its output')
      .option('-o, --out <file>', 'write the output here (default: print it if it is text)')
      .option('--detach', 'return as soon as the job is escrowed and announced'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ bazaar job run examples/specs/wordcount.yaml
  $ bazaar job run my-job.yaml --out result.bin --json`,
    )
    .action(async (specPath: string, opts: ApiOptions & { out?: string; detach?: boolean }) => {
      const api = client(opts)
      const spec = await uploadSpecFile(api, specPath)
      if (!opts.json) {
        // The node decides how the job is paid: ask it first, so the notice is what will happen.
        const { payment } = await api.node()
        console.log(`cost: ${costNotice(validateJobSpec(spec, specPath), payment)}`)
      }
      const submitted = await api.submit(spec)
      if (opts.detach) {
        console.log(
          opts.json
            ? JSON.stringify(submitted)
            : `submitted job ${submitted.id}; follow it with \`bazaar job status ${submitted.id}\``,
        )
        process.exit(ExitCode.Ok)
      }
      if (!opts.json) console.log(`job ${submitted.id} submitted`)
      const final = await api.wait(submitted.id, (event) => {
        const line = opts.json ? undefined : describeEvent(event)
        if (line) console.log(`  ${line}`)
      })
      let output: Uint8Array | undefined
      if (final.state === 'completed') output = await api.output(final.id)
      if (output && opts.out) await writeFile(opts.out, output)
      if (opts.json) {
        console.log(JSON.stringify({ ...final, ...(opts.out && output ? { output: opts.out } : {}) }))
      } else {
        printJob(final)
        if (output && opts.out) console.log(`  output       ${output.length} bytes written to ${opts.out}`)
        else if (output) {
          const text = asText(output)
          console.log(
            text === undefined
              ? `  output       ${output.length} bytes (binary; use --out FILE)`
              : `  output:\n${text}`,
          )
        }
      }
      process.exit(exitFor(final))
    })

  withApi(
    job.command('status <id>').description('Show a job: state, provider, price, fuel, payment, events'),
  ).action(async (id: string, opts: ApiOptions) => {
    const view = await client(opts).getJob(id)
    if (opts.json) console.log(JSON.stringify(view))
    else {
      printJob(view)
      for (const event of view.events ?? []) {
        const line = describeEvent(event)
        if (line) console.log(`  ${new Date(event.at ?? 0).toISOString().slice(11, 23)}  ${line}`)
      }
    }
  })

  withApi(job.command('list').description('List the jobs this node knows')).action(
    async (opts: ApiOptions) => {
      const jobs = await client(opts).listJobs()
      if (opts.json) console.log(JSON.stringify(jobs))
      else if (jobs.length === 0) console.log('no jobs yet')
      else
        console.table(
          jobs.map((j) => ({
            id: j.id,
            name: j.name,
            state: j.state,
            payment: j.voucher?.settlement ? `voucher: ${j.voucher.settlement}` : paymentKind(j),
            // Paid on-chain; a voucher job's `paid` is only what is owed until it is redeemed.
            paid:
              paymentKind(j) === 'voucher'
                ? j.voucher?.redeemed === undefined
                  ? '?'
                  : tokens(j.voucher.redeemed)
                : tokens(j.paid),
            owed: paymentKind(j) === 'voucher' ? tokens(j.voucher?.owed ?? j.paid) : '-',
            fuel: j.fuelUsed ?? '-',
          })),
        )
    },
  )

  withApi(
    job
      .command('cancel <id>')
      .description('Cancel a job still collecting bids; its whole escrow is refunded'),
  )
    .addHelpText(
      'after',
      `
A job already awarded cannot be cancelled (exit code 7): the provider is working with its
collateral locked; the job runs to the end and pays only the fuel it uses.

Examples:
  $ bazaar job cancel 12
  $ bazaar job cancel 12 --api http://127.0.0.1:8081 --json`,
    )
    .action(async (id: string, opts: ApiOptions) => {
      const view = await client(opts).cancel(id)
      if (opts.json) console.log(JSON.stringify(view))
      else if (paymentKind(view) === 'voucher')
        console.log(`job ${view.id} cancelled before any award: nothing was escrowed or owed`)
      else
        console.log(`job ${view.id} cancelled: refunded ${tokens(view.refunded)} of ${tokens(view.escrow)}`)
      process.exit(ExitCode.Ok)
    })

  withApi(
    job
      .command('logs <id>')
      .description(
        "A job's event timeline: escrow, announcements, bids, award, reveal, verification, payment",
      )
      .option('-f, --follow', 'keep printing new events until the job ends'),
  )
    .addHelpText(
      'after',
      `
With --json, one JSON object per line (one per event).

Examples:
  $ bazaar job logs 12
  $ bazaar job logs 12 --follow --json`,
    )
    .action(async (id: string, opts: ApiOptions & { follow?: boolean }) => {
      const api = client(opts)
      const print = (event: JobEventView) => {
        if (event.type === 'end') return
        if (opts.json) console.log(JSON.stringify(event))
        else {
          const time = new Date(event.at ?? 0).toISOString().slice(11, 23)
          console.log(`${time}  ${event.type.padEnd(12)} ${describeEvent(event) ?? ''}`)
        }
      }
      if (opts.follow) {
        let state: string | undefined
        for await (const event of api.watch(id)) {
          print(event)
          if (event.type === 'end') state = event.state
        }
        if (!opts.json) console.log(`job ${id} ended: ${state ?? 'unknown'}`)
        return
      }
      const logs = await api.logs(id)
      for (const event of logs.events) print(event)
      if (!opts.json) console.log(`job ${id}: ${logs.state}`)
    })

  withApi(
    job
      .command('result <id>')
      .description("Save a completed job's output")
      .requiredOption('-o, --out <file>', 'where to write it'),
  ).action(async (id: string, opts: ApiOptions & { out: string }) => {
    const output = await client(opts).output(id)
    await writeFile(opts.out, output)
    console.log(
      opts.json
        ? JSON.stringify({ id, output: opts.out, bytes: output.length })
        : `${output.length} bytes written to ${opts.out}`,
    )
  })
}
