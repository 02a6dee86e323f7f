import { PNG } from 'pngjs'

/** A rectangle of the image rendered by one job. */
export interface Tile {
  index: number
  x0: number
  y0: number
  width: number
  height: number
}

export interface MandelbrotView {
  width: number
  height: number
  maxIter: number
  centerX: number
  centerY: number
  scale: number
}

/** Splits the image into `columns x rows` tiles covering it exactly. */
export function splitIntoTiles(view: MandelbrotView, columns: number, rows: number): Tile[] {
  const tiles: Tile[] = []
  for (let row = 0; row < rows; row++) {
    const y0 = Math.floor((row * view.height) / rows)
    const y1 = Math.floor(((row + 1) * view.height) / rows)
    for (let column = 0; column < columns; column++) {
      const x0 = Math.floor((column * view.width) / columns)
      const x1 = Math.floor(((column + 1) * view.width) / columns)
      tiles.push({ index: tiles.length, x0, y0, width: x1 - x0, height: y1 - y0 })
    }
  }
  return tiles
}

/** The mandelbrot module's arguments for one tile (see examples/assembly/mandelbrot.ts). */
export function tileArgs(view: MandelbrotView, tile: Tile): string[] {
  return [
    '--width', `${view.width}`, '--height', `${view.height}`,
    '--x0', `${tile.x0}`, '--y0', `${tile.y0}`,
    '--tile-width', `${tile.width}`, '--tile-height', `${tile.height}`,
    '--max-iter', `${view.maxIter}`,
    '--center-x', `${view.centerX}`, '--center-y', `${view.centerY}`, '--scale', `${view.scale}`,
  ] // biome-ignore format: flag/value pairs read best on one line each
}

/** Copies each tile's grayscale pixels into one image buffer. */
export function assembleGrayscale(
  view: MandelbrotView,
  tiles: { tile: Tile; pixels: Uint8Array }[],
): Uint8Array {
  const image = new Uint8Array(view.width * view.height)
  for (const { tile, pixels } of tiles) {
    if (pixels.length !== tile.width * tile.height) {
      throw new RangeError(
        `tile ${tile.index}: expected ${tile.width * tile.height} bytes, got ${pixels.length}`,
      )
    }
    for (let y = 0; y < tile.height; y++) {
      image.set(pixels.subarray(y * tile.width, (y + 1) * tile.width), (tile.y0 + y) * view.width + tile.x0)
    }
  }
  return image
}

/** Encodes grayscale intensities as an RGB PNG through a blue-gold palette. */
export function encodePng(width: number, height: number, gray: Uint8Array): Buffer {
  const png = new PNG({ width, height, colorType: 6 })
  for (let i = 0; i < gray.length; i++) {
    const v = (gray[i] ?? 0) / 255
    png.data[i * 4] = Math.round(255 * Math.min(1, v * 1.6))
    png.data[i * 4 + 1] = Math.round(255 * v * v)
    png.data[i * 4 + 2] = Math.round(255 * Math.min(1, v < 0.5 ? v * 2 : 2 - v * 1.6))
    png.data[i * 4 + 3] = 255
  }
  return PNG.sync.write(png)
}
