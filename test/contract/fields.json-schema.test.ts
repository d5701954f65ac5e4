/**
 * The JSON Schema printed for names and ids says what the zod check decides:
 * for each sample, a JSON Schema validator (ajv, as a producer would use)
 * accepts it exactly when the field's own parse does. Length is the one rule
 * JSON Schema counts differently (characters, not UTF-8 bytes): the samples
 * past 255 are ASCII, where the two agree.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseIdField, boxIdField, boxIdListField, snapshotNameField } from '../../src/contract/fields.js';

const names = ['web', 'a.b', 'é-ü', 'x'.repeat(255), 'x'.repeat(256), '', '.', '..', '.hidden', 'a/b', 'a\\b', 'a\0b', 'tab\there', 'del\x7f', '__global__', ' space', 'ok_-1'];
const baseIds = ['P2JBVPs5', 'P2JBVPs', 'P2JBVPs56', 'P2JBVP-5', '12345678', ''];

describe('field schemas as JSON Schema', () => {
  const ajv = new Ajv2020({ strict: false });
  const agree = (field: z.ZodType, samples: string[]) => {
    const fits = ajv.compile(z.toJSONSchema(field, { io: 'input' }) as object);
    return samples.map((v) => ({ v, zod: field.safeParse(v).success, jsonSchema: fits(v) })).filter((r) => r.zod !== r.jsonSchema);
  };

  it('box ids and snapshot names: the pattern, length and reserved id decide as the check does', () => {
    expect(agree(boxIdField, names)).toEqual([]);
    expect(agree(snapshotNameField, names)).toEqual([]);
    // Not vacuous: both kinds of answer occur.
    expect(names.filter((v) => boxIdField.safeParse(v).success).length).toBeGreaterThan(3);
    expect(names.filter((v) => !boxIdField.safeParse(v).success).length).toBeGreaterThan(3);
  });

  it('base ids', () => {
    expect(agree(baseIdField, baseIds)).toEqual([]);
  });

  it('a list of box ids checked in one pass says and decides what z.array(boxIdField) does', () => {
    const perItem = z.array(boxIdField).min(1).max(4);
    const onePass = boxIdListField(1, 4);
    expect(z.toJSONSchema(onePass, { io: 'input' })).toEqual(z.toJSONSchema(perItem, { io: 'input' }));
    const lists: unknown[] = [['web', 'ok_-1'], ['web', '.hidden', '__global__', 'a/b'], [], ['a', 'b', 'c', 'd', 'e'], [1, 'web'], ['x'.repeat(256)], 'web'];
    const issues = (field: z.ZodType, v: unknown) => field.safeParse(v).error?.issues.map((i) => ({ path: i.path, message: i.message, params: (i as { params?: unknown }).params }));
    for (const v of lists) expect(issues(onePass, v), JSON.stringify(v)).toEqual(issues(perItem, v));
    expect(lists.filter((v) => onePass.safeParse(v).success)).toHaveLength(1); // not vacuous: one passes, the rest fail
  });
});
