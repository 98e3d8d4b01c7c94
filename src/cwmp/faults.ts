// The CWMP fault table (TR-069 A.5.1): what each fault code means and whose fault it is
// (SOAP faultcode Client or Server). A leaf: soap-build.ts, soap-build-transfers.ts and
// the shard's fault hook read it; it imports nothing.

/** TR-069 A.5.1 fault meanings, plus the ACS faults 8000-8006. */
export const FAULT_STRINGS: Record<number, string> = {
  8000: 'Method not supported',
  8001: 'Request denied',
  8002: 'Internal error',
  8003: 'Invalid arguments',
  8004: 'Resources exceeded',
  8005: 'Retry request',
  8006: 'ACS version incompatible with CPE',
  9000: 'Method not supported',
  9001: 'Request denied (no reason specified)',
  9002: 'Internal error',
  9003: 'Invalid arguments',
  9004: 'Resources exceeded',
  9005: 'Invalid parameter name',
  9006: 'Invalid parameter type',
  9007: 'Invalid parameter value',
  9008: 'Attempt to set a non-writable parameter',
  9009: 'Notification request rejected',
  9010: 'File transfer failure',
  9011: 'Upload failure',
  9012: 'File transfer server authentication failure',
  9013: 'Unsupported protocol for file transfer',
  9014: 'File transfer failure: unable to join multicast group',
  9015: 'File transfer failure: unable to contact file server',
  9016: 'File transfer failure: unable to access file',
  9017: 'File transfer failure: unable to complete download',
  9018: 'File transfer failure: file corrupted',
  9019: 'File transfer failure: file authentication failure',
  9020: 'File transfer failure: unable to complete download within specified time windows',
  9021: 'Cancelation of file transfer not permitted in current transfer state',
  9022: 'Invalid UUID format',
  9023: 'Unknown Execution Environment',
  9024: 'Disabled Execution Environment',
  9025: 'Deployment Unit to Execution Environment mismatch',
  9026: 'Duplicate Deployment Unit',
  9027: 'System resources exceeded',
  9028: 'Unknown Deployment Unit',
  9029: 'Invalid Deployment Unit state',
  9030: 'Invalid Deployment Unit Update: Downgrade not permitted',
  9031: 'Invalid Deployment Unit Update: Version not specified',
  9032: 'Invalid Deployment Unit Update: Version already exists',
};

/** Client (the sender's fault) or Server, split as icwmp does (docs/cwmp-behaviour.md "Faults"). */
const CLIENT_FAULTS = new Set([8003, 9003, 9005, 9006, 9007, 9008, 9021]);

export function faultType(code: number): 'Client' | 'Server' {
  return CLIENT_FAULTS.has(code) ? 'Client' : 'Server';
}
