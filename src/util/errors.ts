// One error base with stable codes. Errors cross threads as {code, message}
// and are rebuilt on the far side with fromWire().

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'PROFILE_INVALID'
  | 'SHARD_FAILED'
  | 'NOT_FOUND'
  | 'BAD_REQUEST'
  | 'CONFLICT'
  | 'TIMEOUT'
  | 'INTERNAL';

export class CpeSimError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'CpeSimError';
  }
  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}

export class ConfigError extends CpeSimError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
    this.name = 'ConfigError';
  }
}

/** A scenario file or an admin event refused: the message names the file (if any), the key path and the form expected. */
export class ScenarioError extends ConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

export class ProfileError extends CpeSimError {
  constructor(message: string) {
    super('PROFILE_INVALID', message);
    this.name = 'ProfileError';
  }
}

export interface WireError {
  code: ErrorCode;
  message: string;
}

export function toWire(err: unknown): WireError {
  if (err instanceof CpeSimError) return err.toWire();
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

export function fromWire(w: WireError): CpeSimError {
  if (w.code === 'CONFIG_INVALID') return new ConfigError(w.message);
  if (w.code === 'PROFILE_INVALID') return new ProfileError(w.message);
  return new CpeSimError(w.code, w.message);
}
