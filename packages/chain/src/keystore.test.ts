import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { privateKeyToAccount } from 'viem/accounts'
import { decryptKeystore, encryptKeystore, KeystoreError } from './keystore.ts'

const KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' as const

describe('keystore', () => {
  it('decrypts an Ethereum V3 keystore it encrypted, and rejects a wrong password', async () => {
    const json = await encryptKeystore(KEY, 'correct horse', { scryptN: 1024 })
    const parsed = JSON.parse(json) as { version: number; address: string; Crypto: { kdf: string } }
    assert.equal(parsed.version, 3)
    assert.equal(parsed.Crypto.kdf, 'scrypt')
    assert.equal(`0x${parsed.address}`.toLowerCase(), privateKeyToAccount(KEY).address.toLowerCase())
    assert.equal(await decryptKeystore(json, 'correct horse'), KEY)
    await assert.rejects(decryptKeystore(json, 'wrong'), (err: unknown) => {
      assert.ok(err instanceof KeystoreError)
      assert.match(err.message, /wrong password/)
      return true
    })
  })

  it('decrypts a keystore written elsewhere (the Web3 Secret Storage PBKDF2 test vector)', async () => {
    // From the Web3 Secret Storage Definition: password "testpassword".
    const vector = JSON.stringify({
      crypto: {
        cipher: 'aes-128-ctr',
        cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
        ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
        kdf: 'pbkdf2',
        kdfparams: {
          c: 262144,
          dklen: 32,
          prf: 'hmac-sha256',
          salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
        },
        mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
      },
      id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
      version: 3,
    })
    assert.equal(
      await decryptKeystore(vector, 'testpassword'),
      '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d',
    )
  })

  it('says when the file is not a keystore at all', async () => {
    await assert.rejects(decryptKeystore('{"hello":1}', 'x'), (err: unknown) => {
      assert.ok(err instanceof KeystoreError)
      assert.equal(err.code, 'E_INVALID_MESSAGE')
      return true
    })
  })
})
