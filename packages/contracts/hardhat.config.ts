/**
 * Hardhat 3 runs the Solidity tests (test/sol/*.t.sol: unit, fuzz and invariant tests with
 * cheatcodes) against the same sources, with the same solc settings (scripts/solc-settings.ts),
 * that scripts/compile.ts builds for the TS suite. It never downloads a compiler: solc-js from
 * node_modules is given by path, so `npm run test:sol` works offline on a fresh clone after
 * `npm ci`. Build output goes under artifacts/ (ignored by git and by the linter).
 * Run: `npm run test:sol --workspace=@bazaar/contracts`.
 */
import { createRequire } from 'node:module'
import type { HardhatUserConfig } from 'hardhat/config'
import { solcSettings } from './scripts/solc-settings.ts'

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
    // Exactly the settings the shipped artifacts are built with (scripts/compile.ts reads the
    // same module), so the Solidity tests compile the contracts as they ship: the IR pipeline
    // included, whose optimizer is why tests read the clock through cheatcodes (test/sol/Vm.sol).
    settings: solcSettings,
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
