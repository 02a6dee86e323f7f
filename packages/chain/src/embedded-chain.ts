import { fileURLToPath } from 'node:url'
import { createHardhatRuntimeEnvironment } from 'hardhat/hre'
import { type Address, bytesToHex, type Hex, parseEther } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import type { Eip1193Provider } from './clients.ts'

/** Hardhat's well-known test mnemonic: the keys are public, use them only on local chains. */
const TEST_MNEMONIC = 'test test test test test test test test test test test junk'
const NETWORK_NAME = 'bazaarEmbedded'
/**
 * Hardhat wants a project root (the closest package.json to the cwd by default, which fails when
 * the CLI runs outside any npm project). This package's root is always there; nothing is written to it.
 */
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url))

export interface EmbeddedChainInit {
  /** Number of funded accounts (default 10). */
  accounts?: number
  /** Native balance of each account, in ether (default 10 000). */
  balanceEth?: bigint
  /** Chain id (default 31337). */
  chainId?: number
}

export interface DevAccount {
  address: Address
  privateKey: Hex
}

export interface EmbeddedChain {
  /** EIP-1193 provider of the in-process chain; wrap it with viem's `custom()`. */
  provider: Eip1193Provider
  chainId: number
  /** Funded accounts derived from the Hardhat test mnemonic (same keys on every run). */
  accounts: DevAccount[]
  /** Moves the clock forward by `seconds` and mines a block with the new time. */
  increaseTime(seconds: number | bigint): Promise<void>
  /** Timestamp of the latest block, in unix seconds. */
  latestTimestamp(): Promise<bigint>
  /** Stops the chain and frees its resources. */
  close(): Promise<void>
}

/** The deterministic test keys at indexes 0..count-1 of the Hardhat test mnemonic. */
export function devAccounts(count: number): DevAccount[] {
  return Array.from({ length: count }, (_, addressIndex) => {
    const account = mnemonicToAccount(TEST_MNEMONIC, { addressIndex })
    const privateKey = account.getHdKey().privateKey
    if (!privateKey) throw new Error('HD key without a private key')
    return { address: account.address, privateKey: bytesToHex(privateKey) }
  })
}

/**
 * Starts Hardhat's EDR EVM in-process (no config file, no compiler download), with automine:
 * every transaction is mined into its own block as soon as it is sent.
 */
export async function startEmbeddedChain(init: EmbeddedChainInit = {}): Promise<EmbeddedChain> {
  const { accounts: count = 10, balanceEth = 10_000n, chainId = 31337 } = init
  const accounts = devAccounts(count)
  const balance = parseEther(balanceEth.toString())
  const hre = await createHardhatRuntimeEnvironment(
    {
      networks: {
        [NETWORK_NAME]: {
          type: 'edr-simulated',
          chainType: 'l1',
          chainId,
          mining: { auto: true, interval: 0 },
          // Automining otherwise forces each block one second past the last, so a busy
          // market runs the chain clock minutes ahead of the wall clock and deadlines break.
          allowBlocksWithSameTimestamp: true,
          accounts: accounts.map(({ privateKey }) => ({ privateKey, balance })),
        },
      },
    },
    {},
    PROJECT_ROOT,
  )
  const connection = await hre.network.create(NETWORK_NAME)
  const provider: Eip1193Provider = connection.provider

  return {
    provider,
    chainId,
    accounts,
    async increaseTime(seconds) {
      await provider.request({ method: 'evm_increaseTime', params: [Number(seconds)] })
      await provider.request({ method: 'evm_mine', params: [] })
    },
    async latestTimestamp() {
      const block = (await provider.request({
        method: 'eth_getBlockByNumber',
        params: ['latest', false],
      })) as {
        timestamp: Hex
      }
      return BigInt(block.timestamp)
    },
    async close() {
      await connection.close()
    },
  }
}
