import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Eip1193Provider } from './clients.ts'

export interface JsonRpcServerInit {
  /** Interface to bind (default 127.0.0.1: the devnet is for local processes). */
  hostname?: string
  /** Port (default 0: any free port). */
  port?: number
  /** Largest accepted request body in bytes (default 10 MiB). */
  maxBodyBytes?: number
}

export interface JsonRpcServer {
  /** `http://host:port`, usable as `--rpc-url`. */
  url: string
  close(): Promise<void>
}

interface JsonRpcRequest {
  jsonrpc?: string
  id?: string | number | null
  method?: unknown
  params?: unknown
}

/**
 * Serves an EIP-1193 provider (e.g. the embedded chain) as JSON-RPC over HTTP, single and batch
 * requests, so other processes can share one chain through `http(url)`.
 */
export async function serveJsonRpc(
  provider: Eip1193Provider,
  init: JsonRpcServerInit = {},
): Promise<JsonRpcServer> {
  const { hostname = '127.0.0.1', port = 0, maxBodyBytes = 10 * 1024 * 1024 } = init

  const handleOne = async (request: JsonRpcRequest) => {
    const id = request.id ?? null
    if (typeof request.method !== 'string') {
      return { jsonrpc: '2.0', id, error: { code: -32600, message: 'invalid request' } }
    }
    try {
      const result = await provider.request({ method: request.method, params: request.params ?? [] })
      return { jsonrpc: '2.0', id, result: result ?? null }
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown; data?: unknown }
      const code = typeof e.code === 'number' ? e.code : -32603
      const message = typeof e.message === 'string' ? e.message : 'internal error'
      return {
        jsonrpc: '2.0',
        id,
        error: { code, message, ...(e.data === undefined ? {} : { data: e.data }) },
      }
    }
  }

  const server = createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.method !== 'POST')
      return reply(405, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'POST only' } })
    let body: unknown
    try {
      body = JSON.parse(await readBody(req, maxBodyBytes))
    } catch {
      return reply(400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } })
    }
    if (Array.isArray(body))
      return reply(200, await Promise.all(body.map((r) => handleOne(r as JsonRpcRequest))))
    return reply(200, await handleOne(body as JsonRpcRequest))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, hostname, () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        server.closeAllConnections()
      }),
  }
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > maxBytes) throw new Error('request body too large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
