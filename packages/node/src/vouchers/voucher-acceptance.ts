import { encodeAbiParameters, type Hex, keccak256 } from 'viem'
import { type ClosureClaim, jobClosure, zeroLeaf } from './job-closure.ts'
import { jobLeaf, type VoucherJobLeaf } from './jobs-root.ts'

/** One job of the pair as the provider holds it (docs/vouchers.md, "Closed jobs"). */
export interface HeldJob {
  sequence: bigint
  award: { specHash: Hex; pricePerFuel: bigint; claimDeadline: bigint }
  /** The result it delivered (or at least computed and kept), with its amount. */
  delivered?: { resultHash: Hex; fuelUsed: bigint; amount: bigint }
  /** Its claim as read from the vault, if it filed one. */
  claim?: ClosureClaim
}

export interface VoucherCheckInput {
  /** The latest accepted voucher's sequence, cumulative amount and root (0, 0, zero hash without one). */
  from: bigint
  previousAmount: bigint
  previousRoot: Hex
  /** The voucher presented. */
  through: bigint
  cumulativeAmount: bigint
  jobsRoot: Hex
  /** The jobs it holds in (from, through], by sequence; a missing sequence is one it never received. */
  jobs: ReadonlyMap<bigint, HeldJob>
  /** Chain time now. */
  now: bigint
}

export type VoucherCheck =
  | { ok: true }
  | { ok: false; refusal: 'not-delivered' | 'voucher-mismatch'; why: string; owed?: bigint }

/**
 * Most ways a voucher may be read (see below) before it is refused: each job delivered and past
 * its claim deadline without a claim doubles them, and a provider claims such jobs long before.
 */
export const MAX_READINGS = 4096

interface Entry {
  amount: bigint
  leaf: VoucherJobLeaf
}

/**
 * Whether a voucher pays exactly what the provider is owed for jobs (from, through], under the
 * CLOSED rule both sides apply (`jobClosure`). Per job it accepts:
 * - a sequence it never received: 0, with the all-zero entry (it did no work for it);
 * - a job closed by its claim's end: the claim's amount and entry, nothing else;
 * - a delivered job not closed: exactly its amount and result (it can still claim it);
 * - a delivered job past its claim deadline with no claim: its amount (the requester verified
 *   it) or 0 (it did not; the provider can no longer claim it either way);
 * - a job not delivered: 0 once past its claim deadline, otherwise the voucher is refused.
 * The jobsRoot tells which reading the requester used; they are tried in order (bounded).
 */
export function checkVoucher(input: VoucherCheckInput): VoucherCheck {
  const options: Entry[][] = []
  let readings = 1
  for (let s = input.from + 1n; s <= input.through; s++) {
    const job = input.jobs.get(s)
    if (!job) {
      options.push([{ amount: 0n, leaf: zeroLeaf(s) }])
      continue
    }
    const closure = jobClosure({
      sequence: s,
      award: job.award,
      ...(job.claim ? { claim: job.claim } : {}),
      now: input.now,
    })
    const delivered: Entry | undefined = job.delivered
      ? {
          amount: job.delivered.amount,
          leaf: {
            sequence: s,
            specHash: job.award.specHash,
            resultHash: job.delivered.resultHash,
            fuelUsed: job.delivered.fuelUsed,
            pricePerFuel: job.award.pricePerFuel,
          },
        }
      : undefined
    if (closure.closed && closure.why !== 'claim-deadline') {
      options.push([{ amount: closure.amount, leaf: closure.leaf }])
    } else if (closure.closed) {
      options.push(
        delivered ? [delivered, { amount: 0n, leaf: closure.leaf }] : [{ amount: 0n, leaf: closure.leaf }],
      )
    } else if (delivered) {
      options.push([delivered])
    } else {
      return { ok: false, refusal: 'not-delivered', why: `job ${s} was not delivered` }
    }
    readings *= options.at(-1)!.length
    if (readings > MAX_READINGS) {
      return {
        ok: false,
        refusal: 'voucher-mismatch',
        why: 'too many jobs past their claim deadline unclaimed',
      }
    }
  }
  // Depth-first over the readings, extending the root one leaf at a time.
  const leafHashes = options.map((entries) => entries.map((e) => jobLeaf(e.leaf)))
  const search = (i: number, amount: bigint, root: Hex): boolean => {
    if (i === options.length) return amount === input.cumulativeAmount && root === input.jobsRoot
    return options[i]!.some((entry, k) =>
      search(i + 1, amount + entry.amount, extendByLeafHash(root, leafHashes[i]![k]!)),
    )
  }
  if (search(0, input.previousAmount, input.previousRoot)) return { ok: true }
  const owed = options.reduce((sum, entries) => sum + entries[0]!.amount, input.previousAmount)
  return {
    ok: false,
    refusal: 'voucher-mismatch',
    why: `the voucher pays ${input.cumulativeAmount} through job ${input.through}; delivered ${owed}`,
    owed,
  }
}

/** One step of the jobsRoot hash chain from a leaf's hash (as `extendJobsRoot`). */
function extendByLeafHash(root: Hex, leafHash: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [root, leafHash]))
}
