/**
 * Hardhat 3 runs the Solidity tests (test/sol/*.t.sol: unit, fuzz and invariant tests with
 * cheatcodes) against the same sources that scripts/compile.ts builds for the TS suite. It never
 * downloads a compiler: solc-js from node_modules is given by path, so `npm run test:sol` works
 * offline on a fresh clone after `npm ci`. Build output goes under artifacts/ (ignored by git and
 * by the linter). Run: `npm run test:sol --workspace=@bazaar/contracts`.
 */
import { createRequire } from 'node:module'
import type { HardhatUserConfig } from 'hardhat/config'

const require = createRequire(import.meta.url)
const solcVersion = (require('solc/package.json') as { version: string }).version

/**
 * Fuzz and invariant budgets. The whole Solidity suite runs in seconds once compiled (the cold
 * solc-js compile dominates), so CI affords 1000 runs per fuzz test and 256 sequences of 64 calls
 * for the invariant. A fixed seed keeps CI reproducible; set FUZZ_SEED (and FUZZ_RUNS,
 * INVARIANT_RUNS) to search elsewhere or deeper locally.
 */
const fuzzRuns = Number(process.env.FUZZ_RUNS ?? 1000)
const invariantRuns = Number(process.env.INVARIANT_RUNS ?? 256)
const fuzzSeed = process.env.FUZZ_SEED ?? '0xba2aa2'

const config: HardhatUserConfig = {
  solidity: {
    version: solcVersion,
    path: require.resolve('solc/soljson.js'),
    settings: {
      // As scripts/compile.ts but without the IR pipeline (viaIR): under it the test contracts'
      // vm.roll / block.number assumptions break (two court tests) and solc needs far longer.
      // The shipped artifacts are compiled with viaIR (the court must fit EIP-170); the TS and
      // e2e tests run those.
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
    },
  },
  paths: {
    sources: 'contracts',
    tests: { solidity: 'test/sol' },
    artifacts: 'artifacts/hardhat',
    cache: 'artifacts/hardhat-cache',
  },
  test: {
    solidity: {
      fuzz: { runs: fuzzRuns, seed: fuzzSeed },
      // The handler only makes calls that must succeed (it skips actions that do not apply), so
      // any revert is a failure: a settlement, refund or expiry that should go through did not.
      invariant: { runs: invariantRuns, depth: 64, failOnRevert: true },
    },
  },
}

export default config
