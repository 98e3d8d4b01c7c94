// GetSupportedProtocol (TR-369 "GetSupportedProtocol"): the USP versions this agent speaks.
import type { UspHandler } from './handler.js';

export const AGENT_SUPPORTED_PROTOCOL_VERSIONS = '1.0,1.1,1.2,1.3';

export const handleGetSupportedProtocol: UspHandler<'get_supported_protocol'> = () => ({
  kind: 'response',
  response: {
    resp_type: 'get_supported_protocol_resp',
    get_supported_protocol_resp: { agent_supported_protocol_versions: AGENT_SUPPORTED_PROTOCOL_VERSIONS },
  },
});
