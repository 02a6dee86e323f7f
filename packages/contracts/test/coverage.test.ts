/**
 * A guard that the other test files exercise every external function and every custom error of
 * the Bazaar contracts: each function must be called by name somewhere, and each error must be
 * asserted as a revert (as a quoted name, which is how `assertRevert` and `errorName` checks spell
 * it). A function or error added without a test fails here. Functions inherited unchanged from
 * OpenZeppelin (ERC-20 plumbing, role management) are exempt; their own suites test them.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import {
  computeTokenAbi,
  jobMarketAbi,
  providerRegistryAbi,
  verificationCourtAbi,
  voucherVaultAbi,
} from '@bazaar/contracts'

const INHERITED = new Set([
  'allowance',
  'transfer',
  'transferFrom',
  'name',
  'DOMAIN_SEPARATOR',
  'eip712Domain',
  'renounceOwnership',
  'transferOwnership',
  'getRoleAdmin',
  'renounceRole',
  'revokeRole',
  'supportsInterface',
])
/** OpenZeppelin errors these contracts can raise on purpose (the rest are ERC-20 internals). */
const OZ_ERRORS_WE_RELY_ON = [
  'AccessControlUnauthorizedAccount',
  'OwnableUnauthorizedAccount',
  'ReentrancyGuardReentrantCall',
  'ERC2612InvalidSigner',
  'ERC2612ExpiredSignature',
  'ERC20InsufficientAllowance',
]

const here = import.meta.dirname
const sources = readdirSync(here)
  // sol-coverage.test.ts names errors for its own (Solidity) check; it exercises nothing.
  .filter((file) => file.endsWith('.ts') && file !== 'coverage.test.ts' && file !== 'sol-coverage.test.ts')
  .map((file) => readFileSync(join(here, file), 'utf8'))
  .join('\n')

/** Contract name, its ABI, and the prefix of its custom errors. */
const contracts = [
  ['ComputeToken', computeTokenAbi, 'ComputeToken__'],
  ['ProviderRegistry', providerRegistryAbi, 'ProviderRegistry__'],
  ['JobMarket', jobMarketAbi, 'JobMarket__'],
  ['VerificationCourt', verificationCourtAbi, 'Court__'],
  ['VoucherVault', voucherVaultAbi, 'Vault__'],
] as const

/**
 * Court errors the TS tests cannot reach cheaply, each asserted with its exact arguments by the
 * Solidity tests (test/sol/VerificationCourt.t.sol, guarded by sol-coverage.test.ts):
 * - Court__ZeroAddress: a constructor argument check (test_constructor_wiresTheMarketAndRefusesZeroAddresses);
 * - Court__PoolFull: needs MAX_POOL (256) staked members (test_joinPool_refusesMemberNumberMaxPoolPlusOne);
 * - Court__DrawTooEarly: needs a draw in the same block as the call that armed it, which automining
 *   never produces (test_drawAudit_armsThenDrawsInALaterBlock, test_drawReferees_reverts);
 * - Court__NoVault: needs a court without a vault, which deployBazaar never leaves
 *   (VoucherCourt.t.sol test_setVoucherVault_onceAndOnlyByTheAdmin).
 */
const ASSERTED_IN_SOLIDITY_ONLY = new Set([
  'Court__ZeroAddress',
  'Court__PoolFull',
  'Court__DrawTooEarly',
  'Court__NoVault',
])

describe('test coverage of the contract interfaces', () => {
  for (const [name, abi, prefix] of contracts) {
    it(`calls every external function of ${name}`, () => {
      const functions = abi.filter((item) => item.type === 'function').map((item) => item.name)
      const missing = functions.filter((fn) => !INHERITED.has(fn) && !new RegExp(`\\b${fn}\\b`).test(sources))
      assert.deepEqual(missing, [], `${name} functions never called in a test`)
    })

    it(`asserts every custom error of ${name}`, () => {
      const errors = abi
        .filter((item) => item.type === 'error')
        .map((item) => item.name)
        .filter((error) => error.startsWith(prefix) && !ASSERTED_IN_SOLIDITY_ONLY.has(error))
      const missing = errors.filter((error) => !sources.includes(`'${error}'`))
      assert.deepEqual(missing, [], `${name} errors never asserted`)
    })
  }

  it('asserts the OpenZeppelin errors the contracts rely on', () => {
    const missing = OZ_ERRORS_WE_RELY_ON.filter(
      (error) => !sources.includes(`'${error}'`) && !sources.includes(`('${error}()')`),
    )
    assert.deepEqual(missing, [])
  })
})
