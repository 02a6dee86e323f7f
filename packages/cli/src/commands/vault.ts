import { type BazaarContracts, createVoucherVault, type VaultChannel, type VoucherVault } from '@bazaar/chain'
import { connectChain } from '@bazaar/node/daemon/connect-chain'
import { formatTokens } from '@bazaar/protocol'
import type { Command } from 'commander'
import { type Address, zeroAddress } from 'viem'
import { type ChainOptions, requireDeployment, withChainOptions, withKeyOptions } from '../chain-options.ts'
import {
  addressArgument,
  asJson,
  blockTime,
  fundHint,
  requireGas,
  tokenAmount,
  when,
} from '../command-helpers.ts'
import { InsufficientFundsError, NotNowError } from '../errors.ts'
import { keystoreAddress, keystorePath, unlockKey } from '../keys.ts'

interface VaultOptions extends ChainOptions {
  provider?: Address
}

/** The contracts (signing with the keystore when `sign`) and the deployment's VoucherVault. */
async function openVault(
  opts: ChainOptions,
  sign: boolean,
): Promise<{ contracts: BazaarContracts; vault: VoucherVault; fromBlock: bigint }> {
  const deployment = await requireDeployment(opts)
  const privateKey = sign ? (await unlockKey(opts)).privateKey : undefined
  const contracts = await connectChain({
    rpcUrl: opts.rpcUrl,
    deployment,
    ...(privateKey ? { privateKey } : {}),
  })
  return {
    contracts,
    vault: createVoucherVault(contracts, deployment.vault),
    fromBlock: BigInt(deployment.deployedAtBlock),
  }
}

/** "the unassigned balance" or "the escrow for provider 0x…", for messages. */
const accountName = (provider: Address) =>
  provider === zeroAddress ? 'the unassigned balance' : `the escrow for provider ${provider}`

/** One channel as status shows it (amounts in base units). */
function channelView(provider: Address, c: VaultChannel) {
  return {
    provider,
    balance: c.balance,
    collected: c.collected,
    paidThrough: c.paidThrough,
    thaw: c.thawReadyAt === 0n ? null : { amount: c.thawAmount, readyAt: c.thawReadyAt },
  }
}

/** Everything `vault status` shows for a requester. */
async function statusOf(vault: VoucherVault, requester: Address, fromBlock: bigint) {
  const [head, now, delays] = await Promise.all([vault.blockNumber(), vault.nowSeconds(), vault.delays()])
  const [providers, authorized, revocations] = await Promise.all([
    vault.providersFundedBy(requester, fromBlock, head),
    vault.signersAuthorizedBy(requester, fromBlock, head),
    vault.signerRevocationsSince(fromBlock, head),
  ])
  const channels = await Promise.all(
    [zeroAddress, ...providers].map(async (p) => channelView(p, await vault.channelOf(requester, p))),
  )
  const signers = await Promise.all(
    authorized.map(async (signer) => {
      const revoked = revocations
        .filter((r) => r.requester.toLowerCase() === requester.toLowerCase())
        .filter((r) => r.signer.toLowerCase() === signer.toLowerCase())
        .at(-1)
      const live = await vault.isSigner(requester, signer)
      return {
        signer,
        live,
        ...(revoked && revoked.effectiveAt > 0n ? { revokedAt: revoked.effectiveAt } : {}),
      }
    }),
  )
  return {
    requester,
    vault: vault.address,
    unassigned: channels[0]!,
    channels: channels.slice(1),
    signers,
    delays,
    blockTime: now,
  }
}

export function registerVaultCommand(program: Command): void {
  const vault = program
    .command('vault')
    .description(
      'Manage the VoucherVault escrow that pays voucher jobs: balances, deposits, withdrawals (after a thaw), signing keys',
    )
    .addHelpText(
      'after',
      `
A requester node on the voucher path tops its escrow up by itself; these commands are for the
money you manage by hand. Withdrawing is announced first (\`vault thaw\`) and possible after the
vault's thaw delay, so providers stop taking work you may no longer pay for. See docs/vouchers.md.`,
    )

  const signing = (command: Command) =>
    withChainOptions(withKeyOptions(command.option('--json', 'print the result as JSON')))
  const withProvider = (command: Command, what: string) =>
    command.option('--provider <address>', `${what} (default: the unassigned balance)`, addressArgument)

  withChainOptions(
    withKeyOptions(
      vault
        .command('status [requester]')
        .description(
          'Escrow per provider, unassigned balance, thaws and signing keys (default: the keystore)',
        )
        .option('--json', 'print JSON (amounts in base units)'),
    ),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ bazaar vault status --keystore requester.json --deployment d.json
  $ bazaar vault status 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC --deployment d.json --json`,
    )
    .action(async (who: string | undefined, opts: ChainOptions) => {
      const requester = who ? addressArgument(who) : await keystoreAddress(keystorePath(opts))
      const { vault: v, fromBlock } = await openVault(opts, false)
      const s = await statusOf(v, requester, fromBlock)
      if (opts.json) {
        console.log(asJson(s))
        return
      }
      const thawText = (c: ReturnType<typeof channelView>) =>
        c.thaw ? `, withdrawing ${formatTokens(c.thaw.amount)} from ${when(c.thaw.readyAt, s.blockTime)}` : ''
      console.log(`vault ${s.vault}, requester ${requester}`)
      console.log(`  unassigned  ${formatTokens(s.unassigned.balance)}${thawText(s.unassigned)}`)
      if (s.channels.length === 0) console.log('  no provider escrow yet')
      for (const c of s.channels) {
        console.log(
          `  ${c.provider}  ${formatTokens(c.balance)} escrowed, ${formatTokens(c.collected)} paid through job ${c.paidThrough}${thawText(c)}`,
        )
      }
      for (const k of s.signers) {
        const state = k.live
          ? k.revokedAt
            ? `signs until ${when(k.revokedAt, s.blockTime)}`
            : 'signs'
          : 'revoked'
        console.log(`  signing key ${k.signer}: ${state}`)
      }
      console.log(
        `  delays      thaw ${s.delays.thawDelay} s, key revocation ${s.delays.signerRevokeDelay} s, claim window ${s.delays.claimWindow} s`,
      )
    })

  withProvider(
    signing(
      vault
        .command('deposit <amount>')
        .description('Deposit BZR into the vault (one transaction, by permit)'),
    ),
    'escrow it for this provider',
  )
    .addHelpText(
      'after',
      `
Examples:
  $ bazaar vault deposit 50 --keystore requester.json --deployment d.json
  $ bazaar vault deposit 10 --provider 0x70997970C51812dc3A010C7d01b50e0d17dc79C8`,
    )
    .action(async (raw: string, opts: VaultOptions) => {
      const value = tokenAmount(raw)
      const provider = opts.provider ?? zeroAddress
      const { contracts, vault: v } = await openVault(opts, true)
      await requireGas(contracts)
      const tokens = await contracts.balanceOf(contracts.address)
      if (tokens < value) {
        throw new InsufficientFundsError(
          `account ${contracts.address} holds ${formatTokens(tokens)}, less than the ${formatTokens(value)} to deposit`,
          {
            hint: fundHint(contracts.address),
            details: { tokens: tokens.toString(), needed: value.toString() },
          },
        )
      }
      const tx = await v.depositWithPermit(provider, value)
      const after = await v.channelOf(contracts.address, provider)
      if (opts.json) console.log(asJson({ provider, deposited: value, balance: after.balance, tx: tx.hash }))
      else
        console.log(
          `deposited ${formatTokens(value)} into ${accountName(provider)}: now ${formatTokens(after.balance)} (tx ${tx.hash})`,
        )
    })

  signing(
    vault
      .command('assign <amount>')
      .description('Move part of the unassigned balance into the escrow for one provider')
      .requiredOption('--provider <address>', 'the provider to escrow it for', addressArgument),
  ).action(async (raw: string, opts: VaultOptions & { provider: Address }) => {
    const value = tokenAmount(raw)
    const { contracts, vault: v } = await openVault(opts, true)
    await requireGas(contracts)
    const pool = await v.channelOf(contracts.address, zeroAddress)
    if (pool.balance < value) {
      throw new InsufficientFundsError(
        `the unassigned balance holds ${formatTokens(pool.balance)}, less than the ${formatTokens(value)} to assign`,
        { hint: 'deposit first: `bazaar vault deposit <amount>`' },
      )
    }
    const tx = await v.assign(opts.provider, value)
    const after = await v.channelOf(contracts.address, opts.provider)
    if (opts.json)
      console.log(asJson({ provider: opts.provider, assigned: value, balance: after.balance, tx: tx.hash }))
    else
      console.log(
        `assigned ${formatTokens(value)} to ${accountName(opts.provider)}: now ${formatTokens(after.balance)}`,
      )
  })

  withProvider(
    signing(
      vault
        .command('thaw <amount>')
        .description('Announce a withdrawal; make it with `vault withdraw` after the thaw delay'),
    ),
    'thaw the escrow for this provider',
  )
    .addHelpText(
      'after',
      `
Until the delay is over the escrow still pays the vouchers and claims you signed, and providers
stop taking new work from you. A new thaw replaces the previous one and restarts the delay.`,
    )
    .action(async (raw: string, opts: VaultOptions) => {
      const value = tokenAmount(raw)
      const provider = opts.provider ?? zeroAddress
      const { contracts, vault: v } = await openVault(opts, true)
      await requireGas(contracts)
      const channel = await v.channelOf(contracts.address, provider)
      if (channel.balance < value) {
        throw new InsufficientFundsError(
          `${accountName(provider)} holds ${formatTokens(channel.balance)}, less than the ${formatTokens(value)} to thaw`,
          { hint: 'see `bazaar vault status` for what each escrow holds' },
        )
      }
      const tx = await v.startThaw(provider, value)
      const [thaw, now] = await Promise.all([v.thawOf(contracts.address, provider), blockTime(contracts)])
      if (opts.json)
        console.log(asJson({ provider, amount: thaw.amount, readyAt: thaw.readyAt, tx: tx.hash }))
      else
        console.log(
          `thawing ${formatTokens(thaw.amount)} of ${accountName(provider)}; withdraw from ${when(thaw.readyAt, now)}`,
        )
    })

  withProvider(
    signing(vault.command('cancel-thaw').description('Cancel an announced withdrawal')),
    'the escrow for this provider',
  ).action(async (opts: VaultOptions) => {
    const provider = opts.provider ?? zeroAddress
    const { contracts, vault: v } = await openVault(opts, true)
    const thaw = await v.thawOf(contracts.address, provider)
    if (thaw.readyAt === 0n) {
      throw new NotNowError(`${accountName(provider)} has no withdrawal announced`, {
        hint: 'nothing to cancel; `bazaar vault status` shows every thaw',
      })
    }
    await requireGas(contracts)
    const tx = await v.cancelThaw(provider)
    if (opts.json) console.log(asJson({ provider, cancelled: thaw.amount, tx: tx.hash }))
    else console.log(`cancelled the withdrawal of ${formatTokens(thaw.amount)} from ${accountName(provider)}`)
  })

  withProvider(
    signing(vault.command('withdraw').description('Withdraw a thawed amount once its delay is over')),
    'the escrow for this provider',
  ).action(async (opts: VaultOptions) => {
    const provider = opts.provider ?? zeroAddress
    const { contracts, vault: v } = await openVault(opts, true)
    const [thaw, now] = await Promise.all([v.thawOf(contracts.address, provider), blockTime(contracts)])
    if (thaw.readyAt === 0n) {
      throw new NotNowError(`${accountName(provider)} has no withdrawal announced`, {
        hint: 'announce it first: `bazaar vault thaw <amount>`, then withdraw after the thaw delay',
      })
    }
    if (thaw.readyAt > now) {
      throw new NotNowError(`${formatTokens(thaw.amount)} is thawing until ${when(thaw.readyAt, now)}`, {
        hint: 'run `bazaar vault withdraw` again after that time',
      })
    }
    await requireGas(contracts)
    const before = await contracts.balanceOf(contracts.address)
    const tx = await v.withdraw(provider)
    // What vouchers and claims left of the thawed amount: measured, not assumed.
    const withdrawn = (await contracts.balanceOf(contracts.address)) - before
    if (opts.json) console.log(asJson({ provider, withdrawn, tx: tx.hash }))
    else
      console.log(`withdrew ${formatTokens(withdrawn)} from ${accountName(provider)} to ${contracts.address}`)
  })

  signing(
    vault
      .command('authorize-signer <address>')
      .description('Let another key sign vouchers and awards for this account (effective at once)'),
  ).action(async (raw: string, opts: ChainOptions) => {
    const signer = addressArgument(raw)
    const { contracts, vault: v } = await openVault(opts, true)
    await requireGas(contracts)
    const tx = await v.authorizeSigner(signer)
    if (opts.json) console.log(asJson({ signer, authorized: true, tx: tx.hash }))
    else console.log(`${signer} now signs vouchers and awards for ${contracts.address}`)
  })

  signing(
    vault
      .command('revoke-signer <address>')
      .description('Revoke a signing key; its signatures are refused after the revocation delay'),
  ).action(async (raw: string, opts: ChainOptions) => {
    const signer = addressArgument(raw)
    const { contracts, vault: v } = await openVault(opts, true)
    if (!(await v.isSigner(contracts.address, signer)) || signer === contracts.address) {
      throw new NotNowError(`${signer} is not a live signing key of ${contracts.address}`, {
        hint: 'see `bazaar vault status` for the keys and their state',
      })
    }
    await requireGas(contracts)
    const tx = await v.revokeSigner(signer)
    const revoked = (await v.signerRevocationsSince(tx.receipt.blockNumber, tx.receipt.blockNumber)).find(
      (r) => r.signer === signer,
    )
    const now = await blockTime(contracts)
    if (opts.json) console.log(asJson({ signer, effectiveAt: revoked?.effectiveAt, tx: tx.hash }))
    else
      console.log(
        `${signer} signs for ${contracts.address} until ${revoked ? when(revoked.effectiveAt, now) : 'the revocation delay passes'}; providers may still redeem what it signed before`,
      )
  })
}
