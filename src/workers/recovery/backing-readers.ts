/**
 * Which files images name as their backing file, read from the images
 * themselves: a file something still reads is kept whatever the records say
 * (invariant 1 does not depend on the records being right).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { diskFacts } from '../../file-steps/disk-facts.js';
import { boxDiskPath, type HomeLayout } from '../../layout.js';

/** The backing files the valid images among `images` name. */
export function backingFilesOf(images: Iterable<string>): Set<string> {
  const read = new Set<string>();
  for (const image of images) {
    const facts = diskFacts(image);
    if (facts.state === 'valid' && facts.backing !== null) read.add(facts.backing);
  }
  return read;
}

/** The container disk path of every folder in boxes/, whether or not a record names it. */
export function everyBoxDisk(layout: HomeLayout): string[] {
  return existsSync(layout.boxesDir) ? readdirSync(layout.boxesDir).map((box) => boxDiskPath(layout, box)) : [];
}

/** Every file in bases/, whether or not a record names it. */
export function everyBaseFile(layout: HomeLayout): string[] {
  return existsSync(layout.basesDir) ? readdirSync(layout.basesDir).map((name) => join(layout.basesDir, name)) : [];
}

/** The images of the home (box disks, base files) whose header names `path` as their backing file. */
export function imagesReading(layout: HomeLayout, path: string): string[] {
  return [...everyBoxDisk(layout), ...everyBaseFile(layout)].filter((image) => {
    const facts = diskFacts(image);
    return facts.state === 'valid' && facts.backing === path;
  });
}
