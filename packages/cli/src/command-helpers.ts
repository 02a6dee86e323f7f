import type { BazaarContracts } from '@bazaar/chain'
import { parseTokens } from '@bazaar/protocol'
import { InvalidArgumentError } from 'commander'
import { type Address, getAddress, isAddress } from 'viem'
import { InsufficientFundsError } from './errors.ts'

/** Parses a positive BZR amount argument ("100", "0.5") into base units. */
export function tokenAmount(value: string): bigint {
  let units: bigint
  try {
    units = parseTokens(value)
  } catch {
    throw new InvalidArgumentError('must be an amount of BZR such as 100 or 0.5')
  }
  if (units <= 0n) throw new InvalidArgumentError('must be more than 0')
  return units
}

/** Parses a 0x address argument (any case) into its checksummed form. */
export function addressArgument(value: string): Address {
  if (!isAddress(value, { strict: false })) throw new InvalidArgumentError('must be a 0x address')
  return getAddress(value)
}

export const fundHint = (address: Address) =>
  `on a devnet: \`bazaar devnet fund ${address} --rpc-url URL --deployment FILE\`; elsewhere, send to ${address}`

/** Fails before sending when the account cannot pay the gas, so the user sees why, not a revert. */
export async function requireGas(contracts: BazaarContracts): Promise<void> {
  const native = await contracts.clients.publicClient.getBalance({ address: contracts.address })
  if (native === 0n) {
    throw new InsufficientFundsError(`account ${contracts.address} has no native currency to pay gas`, {
      hint: fundHint(contracts.address),
    })
  }
}

/** Unix seconds of the latest block (the chain's clock, which delays are measured on). */
export async function blockTime(contracts: BazaarContracts): Promise<bigint> {
  return (await contracts.clients.publicClient.getBlock({ blockTag: 'latest' })).timestamp
}

/** JSON with bigints as decimal strings (amounts stay exact). */
export const asJson = (value: unknown) =>
  JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v))

/** A unix time as ISO text, with how far away it is on the chain's clock. */
export const when = (seconds: bigint, now: bigint) =>
  `${new Date(Number(seconds) * 1000).toISOString()} (${seconds > now ? `in ${seconds - now} s` : 'now'})`
