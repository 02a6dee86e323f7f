import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { BaseError, ErrorCode } from '@bazaar/protocol'
import { getAddress, isAddress } from 'viem'
import { z } from 'zod'
import type { Deployment } from './deploy.ts'

const address = z.string().refine((value) => isAddress(value), 'not an address')

const deploymentSchema = z.object({
  chainId: z.number().int().positive(),
  token: address,
  registry: address,
  market: address,
  court: address,
  vault: address,
  deployedAtBlock: z.number().int().nonnegative(),
  deployer: address,
})

/**
 * A deployment file that is missing (code E_NOT_FOUND) or malformed (E_INVALID_MESSAGE; protocol
 * has no config-error code yet).
 */
export class DeploymentFileError extends BaseError {
  override name = 'DeploymentFileError' as const
}

/**
 * Reads and validates a deployment file written by `writeDeployment` (`bazaar contracts deploy`,
 * `bazaar devnet`). Addresses come back checksummed.
 */
export async function loadDeployment(path: string): Promise<Deployment> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new DeploymentFileError(ErrorCode.NotFound, `cannot read deployment file ${path}`, {
      cause: err,
      hint: 'deploy with `bazaar contracts deploy --rpc-url URL` or start `bazaar devnet`, then pass the file it wrote',
    })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new DeploymentFileError(ErrorCode.InvalidMessage, `deployment file ${path} is not JSON`, {
      cause: err,
    })
  }
  const parsed = deploymentSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new DeploymentFileError(
      ErrorCode.InvalidMessage,
      `deployment file ${path}: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'is invalid'}`,
      { details: { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) } },
    )
  }
  const d = parsed.data
  return {
    chainId: d.chainId,
    token: getAddress(d.token),
    registry: getAddress(d.registry),
    market: getAddress(d.market),
    court: getAddress(d.court),
    vault: getAddress(d.vault),
    deployedAtBlock: d.deployedAtBlock,
    deployer: getAddress(d.deployer),
  }
}

/** Writes a deployment file atomically (temp file + rename), creating its folder. */
export async function writeDeployment(path: string, deployment: Deployment): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const temp = `${path}.${process.pid}.tmp`
  await writeFile(temp, `${JSON.stringify(deployment, null, 2)}\n`)
  await rename(temp, path)
}
