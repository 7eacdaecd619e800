/** What the generated message codecs in ./messages/ share. */
import { DecodeError, EncodeError, UnsupportedVersionError } from './errors.ts';

export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

export function checkVersion(message: string, version: number, min: number, max: number): void {
  if (!Number.isInteger(version) || version < min || version > max) {
    throw new UnsupportedVersionError(`${message} has no version ${version}: its versions are ${min}-${max}`, {
      api: message,
      clientVersions: { minVersion: min, maxVersion: max },
    });
  }
}

/** A field the chosen version does not carry was given a value other than its default. */
export function nonDefaultField(field: string, version: number): UnsupportedVersionError {
  return new UnsupportedVersionError(`${field} cannot be sent at version ${version}, which lacks the field, but it has a non-default value`, { api: field.split('.')[0] });
}

/** Null given for a field that this version cannot encode as null. */
export function notNull<T>(value: T | null, field: string, version: number): T {
  if (value === null) throw new EncodeError(field, `null is not allowed at version ${version}`);
  return value;
}

export function nullArray(field: string, offset: number): DecodeError {
  return new DecodeError(field, offset, 'null where an array is required');
}
