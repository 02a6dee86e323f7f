/**
 * A guard that the Solidity tests (test/sol, run by `npm run test:sol`) keep covering the whole
 * interface of the Bazaar contracts: every external function of ComputeToken, ProviderRegistry,
 * JobMarket and VerificationCourt (inherited OpenZeppelin ones included) must be called somewhere in
 * test/sol, and every custom error `Prefix__What` (the contract name, or `Court__` for the court)
 * must be the expected revert of a `vm.expectRevert(...)`. The ABIs
 * come from the compiled artifacts, so a function or error added to a contract without a Solidity
 * test fails here. It also checks that the suite is wired into `npm test`.
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

/** OpenZeppelin errors the contracts raise on purpose; each must be checked by selector. */
const OZ_ERRORS_WE_RELY_ON = [
  'AccessControlUnauthorizedAccount',
  'AccessControlBadConfirmation',
  'OwnableUnauthorizedAccount',
  'ReentrancyGuardReentrantCall',
  'ERC2612InvalidSigner',
  'ERC2612ExpiredSignature',
  'ERC20InsufficientAllowance',
]

const solDir = join(import.meta.dirname, 'sol')
const solFiles = readdirSync(solDir).filter((file) => file.endsWith('.sol'))
const sources = solFiles
  .filter((file) => file !== 'Vm.sol')
  .map((file) => readFileSync(join(solDir, file), 'utf8'))
  // Comments do not exercise anything.
  .map((text) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, ''))
  .join('\n')

/** Contract name, its ABI, and the prefix of its custom errors. */
const contracts = [
  ['ComputeToken', computeTokenAbi, 'ComputeToken__'],
  ['ProviderRegistry', providerRegistryAbi, 'ProviderRegistry__'],
  ['JobMarket', jobMarketAbi, 'JobMarket__'],
  ['VerificationCourt', verificationCourtAbi, 'Court__'],
  ['VoucherVault', voucherVaultAbi, 'Vault__'],
] as const

/** `x.fn(` or `x.fn{`: a call, not just a mention. */
function isCalled(fn: string): boolean {
  return new RegExp(`\\.${fn}\\s*[({]`).test(sources)
}

/** `vm.expectRevert(X.Error.selector)` or `vm.expectRevert(abi.encodeWithSelector(X.Error.selector, ...))`. */
function isExpectedRevert(error: string): boolean {
  return new RegExp(
    `expectRevert\\(\\s*(abi\\.encodeWithSelector\\(\\s*)?(\\w+\\.)?${error}\\.selector`,
  ).test(sources)
}

describe('Solidity test coverage of the contract interfaces', () => {
  it('has unit, fuzz and invariant test files', () => {
    for (const file of [
      'ComputeToken.t.sol',
      'ProviderRegistry.t.sol',
      'JobMarket.t.sol',
      'VerificationCourt.t.sol',
      'VerificationCourtFuzz.t.sol',
      'VoucherVault.t.sol',
      'VoucherVaultInvariant.t.sol',
    ]) {
      assert.ok(solFiles.includes(file), `missing test/sol/${file}`)
    }
    assert.match(sources, /function testFuzz_\w+\(/)
    assert.match(sources, /function invariant_\w+\(/)
  })

  for (const [name, abi, prefix] of contracts) {
    it(`calls every external function of ${name}`, () => {
      const functions = abi.filter((item) => item.type === 'function').map((item) => item.name)
      assert.ok(functions.length > 0)
      const missing = functions.filter((fn) => !isCalled(fn))
      assert.deepEqual(missing, [], `${name} functions never called in test/sol`)
    })

    it(`expects every custom error of ${name} as a revert`, () => {
      const errors = abi
        .filter((item) => item.type === 'error')
        .map((item) => item.name)
        .filter((error) => error.startsWith(prefix))
      const missing = errors.filter((error) => !isExpectedRevert(error))
      assert.deepEqual(missing, [], `${name} errors never expected as a revert in test/sol`)
    })
  }

  it('checks the OpenZeppelin errors the contracts rely on', () => {
    const missing = OZ_ERRORS_WE_RELY_ON.filter(
      (error) => !new RegExp(`\\b${error}\\.selector`).test(sources),
    )
    assert.deepEqual(missing, [])
  })

  it('runs in npm test', () => {
    const root = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8'))
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'))
    assert.match(pkg.scripts['test:sol'], /hardhat test solidity/)
    assert.match(root.scripts.test, /npm run test:sol --workspace=@bazaar\/contracts/)
  })
})
