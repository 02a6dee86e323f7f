import { type Address, encodeAbiParameters, type Hex, keccak256 } from 'viem'

export interface ResultCommitmentInput {
  /** sha2-256 digest of the output bytes (the CID digest), as bytes32. */
  resultHash: Hex
  /** Metered fuel the provider claims. */
  fuelUsed: bigint
  /** 32 random bytes kept secret until the reveal. */
  salt: Hex
  /** The awarded provider (binds the commitment so it cannot be copied by another provider). */
  provider: Address
}

/**
 * The commitment JobMarket.commitResult expects:
 * keccak256(abi.encode(bytes32 resultHash, uint64 fuelUsed, bytes32 salt, address provider)).
 */
export function resultCommitment({ resultHash, fuelUsed, salt, provider }: ResultCommitmentInput): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'uint64' }, { type: 'bytes32' }, { type: 'address' }],
      [resultHash, fuelUsed, salt, provider],
    ),
  )
}
