import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ExitCode, exitCodeFor } from './exit-codes.ts'

test('errors map to the documented exit codes', () => {
  assert.equal(exitCodeFor({ name: 'KeystoreError', code: 'E_INVALID_SIGNATURE' }), ExitCode.Credentials)
  assert.equal(exitCodeFor({ name: 'CredentialsError', code: 'E_INVALID_SIGNATURE' }), ExitCode.Credentials)
  assert.equal(exitCodeFor({ name: 'DeploymentFileError', code: 'E_NOT_FOUND' }), ExitCode.Usage)
  assert.equal(exitCodeFor({ name: 'NodeConfigError', code: 'E_INVALID_MESSAGE' }), ExitCode.Usage)
  assert.equal(exitCodeFor({ name: 'ChainUnreachableError', code: 'E_CHAIN' }), ExitCode.Internal)
  assert.equal(exitCodeFor({ name: 'InsufficientFundsError', code: 'E_CHAIN' }), ExitCode.Funds)
  assert.equal(exitCodeFor({ name: 'NotNowError', code: 'E_CHAIN' }), ExitCode.Conflict)
  assert.equal(exitCodeFor({ name: 'ApiError', code: 'E_INVALID_MESSAGE', status: 409 }), ExitCode.Conflict)
  assert.equal(exitCodeFor({ name: 'ApiError', code: 'E_NOT_FOUND', status: 404 }), ExitCode.NotFound)
  assert.equal(exitCodeFor({ name: 'BaseError', code: 'E_INVALID_SPEC' }), ExitCode.Usage)
  assert.equal(exitCodeFor({ name: 'ChainError', code: 'E_CHAIN' }), ExitCode.Internal)
})
