// Lexical checks of TR-069 values by xsd type (TR-069 A.3.2.1, TR-106 3.2), and the xsd
// types themselves: every protocol reads and writes parameter values through these.

/** xsd types a parameter value may carry on the wire (TR-069 A.3.2.1, TR-106 named types mapped). */
export type XsdType =
  | 'string'
  | 'boolean'
  | 'int'
  | 'unsignedInt'
  | 'long'
  | 'unsignedLong'
  | 'dateTime'
  | 'base64'
  | 'hexBinary';

export const XSD_TYPES: readonly XsdType[] = [
  'string',
  'boolean',
  'int',
  'unsignedInt',
  'long',
  'unsignedLong',
  'dateTime',
  'base64',
  'hexBinary',
];

const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;
const UINT32 = [0, 2 ** 32 - 1] as const;
const INT64 = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const UINT64 = [0n, 2n ** 64n - 1n] as const;

/** undefined when `value` is a valid lexical form of `type`, else the reason. */
export function checkLexical(type: XsdType, value: string): string | undefined {
  switch (type) {
    case 'string':
      return undefined;
    case 'boolean':
      return /^(true|false|1|0)$/.test(value) ? undefined : `"${value}" is not a boolean (true, false, 1, 0)`;
    case 'int':
    case 'unsignedInt': {
      if (!/^-?\d+$/.test(value)) return `"${value}" is not an integer`;
      const [lo, hi] = type === 'int' ? INT32 : UINT32;
      const n = Number(value);
      return n < lo || n > hi ? `${value} is outside ${type} [${lo}, ${hi}]` : undefined;
    }
    case 'long':
    case 'unsignedLong': {
      if (!/^-?\d+$/.test(value)) return `"${value}" is not an integer`;
      const [lo, hi] = type === 'long' ? INT64 : UINT64;
      const n = BigInt(value);
      return n < lo || n > hi ? `${value} is outside ${type}` : undefined;
    }
    case 'dateTime':
      return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.test(value) && !Number.isNaN(Date.parse(value.replace(/^0001/, '2001')))
        ? undefined
        : `"${value}" is not an xsd:dateTime`;
    case 'base64':
      return /^[A-Za-z0-9+/\s]*={0,2}$/.test(value) ? undefined : `"${value}" is not base64`;
    case 'hexBinary':
      return /^([0-9A-Fa-f]{2})*$/.test(value) ? undefined : `"${value}" is not hexBinary`;
    default: {
      const never: never = type;
      return `unknown type ${String(never)}`;
    }
  }
}

/** Canonical stored form: booleans as true/false; everything else as given. */
export function canonical(type: XsdType, value: string): string {
  if (type === 'boolean') return value === '1' || value === 'true' ? 'true' : 'false';
  return value;
}
