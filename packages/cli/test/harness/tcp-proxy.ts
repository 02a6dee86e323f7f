/**
 * A TCP forwarder on 127.0.0.1 that a test can cut and restore, to simulate an outage of the
 * service behind it (the chain's JSON-RPC endpoint): `cut()` destroys every open connection and
 * stops accepting (new connections are refused), `restore()` listens again on the same port, so
 * clients configured with the proxy's URL reconnect by themselves.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  /** The port clients connect to (stable across cut/restore). */
  readonly port: number
  /** Connections accepted so far (all lives). */
  readonly accepted: number
  cut(): Promise<void>
  restore(): Promise<void>
  close(): Promise<void>
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((done, fail) => {
    server.once('error', fail)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail)
      done()
    })
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((done) => {
    if (!server.listening) return done()
    server.close(() => done())
  })
}

/** Forwards 127.0.0.1:<port> (0: any free port) to `target`. */
export async function startTcpProxy(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let accepted = 0
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    // A reset from either side is the point of the exercise, not a failure of the test.
    socket.on('error', () => socket.destroy())
  }
  const makeServer = () =>
    createServer((client) => {
      accepted++
      const upstream = createConnection(target)
      track(client)
      track(upstream)
      client.pipe(upstream)
      upstream.pipe(client)
      client.once('close', () => upstream.destroy())
      upstream.once('close', () => client.destroy())
    })

  let server = makeServer()
  await listen(server, port)
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address')
  const boundPort = address.port

  return {
    port: boundPort,
    get accepted() {
      return accepted
    },
    async cut() {
      const closing = closeServer(server)
      for (const s of sockets) s.destroy()
      await closing
    },
    async restore() {
      if (server.listening) return
      server = makeServer()
      await listen(server, boundPort)
    },
    async close() {
      const closing = closeServer(server)
      for (const s of sockets) s.destroy()
      await closing
    },
  }
}
