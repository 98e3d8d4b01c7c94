import { SUPPORTED_METHODS } from '../types.js';
import type { RpcHandler } from './handler.js';

export const getRpcMethods: RpcHandler<'GetRPCMethods'> = () => ({ method: 'GetRPCMethodsResponse', methods: [...SUPPORTED_METHODS] });
