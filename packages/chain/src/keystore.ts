import { BaseError, ErrorCode } from '@bazaar/protocol'
import { decryptKeystoreJson, encryptKeystoreJson, isKeystoreJson } from 'ethers'
import { type Hex, isHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'

/** A keystore that is not an Ethereum V3 JSON keystore, or a wrong password. */
export class KeystoreError extends BaseError {
  override name = 'KeystoreError' as const
}

export interface EncryptKeystoreOptions {
  /** scrypt cost N (ethers' default 131 072; tests use a small power of two to stay fast). */
  scryptN?: number
}

/**
 * Decrypts an Ethereum V3 JSON keystore (the format of geth, Foundry's `cast wallet`, MetaMask
 * exports) with ethers' implementation and returns the private key. Never logs the key.
 */
export async function decryptKeystore(json: string, password: string): Promise<Hex> {
  if (!isKeystoreJson(json)) {
    throw new KeystoreError(ErrorCode.InvalidMessage, 'not an Ethereum V3 JSON keystore', {
      hint: 'create one with `cast wallet new <dir>` or `geth account new`, or pass the key in BAZAAR_PRIVATE_KEY',
    })
  }
  try {
    const account = await decryptKeystoreJson(json, password)
    if (!isHex(account.privateKey)) throw new TypeError('decrypted key is not hex')
    return account.privateKey
  } catch (err) {
    throw new KeystoreError(ErrorCode.InvalidSignature, 'could not decrypt the keystore (wrong password?)', {
      cause: err,
      hint: 'check the password (BAZAAR_PASSWORD, --password-file or the prompt)',
    })
  }
}

/** Encrypts `privateKey` into an Ethereum V3 JSON keystore (scrypt + aes-128-ctr). */
export async function encryptKeystore(
  privateKey: Hex,
  password: string,
  options: EncryptKeystoreOptions = {},
): Promise<string> {
  const { address } = privateKeyToAccount(privateKey)
  return encryptKeystoreJson(
    { address, privateKey },
    password,
    options.scryptN === undefined ? {} : { scrypt: { N: options.scryptN } },
  )
}
