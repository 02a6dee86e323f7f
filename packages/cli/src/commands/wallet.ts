import { access, mkdir, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { createInterface } from 'node:readline/promises'
import { encryptKeystore } from '@bazaar/chain'
import { formatTokens } from '@bazaar/protocol'
import password from '@inquirer/password'
import type { Command } from 'commander'
import { type Address, formatEther, getAddress, type Hex, isAddress, isHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { type ChainOptions, openChain, withChainOptions, withKeyOptions } from '../chain-options.ts'
import { CredentialsError, type KeyOptions, keystoreAddress, keystorePath, readPassword } from '../keys.ts'

interface WriteOptions extends KeyOptions {
  force?: boolean
  json?: boolean
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

/** Encrypts the key into the keystore file (0600), refusing to overwrite one unless --force. */
async function writeKeystore(
  privateKey: Hex,
  opts: WriteOptions,
): Promise<{ address: Address; keystore: string }> {
  const keystore = resolve(keystorePath(opts))
  if (!opts.force && (await exists(keystore))) {
    throw new CredentialsError(`a keystore already exists at ${keystore}`, {
      hint: 'choose another --keystore FILE, or pass --force to replace it (the old key is lost unless backed up)',
    })
  }
  const secret = await readPassword({ ...opts, confirm: true, purpose: 'new keystore' })
  if (secret.length === 0)
    throw new CredentialsError('the keystore password is empty', { hint: 'set BAZAAR_PASSWORD' })
  const json = await encryptKeystore(privateKey, secret)
  await mkdir(dirname(keystore), { recursive: true })
  await writeFile(keystore, json, { mode: 0o600 })
  return { address: privateKeyToAccount(privateKey).address, keystore }
}

/** A private key to import: $BAZAAR_PRIVATE_KEY, else the first line of piped stdin, else a hidden prompt. */
async function readPrivateKey(): Promise<Hex> {
  let text = process.env.BAZAAR_PRIVATE_KEY
  if (text === undefined && !process.stdin.isTTY) {
    const lines = createInterface({ input: process.stdin })
    for await (const line of lines) {
      text = line
      break
    }
    lines.close()
  }
  if (text === undefined && process.stdin.isTTY) {
    text = await password({ message: 'Private key (hex):', mask: '*' }, { output: process.stderr })
  }
  const hex = (text ?? '').trim()
  const key = hex.startsWith('0x') ? hex : `0x${hex}`
  if (!isHex(key) || key.length !== 66) {
    throw new CredentialsError('the private key must be 32 bytes of hex', {
      hint: 'set BAZAAR_PRIVATE_KEY=0x... or pipe the key on stdin',
    })
  }
  return key
}

function printWritten(
  result: { address: Address; keystore: string },
  opts: WriteOptions,
  verb: string,
): void {
  if (opts.json) console.log(JSON.stringify(result))
  else {
    console.log(`${verb} account ${result.address}`)
    console.log(`  keystore ${result.keystore} (keep a backup and the password: they cannot be recovered)`)
  }
}

export function registerWalletCommand(program: Command): void {
  const wallet = program
    .command('wallet')
    .description('Create, import and inspect the account a node signs with')

  withKeyOptions(
    wallet
      .command('new')
      .description('Create a new account in an encrypted keystore (Ethereum V3 JSON)')
      .option('--force', 'replace an existing keystore file')
      .option('--json', 'print {address, keystore} as JSON'),
  )
    .addHelpText(
      'after',
      `
The password comes from --password-file, BAZAAR_PASSWORD, or a prompt (asked twice).

Examples:
  $ bazaar wallet new                                   # ~/.bazaar/keystore.json
  $ BAZAAR_PASSWORD=... bazaar wallet new --keystore provider.json --json`,
    )
    .action(async (opts: WriteOptions) => {
      printWritten(await writeKeystore(generatePrivateKey(), opts), opts, 'created')
    })

  withKeyOptions(
    wallet
      .command('import')
      .description('Encrypt an existing private key into a keystore')
      .option('--force', 'replace an existing keystore file')
      .option('--json', 'print {address, keystore} as JSON'),
  )
    .addHelpText(
      'after',
      `
The key comes from BAZAAR_PRIVATE_KEY, else the first line of stdin, else a hidden prompt;
never from a flag, so it stays out of shell history.

Examples:
  $ bazaar wallet import --keystore ops.json            # prompts for key and password
  $ cat key.txt | BAZAAR_PASSWORD=... bazaar wallet import --keystore ops.json`,
    )
    .action(async (opts: WriteOptions) => {
      printWritten(await writeKeystore(await readPrivateKey(), opts), opts, 'imported')
    })

  withKeyOptions(
    wallet.command('address').description('Print the address of the keystore (no password needed)'),
  )
    .option('--json', 'print {address, keystore} as JSON')
    .addHelpText('after', '\nExample:\n  $ bazaar wallet address --keystore provider.json')
    .action(async (opts: KeyOptions & { json?: boolean }) => {
      const keystore = resolve(keystorePath(opts))
      const address = await keystoreAddress(keystore)
      console.log(opts.json ? JSON.stringify({ address, keystore }) : address)
    })

  withChainOptions(
    withKeyOptions(
      wallet
        .command('balance [address]')
        .description('Native currency (gas), compute tokens and stake of an account (default: the keystore)')
        .option('--json', 'print JSON (amounts in base units, as strings)'),
    ),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ bazaar wallet balance --deployment /tmp/bazaar-devnet/deployment-8545.json
  $ bazaar wallet balance 0xf39F... --rpc-url http://127.0.0.1:8545 --deployment d.json --json`,
    )
    .action(async (who: string | undefined, opts: ChainOptions) => {
      if (who !== undefined && !isAddress(who)) {
        throw new CredentialsError(`not an address: ${who}`, {
          hint: 'pass a 0x address, or none for the keystore',
        })
      }
      const address = who ? getAddress(who) : await keystoreAddress(keystorePath(opts))
      const contracts = await openChain(opts, false)
      const [native, tokens, account] = await Promise.all([
        contracts.clients.publicClient.getBalance({ address }),
        contracts.balanceOf(address),
        contracts.accountOf(address),
      ])
      if (opts.json) {
        console.log(
          JSON.stringify({
            address,
            chainId: contracts.clients.chainId,
            native: native.toString(),
            tokens: tokens.toString(),
            staked: account.staked.toString(),
            locked: account.locked.toString(),
            unbonding: account.unbonding.toString(),
          }),
        )
        return
      }
      console.log(`account ${address} on chain ${contracts.clients.chainId}`)
      console.log(`  native     ${formatEther(native)} (pays gas)`)
      console.log(`  tokens     ${formatTokens(tokens)}`)
      console.log(
        `  staked     ${formatTokens(account.staked)} (locked for jobs: ${formatTokens(account.locked)})`,
      )
      if (account.unbonding > 0n) console.log(`  unbonding  ${formatTokens(account.unbonding)}`)
    })
}
