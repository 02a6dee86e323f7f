/**
 * mandelbrot: renders one tile of a Mandelbrot image as 8-bit grayscale pixels.
 *
 * Usage (every flag optional, `--name value` pairs, any order):
 *
 *   mandelbrot --width 512 --height 512 --x0 0 --y0 0 --tile-width 64 --tile-height 64 \
 *              --max-iter 256 --center-x -0.5 --center-y 0 --scale 3
 *
 *   --width, --height            size of the whole image in pixels            (default 256 x 256)
 *   --x0, --y0                   top-left pixel of the tile in the image       (default 0, 0)
 *   --tile-width, --tile-height  size of the tile in pixels (default: to the image's right/bottom edge)
 *   --max-iter                   iteration limit per pixel                     (default 256)
 *   --center-x, --center-y       point of the complex plane at the image centre (default -0.5, 0)
 *   --scale                      width of the whole image in the complex plane (default 3);
 *                                pixels are square, so the height spans scale * height / width
 *
 * Pixel (px, py) of the image samples c = (centerX + (px + 0.5 - width / 2) * scale / width,
 * centerY + (py + 0.5 - height / 2) * scale / width); y grows downwards.
 *
 * Output on stdout: exactly tileWidth * tileHeight bytes, row-major, one byte per pixel.
 * Points inside the set are 0; outside, the smooth (normalized) iteration count
 * nu = i + 1 - log2(log|z|) maps to 255 * sqrt(nu / maxIter), clamped to 1..255.
 * All arithmetic is f64 with AssemblyScript's own (software, deterministic) Math.
 * Bad arguments: a message on stderr and exit code 2.
 */

function fail(message: string): void {
  process.stderr.write('mandelbrot: ' + message + '\n')
  process.exit(2)
}

function parseIntArg(name: string, value: string): i32 {
  const n = I32.parseInt(value, 10)
  if (value.length == 0 || <f64>n != parseFloat(value)) fail(name + ' must be an integer, got "' + value + '"')
  return n
}

function parseFloatArg(name: string, value: string): f64 {
  const n = parseFloat(value)
  if (value.length == 0 || isNaN(n) || !isFinite(n)) fail(name + ' must be a finite number, got "' + value + '"')
  return n
}

let width: i32 = 256
let height: i32 = 256
let x0: i32 = 0
let y0: i32 = 0
let tileWidth: i32 = -1
let tileHeight: i32 = -1
let maxIter: i32 = 256
let centerX: f64 = -0.5
let centerY: f64 = 0
let scale: f64 = 3

const argv = process.argv
for (let i = 1; i < argv.length; i += 2) {
  const name = argv[i]
  if (i + 1 >= argv.length) fail('missing value for ' + name)
  const value = argv[i + 1]
  if (name == '--width') width = parseIntArg(name, value)
  else if (name == '--height') height = parseIntArg(name, value)
  else if (name == '--x0') x0 = parseIntArg(name, value)
  else if (name == '--y0') y0 = parseIntArg(name, value)
  else if (name == '--tile-width') tileWidth = parseIntArg(name, value)
  else if (name == '--tile-height') tileHeight = parseIntArg(name, value)
  else if (name == '--max-iter') maxIter = parseIntArg(name, value)
  else if (name == '--center-x') centerX = parseFloatArg(name, value)
  else if (name == '--center-y') centerY = parseFloatArg(name, value)
  else if (name == '--scale') scale = parseFloatArg(name, value)
  else fail('unknown argument ' + name)
}
if (tileWidth < 0) tileWidth = width - x0
if (tileHeight < 0) tileHeight = height - y0
if (width < 1 || height < 1 || width > 65536 || height > 65536) fail('width and height must be 1..65536')
if (x0 < 0 || y0 < 0 || tileWidth < 1 || tileHeight < 1 || x0 + tileWidth > width || y0 + tileHeight > height) {
  fail('the tile must lie inside the image and be at least 1x1')
}
if (maxIter < 1) fail('--max-iter must be at least 1')
if (!(scale > 0)) fail('--scale must be positive')

const pixels = new Uint8Array(tileWidth * tileHeight)
const step = scale / <f64>width
const halfW = <f64>width / 2
const halfH = <f64>height / 2
const invLog2 = 1 / Math.LN2
const fMaxIter = <f64>maxIter

for (let ty = 0; ty < tileHeight; ty++) {
  const cy = centerY + (<f64>(y0 + ty) + 0.5 - halfH) * step
  const row = ty * tileWidth
  for (let tx = 0; tx < tileWidth; tx++) {
    const cx = centerX + (<f64>(x0 + tx) + 0.5 - halfW) * step
    let zx: f64 = 0
    let zy: f64 = 0
    let zx2: f64 = 0
    let zy2: f64 = 0
    let i = 0
    // Escape radius 256 (not 2) so the smooth count below is accurate.
    while (i < maxIter && zx2 + zy2 <= 65536) {
      zy = 2 * zx * zy + cy
      zx = zx2 - zy2 + cx
      zx2 = zx * zx
      zy2 = zy * zy
      i++
    }
    let gray: i32 = 0
    if (i < maxIter) {
      const logZ = Math.log(zx2 + zy2) / 2
      const nu = <f64>i + 1 - Math.log(logZ * invLog2) * invLog2
      const v = Math.sqrt(max<f64>(nu, 0) / fMaxIter) * 255
      gray = <i32>min<f64>(max<f64>(v, 1), 255)
    }
    unchecked((pixels[row + tx] = <u8>gray))
  }
}

process.stdout.write(pixels.buffer)
