import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decryptKeystore } from '@bazaar/chain'
import { bazaarHome } from '@bazaar/node/daemon/node-config'
import { BaseError, type BaseErrorOptions, ErrorCode } from '@bazaar/protocol'
import password from '@inquirer/password'
import { type Address, getAddress, type Hex, isAddress } from 'viem'

/** No key to sign with: keystore missing, no password given, or a malformed private key. */
export class CredentialsError extends BaseError {
  override name = 'CredentialsError' as const
  constructor(message: string, options: BaseErrorOptions = {}) {
    super(ErrorCode.InvalidSignature, message, options)
  }
}

export interface KeyOptions {
  keystore?: string
  passwordFile?: string
}

/** The keystore path: --keystore, else $BAZAAR_KEYSTORE, else $BAZAAR_HOME/keystore.json (~/.bazaar). */
export function keystorePath(opts: KeyOptions, env: NodeJS.ProcessEnv = process.env): string {
  return opts.keystore ?? env.BAZAAR_KEYSTORE ?? join(bazaarHome(env), 'keystore.json')
}

/**
 * The keystore password: --password-file, else $BAZAAR_PASSWORD (or the older
 * $BAZAAR_KEYSTORE_PASSWORD), else a hidden prompt on a terminal. Never from a flag, so it
 * stays out of shell history and process lists. Without a terminal and without either, fail
 * rather than wait for input that never comes.
 */
export async function readPassword(
  opts: KeyOptions & { confirm?: boolean; purpose?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  if (opts.passwordFile) {
    try {
      return (await readFile(opts.passwordFile, 'utf8')).replace(/\r?\n$/, '')
    } catch (cause) {
      throw new CredentialsError(`cannot read the password file ${opts.passwordFile}`, { cause })
    }
  }
  const fromEnv = env.BAZAAR_PASSWORD ?? env.BAZAAR_KEYSTORE_PASSWORD
  if (fromEnv !== undefined) return fromEnv
  if (!process.stdin.isTTY) {
    throw new CredentialsError('no keystore password', {
      hint: 'set BAZAAR_PASSWORD, pass --password-file FILE, or run on a terminal to be prompted',
    })
  }
  // The prompt goes to stderr so stdout stays clean for --json.
  const context = { output: process.stderr }
  const first = await password(
    { message: `Keystore password${opts.purpose ? ` (${opts.purpose})` : ''}:`, mask: '*' },
    context,
  )
  if (opts.confirm) {
    const again = await password({ message: 'Repeat the password:', mask: '*' }, context)
    if (again !== first) throw new CredentialsError('the passwords do not match')
  }
  return first
}

/** Reads a keystore file, or fails with a hint to create one. */
export async function readKeystoreFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (cause) {
    throw new CredentialsError(`no keystore at ${path}`, {
      cause,
      hint: 'create one with `bazaar wallet new --keystore FILE` (or import a key with `bazaar wallet import`)',
    })
  }
}

/** The address a V3 keystore is for, read without the password (the file stores it in clear). */
export async function keystoreAddress(path: string): Promise<Address> {
  const json = await readKeystoreFile(path)
  let address: unknown
  try {
    address = (JSON.parse(json) as { address?: unknown }).address
  } catch (cause) {
    throw new CredentialsError(`${path} is not a JSON keystore`, { cause })
  }
  const hex = typeof address === 'string' && !address.startsWith('0x') ? `0x${address}` : address
  if (typeof hex !== 'string' || !isAddress(hex)) {
    throw new CredentialsError(`${path} does not name its address`, {
      hint: 'pass the address explicitly, or re-create the keystore with `bazaar wallet import`',
    })
  }
  return getAddress(hex)
}

/** Decrypts the keystore at `opts.keystore` (default path) with the password from `readPassword`. */
export async function unlockKey(opts: KeyOptions): Promise<{ privateKey: Hex; keystore: string }> {
  const keystore = keystorePath(opts)
  const json = await readKeystoreFile(keystore)
  const secret = await readPassword({ ...opts, purpose: keystore })
  return { privateKey: await decryptKeystore(json, secret), keystore }
}
