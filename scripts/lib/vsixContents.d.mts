// Types of vsixContents.mjs for the TypeScript tests that use it.
export interface ZipEntry {
  name: string;
  size: number;
  read(): Buffer;
}
export interface NativeKind {
  os: string;
  arch: string;
}
export function readZip(file: string): ZipEntry[];
export function nativeKind(buf: Buffer): NativeKind | undefined;
export function runtimePackages(target: string): string[];
export function checkVsix(
  file: string,
  target: string,
  providers: { bundled: readonly string[]; optIn: readonly string[] },
): { natives: Array<NativeKind & { name: string; size: number }>; problems: string[]; entries: ZipEntry[] };
