// The per-clip files of a batch over a video model, beside the still-image ones (outputs.ts):
// S.cam.npy is [T, H, W] and S.cam_raw.npy [T', h, w] (frame-major), S.strip.png the per-frame
// overlays left to right, S.overlay.gif the animated overlay, and S.json gains `frames` and
// `temporal_weights`. A clip has no S.overlay.png: its overlay is a strip or an animation, and
// the names say which. Pure Node (the extension host runs the batch writer too).
import * as fs from 'node:fs';
import type { MapData } from '../explainTypes';
import type { AnyBatchMap, BatchMap } from './types';

/** A map's .npy shape: [T, h, w] for a clip (T from the data length), [h, w] for an image. */
export function mapShape(map: MapData, video: boolean): number[] {
  return video ? [map.data.length / (map.height * map.width), map.height, map.width] : [map.height, map.width];
}

/** File suffix → bytes of a map's pictures. */
export function pictureFiles(m: BatchMap): Array<[string, Uint8Array]> {
  return m.video
    ? [
        ['.strip.png', m.overlayPng],
        ['.overlay.gif', m.video.animatedGif],
      ]
    : [['.overlay.png', m.overlayPng]];
}

/** The picture suffixes a previous run's S.json entry promises (for --resume). */
export function pictureSuffixes(entry: { frames?: number }): string[] {
  return entry.frames !== undefined ? ['.strip.png', '.overlay.gif'] : ['.overlay.png'];
}

/** What a clip adds to its S.json explanation entry (nothing for an image). */
export function videoJsonFields(m: AnyBatchMap): { frames: number; temporal_weights: number[] } | Record<string, never> {
  if (!m.video) return {};
  return { frames: m.video.frames, temporal_weights: m.video.temporalWeights.map((w) => Math.round(w * 1e6) / 1e6) };
}

/** A GIF that starts with its signature and ends with its trailer byte (0x3B): not cut short. */
export function completeGif(file: string): boolean {
  const b = fs.readFileSync(file);
  const signature = b.toString('latin1', 0, 6);
  return b.length > 13 && (signature === 'GIF89a' || signature === 'GIF87a') && b[b.length - 1] === 0x3b;
}

/**
 * report.html's picture links of a clip's row: the animated overlay as the overlay, the strip of
 * per-frame overlays in place of the input (a folder of frames has no single picture to show).
 * Nothing for an image's row.
 */
export function clipReportLinks(r: { output: string | null; frames?: number }): { image?: string; overlay?: string } {
  return r.output && r.frames !== undefined ? { image: `${r.output}.strip.png`, overlay: `${r.output}.overlay.gif` } : {};
}
