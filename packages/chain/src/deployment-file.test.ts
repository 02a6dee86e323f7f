import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Deployment } from './deploy.ts'
import { DeploymentFileError, loadDeployment, writeDeployment } from './deployment-file.ts'

const deployment: Deployment = {
  chainId: 31337,
  token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  registry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
  market: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  court: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
  vault: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9',
  deployedAtBlock: 1,
  deployer: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
}

describe('deployment files', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-deployment-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('round-trips through writeDeployment and loadDeployment, creating folders', async () => {
    const path = join(dir, 'nested', 'deployment.json')
    await writeDeployment(path, deployment)
    assert.deepEqual(await loadDeployment(path), deployment)
  })

  it('checksums lower-case addresses', async () => {
    const path = join(dir, 'lower.json')
    await writeFile(path, JSON.stringify({ ...deployment, market: deployment.market.toLowerCase() }))
    assert.equal((await loadDeployment(path)).market, deployment.market)
  })

  it('names what is wrong with a bad file', async () => {
    const cases: [string, string, RegExp, string][] = [
      ['missing.json', '', /cannot read/, 'E_NOT_FOUND'],
      ['garbage.json', '{not json', /not JSON/, 'E_INVALID_MESSAGE'],
      [
        'bad-address.json',
        JSON.stringify({ ...deployment, token: '0x1234' }),
        /token not an address/,
        'E_INVALID_MESSAGE',
      ],
      ['no-vault.json', JSON.stringify({ ...deployment, vault: undefined }), /vault/, 'E_INVALID_MESSAGE'],
      [
        'no-chain.json',
        JSON.stringify({ ...deployment, chainId: undefined }),
        /chainId/,
        'E_INVALID_MESSAGE',
      ],
    ]
    for (const [name, content, message, code] of cases) {
      const path = join(dir, name)
      if (content) await writeFile(path, content)
      await assert.rejects(loadDeployment(path), (err: unknown) => {
        assert.ok(err instanceof DeploymentFileError)
        assert.equal(err.name, 'DeploymentFileError')
        assert.equal(err.code, code)
        assert.match(err.message, message)
        return true
      })
    }
  })
})
