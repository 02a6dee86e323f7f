import type { BazaarContracts } from '@bazaar/chain'
import { formatTokens } from '@bazaar/protocol'
import type { Command } from 'commander'
import { type Address, formatEther, getAddress, isAddress } from 'viem'
import { type ChainOptions, openChain, withChainOptions, withKeyOptions } from '../chain-options.ts'
import { asJson, blockTime, fundHint, requireGas, tokenAmount, when } from '../command-helpers.ts'
import { InsufficientFundsError, NotNowError } from '../errors.ts'
import { CredentialsError, keystoreAddress, keystorePath } from '../keys.ts'

/** Everything `provider status` shows, as plain values (amounts in base units). */
async function statusOf(contracts: BazaarContracts, address: Address) {
  const [account, reputation, eligible, params, now, tokens] = await Promise.all([
    contracts.accountOf(address),
    contracts.reputationOf(address),
    contracts.isEligible(address),
    contracts.registryParameters(),
    blockTime(contracts),
    contracts.balanceOf(address),
  ])
  return {
    address,
    eligible,
    tokens,
    staked: account.staked,
    locked: account.locked,
    available: account.staked - account.locked,
    unbonding: account.unbonding,
    unbondingReadyAt: account.unbondingReadyAt,
    jailed: account.jailedUntil > now,
    jailedUntil: account.jailedUntil,
    faults: account.faults,
    minStake: params.minStake,
    reputation: {
      completed: reputation.completed,
      failed: reputation.failed,
      unitsServed: reputation.unitsServed,
      slashedAmount: reputation.slashedAmount,
      score: reputation.score,
    },
    blockTime: now,
  }
}

export function registerProviderCommand(program: Command): void {
  const provider = program
    .command('provider')
    .description("Manage this account's provider stake in the registry, and see its standing")

  const signing = (command: Command) =>
    withChainOptions(withKeyOptions(command.option('--json', 'print the result as JSON')))

  signing(
    provider
      .command('stake <amount>')
      .description('Stake compute tokens (BZR) so requesters can award jobs to this account'),
  )
    .addHelpText(
      'after',
      `
Stakes with an EIP-2612 permit (one transaction, no separate approve). The registry's minimum
stake is shown by \`bazaar provider status\`.

Examples:
  $ bazaar provider stake 100 --keystore provider.json --deployment d.json
  $ BAZAAR_PASSWORD=... bazaar provider stake 10.5 --json`,
    )
    .action(async (raw: string, opts: ChainOptions) => {
      const value = tokenAmount(raw)
      const contracts = await openChain(opts, true)
      await requireGas(contracts)
      const tokens = await contracts.balanceOf(contracts.address)
      if (tokens < value) {
        throw new InsufficientFundsError(
          `account ${contracts.address} holds ${formatTokens(tokens)}, less than the ${formatTokens(value)} to stake`,
          {
            hint: fundHint(contracts.address),
            details: { tokens: tokens.toString(), needed: value.toString() },
          },
        )
      }
      const tx = await contracts.stakeWithPermit(value)
      const staked = await contracts.stakeOf(contracts.address)
      if (opts.json)
        console.log(asJson({ address: contracts.address, staked: staked, tx: tx.hash, gasUsed: tx.gasUsed }))
      else
        console.log(
          `staked ${formatTokens(value)}: ${contracts.address} now has ${formatTokens(staked)} staked (tx ${tx.hash})`,
        )
    })

  signing(
    provider
      .command('unbond <amount>')
      .description('Start unbonding stake; withdraw it after the registry unbonding delay'),
  )
    .addHelpText(
      'after',
      `
Unbonding stake no longer counts toward eligibility but stays slashable until withdrawn.

Example:
  $ bazaar provider unbond 50 --keystore provider.json --deployment d.json`,
    )
    .action(async (raw: string, opts: ChainOptions) => {
      const value = tokenAmount(raw)
      const contracts = await openChain(opts, true)
      await requireGas(contracts)
      const account = await contracts.accountOf(contracts.address)
      const available = account.staked - account.locked
      if (available < value) {
        throw new InsufficientFundsError(
          `only ${formatTokens(available)} of ${contracts.address}'s stake is free to unbond (${formatTokens(account.locked)} is locked by jobs in flight)`,
          { hint: 'unbond less, or wait for running jobs to settle' },
        )
      }
      const tx = await contracts.requestUnbond(value)
      const after = await contracts.accountOf(contracts.address)
      const now = await blockTime(contracts)
      if (opts.json) console.log(asJson({ address: contracts.address, ...after, tx: tx.hash }))
      else {
        console.log(
          `unbonding ${formatTokens(after.unbonding)}; withdraw from ${when(after.unbondingReadyAt, now)}`,
        )
        console.log(`  still staked ${formatTokens(after.staked)}`)
      }
    })

  signing(provider.command('withdraw').description('Withdraw stake whose unbonding delay has passed'))
    .addHelpText(
      'after',
      '\nExample:\n  $ bazaar provider withdraw --keystore provider.json --deployment d.json',
    )
    .action(async (opts: ChainOptions) => {
      const contracts = await openChain(opts, true)
      const [account, now] = await Promise.all([contracts.accountOf(contracts.address), blockTime(contracts)])
      if (account.unbonding === 0n) {
        throw new NotNowError(`${contracts.address} has nothing unbonding to withdraw`, {
          hint: 'start with `bazaar provider unbond <amount>`',
        })
      }
      if (account.unbondingReadyAt > now) {
        throw new NotNowError(
          `${formatTokens(account.unbonding)} is unbonding until ${when(account.unbondingReadyAt, now)}`,
          { hint: 'run `bazaar provider withdraw` again after that time' },
        )
      }
      await requireGas(contracts)
      const tx = await contracts.withdraw()
      if (opts.json)
        console.log(asJson({ address: contracts.address, withdrawn: account.unbonding, tx: tx.hash }))
      else console.log(`withdrew ${formatTokens(account.unbonding)} to ${contracts.address} (tx ${tx.hash})`)
    })

  withChainOptions(
    withKeyOptions(
      provider
        .command('status [address]')
        .description(
          'Stake, locked collateral, unbonding, jail and reputation of a provider (default: the keystore)',
        )
        .option('--json', 'print JSON (amounts in base units; score in WAD, 1e18 = perfect)'),
    ),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ bazaar provider status --keystore provider.json --deployment d.json
  $ bazaar provider status 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --deployment d.json --json`,
    )
    .action(async (who: string | undefined, opts: ChainOptions) => {
      if (who !== undefined && !isAddress(who)) {
        throw new CredentialsError(`not an address: ${who}`, {
          hint: 'pass a 0x address, or none for the keystore',
        })
      }
      const address = who ? getAddress(who) : await keystoreAddress(keystorePath(opts))
      const contracts = await openChain(opts, false)
      const s = await statusOf(contracts, address)
      if (opts.json) {
        console.log(asJson(s))
        return
      }
      const native = await contracts.clients.publicClient.getBalance({ address })
      const score = Number(s.reputation.score / 10n ** 12n) / 1e6
      console.log(`provider ${address}: ${s.eligible ? 'eligible for awards' : 'NOT eligible'}`)
      console.log(`  staked      ${formatTokens(s.staked)} (minimum ${formatTokens(s.minStake)})`)
      console.log(`  locked      ${formatTokens(s.locked)} (collateral of jobs in flight)`)
      if (s.unbonding > 0n)
        console.log(
          `  unbonding   ${formatTokens(s.unbonding)}, withdrawable ${when(s.unbondingReadyAt, s.blockTime)}`,
        )
      else console.log('  unbonding   none')
      console.log(
        `  jailed      ${s.jailed ? `until ${when(s.jailedUntil, s.blockTime)}` : 'no'} (${s.faults} fault(s))`,
      )
      console.log(
        `  reputation  score ${score.toFixed(3)}; ${s.reputation.completed} completed, ${s.reputation.failed} failed, ${formatTokens(s.reputation.slashedAmount)} slashed`,
      )
      console.log(`  wallet      ${formatTokens(s.tokens)}, ${formatEther(native)} native for gas`)
    })
}
