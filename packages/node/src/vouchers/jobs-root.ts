import { encodeAbiParameters, type Hex, keccak256, zeroHash } from 'viem'

/** What a voucher's jobsRoot commits to, per job. */
export interface VoucherJobLeaf {
  sequence: bigint
  specHash: Hex
  resultHash: Hex
  fuelUsed: bigint
  pricePerFuel: bigint
}

/** keccak256(abi.encode(sequence, specHash, resultHash, fuelUsed, pricePerFuel)). */
export function jobLeaf(job: VoucherJobLeaf): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'uint64' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint64' }, { type: 'uint256' }],
      [job.sequence, job.specHash, job.resultHash, job.fuelUsed, job.pricePerFuel],
    ),
  )
}

/**
 * The jobsRoot of a voucher covering jobs 1..n: a hash chain root_n = keccak256(root_{n-1},
 * leaf_n) from root_0 = 0. Not a Merkle tree: vouchers are cumulative, so each one extends the
 * last root by the jobs it adds (O(new jobs)), and either side recomputes it from its own records.
 * The vault does not check it; it is the audit trail of what was paid for.
 */
export function extendJobsRoot(previous: Hex, jobs: readonly VoucherJobLeaf[]): Hex {
  let root = previous
  for (const job of jobs) {
    root = keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [root, jobLeaf(job)]))
  }
  return root
}

/** The root over `jobs` (which must be sequences 1..n in order). */
export function jobsRoot(jobs: readonly VoucherJobLeaf[]): Hex {
  jobs.forEach((job, i) => {
    if (job.sequence !== BigInt(i + 1))
      throw new RangeError(`jobsRoot: job ${i} has sequence ${job.sequence}`)
  })
  return extendJobsRoot(zeroHash, jobs)
}
