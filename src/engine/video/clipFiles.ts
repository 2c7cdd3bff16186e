// Which files make a clip, by name only: the one definition that the clip loader (frames.ts,
// in the worker) and the batch listing of clips (batch/clipInputs.ts, also in the extension
// host) share. No sharp here, so the extension host can import it.
import * as path from 'node:path';

/** Files a folder of frames is read from (in natural order). */
export const FRAME_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.bmp', '.avif', '.jfif']);
/** Formats that can hold a whole clip in one file. */
export const ANIMATION_EXTENSIONS: ReadonlySet<string> = new Set(['.gif', '.webp']);

const ext = (file: string) => path.extname(file).toLowerCase();

export const isFrameFile = (file: string) => FRAME_EXTENSIONS.has(ext(file));
export const isAnimationFile = (file: string) => ANIMATION_EXTENSIONS.has(ext(file));
/** A frame that can only be a still picture: its presence makes a folder a folder of frames. */
export const isStillFrameFile = (file: string) => isFrameFile(file) && !isAnimationFile(file);
