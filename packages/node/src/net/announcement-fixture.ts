import type { JobAnnouncement } from '@bazaar/protocol'

/**
 * A well-formed job announcement for tests (gossip, voucher disputes): a tiny wasm job on the
 * local chain's market, open for a minute. `overrides` replace top-level fields; `job` ones
 * are merged into the descriptor.
 */
export function testAnnouncement(
  requesterPeerId: string,
  jobId: string,
  overrides: Partial<Omit<JobAnnouncement, 'job'>> & { job?: Partial<JobAnnouncement['job']> } = {},
): JobAnnouncement {
  const { job, ...top } = overrides
  return {
    type: 'job-announcement',
    chainId: 31337,
    market: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
    jobId,
    requester: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
    requesterPeerId,
    specHash: `0x${'ab'.repeat(32)}`,
    job: {
      name: 'hello',
      runtime: 'wasm',
      moduleCid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
      args: [],
      env: {},
      inputs: [],
      resources: { cores: 1, memoryMb: 64 },
      limits: { fuel: '1000000', timeoutMs: 5_000, outputBytes: 1024 },
      maxPricePerFuel: '10',
      verification: { mode: 'none' },
      ...job,
    } as JobAnnouncement['job'],
    bidDeadline: Date.now() + 60_000,
    requesterAddrs: [],
    ...top,
  }
}
