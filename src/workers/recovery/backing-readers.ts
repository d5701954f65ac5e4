/**
 * Which files images name as their backing file, read from the images
 * themselves: a file something still reads is kept whatever the records say
 * (invariant 1 does not depend on the records being right).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { diskFacts } from '../../file-steps/disk-facts.js';
import { boxDiskPath, type HomeLayout } from '../../layout.js';

/** Each valid image among `images` that names a backing file, with that file: [image, backing]. ~20 µs an image. */
export function backingsOf(images: Iterable<string>): [image: string, backing: string][] {
  const out: [string, string][] = [];
  for (const image of images) {
    const facts = diskFacts(image);
    if (facts.state === 'valid' && facts.backing !== null) out.push([image, facts.backing]);
  }
  return out;
}

/** The backing files the valid images among `images` name. */
export function backingFilesOf(images: Iterable<string>): Set<string> {
  return new Set(backingsOf(images).map(([, backing]) => backing));
}

/** The container disk path of every folder in boxes/, whether or not a record names it. */
export function everyBoxDisk(layout: HomeLayout): string[] {
  return existsSync(layout.boxesDir) ? readdirSync(layout.boxesDir).map((box) => boxDiskPath(layout, box)) : [];
}

/** Every file in bases/, whether or not a record names it. */
export function everyBaseFile(layout: HomeLayout): string[] {
  return existsSync(layout.basesDir) ? readdirSync(layout.basesDir).map((name) => join(layout.basesDir, name)) : [];
}

/** Every image of the home (box disks, base files) that names a backing file, with that file. */
export function homeBackings(layout: HomeLayout): [image: string, backing: string][] {
  return backingsOf([...everyBoxDisk(layout), ...everyBaseFile(layout)]);
}
