/**
 * Decoded frames and mask layers, kept in the page so that stepping back
 * and forth (and the frames fetched ahead) draw without a request or a
 * decode.
 */

const MAX_ENTRIES = 96;
const images = new Map<string, Promise<ImageBitmap>>();

/** Colours of segments 1, 2, ... (RGB), repeating. */
const PALETTE: ReadonlyArray<readonly [number, number, number]> = [
  [255, 48, 48],
  [48, 200, 255],
  [255, 210, 0],
  [64, 255, 96],
  [200, 80, 255],
];

function remember(
  key: string,
  make: () => Promise<ImageBitmap>,
): Promise<ImageBitmap> {
  const hit = images.get(key);
  if (hit) {
    images.delete(key);
    images.set(key, hit);
    return hit;
  }
  const made = make();
  images.set(key, made);
  made.catch(() => images.delete(key));
  for (const [k, v] of images) {
    if (images.size <= MAX_ENTRIES) break;
    images.delete(k);
    void v.then((b) => b.close()).catch(() => undefined);
  }
  return made;
}

async function fetchBlob(url: string, accept: string): Promise<Blob> {
  const res = await fetch(url, { headers: { accept } });
  if (!res.ok)
    throw new Error(
      `${url.split('?')[0]}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`,
    );
  return res.blob();
}

/** A rendered frame, decoded (JPEG, as the API renders by default). */
export function frameImage(url: string): Promise<ImageBitmap> {
  return remember(url, async () =>
    createImageBitmap(await fetchBlob(url, 'image/jpeg')),
  );
}

/**
 * A mask (a PNG of segment numbers) as a layer to draw over its frame:
 * each segment in its colour, fully opaque; elsewhere fully transparent,
 * so drawing it leaves the frame's pixels outside the mask untouched.
 */
export function maskLayer(url: string): Promise<ImageBitmap> {
  return remember(`mask:${url}`, async () => {
    // Segment numbers are data, not colours: no colour management.
    const labels = await createImageBitmap(await fetchBlob(url, 'image/png'), {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
    });
    const { width, height } = labels;
    const canvas = new OffscreenCanvas(width, height);
    const g = canvas.getContext('2d')!;
    g.drawImage(labels, 0, 0);
    labels.close();
    const px = g.getImageData(0, 0, width, height);
    const d = px.data;
    for (let i = 0; i < d.length; i += 4) {
      const segment = d[i]!;
      if (segment === 0) {
        d[i + 3] = 0;
        continue;
      }
      const [r, gr, b] = PALETTE[(segment - 1) % PALETTE.length]!;
      d[i] = r;
      d[i + 1] = gr;
      d[i + 2] = b;
      d[i + 3] = 255;
    }
    return createImageBitmap(px);
  });
}
