#!/usr/bin/env node
import { BaseError } from '@bazaar/protocol'
import { Command, CommanderError } from 'commander'
import { registerContractsCommand } from './commands/contracts.ts'
import { registerDemoCommand } from './commands/demo.ts'
import { registerDevnetCommand } from './commands/devnet.ts'
import { registerJobCommand } from './commands/job.ts'
import { registerMarketCommand } from './commands/market.ts'
import { registerNodeCommand } from './commands/node.ts'
import { registerProviderCommand } from './commands/provider.ts'
import { registerVaultCommand } from './commands/vault.ts'
import { registerWalletCommand } from './commands/wallet.ts'
import { ExitCode, exitCodeFor } from './exit-codes.ts'

const program = new Command()
  .name('bazaar')
  .description('Bazaar: a decentralized compute marketplace. Sell idle compute, buy verified results.')
  .showHelpAfterError()
  .exitOverride()

registerDemoCommand(program)
registerDevnetCommand(program)
registerContractsCommand(program)
registerJobCommand(program)
registerMarketCommand(program)
registerNodeCommand(program)
registerWalletCommand(program)
registerProviderCommand(program)
registerVaultCommand(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage)
  if (err instanceof BaseError) {
    console.error(`error: ${err.message}`)
    if (err.hint) console.error(`hint: ${err.hint}`)
    // With --json, also one machine-readable line on stderr (stdout stays for results).
    if (process.argv.includes('--json'))
      console.error(
        JSON.stringify({ error: err.toJSON() }, (_, v) => (typeof v === 'bigint' ? v.toString() : v)),
      )
    process.exit(exitCodeFor(err))
  }
  console.error(err)
  process.exit(ExitCode.Internal)
}
