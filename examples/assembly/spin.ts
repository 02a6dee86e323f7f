/**
 * spin: never finishes. A test workload for fuel limits and wall-clock timeouts; it only
 * stops when the sandbox runs it out of fuel or kills it.
 */
let n: u64 = 0
while (true) {
  n++
  if (n == 0) process.stdout.write('wrapped around\n')
}
