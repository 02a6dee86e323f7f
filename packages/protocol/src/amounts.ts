import { formatUnits, parseUnits } from 'viem'

/** The compute token has 18 decimals, like ether. All amounts in code are bigint base units. */
export const TOKEN_DECIMALS = 18
export const TOKEN_SYMBOL = 'BZR'

export function formatTokens(amount: bigint): string {
  return `${formatUnits(amount, TOKEN_DECIMALS)} ${TOKEN_SYMBOL}`
}

export function parseTokens(text: string): bigint {
  return parseUnits(text, TOKEN_DECIMALS)
}
