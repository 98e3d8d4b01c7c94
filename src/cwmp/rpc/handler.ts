import type { CpeView } from '../../datamodel/view.js';
import type { AcsRequest, CpeMessage } from '../types.js';

/** Every RPC handler has this shape (STYLE 1): the request narrowed to its method. */
export type RpcHandler<M extends AcsRequest['method']> = (req: Extract<AcsRequest, { method: M }>, view: CpeView) => CpeMessage;

export const fault = (code: number, message: string): CpeMessage => ({ method: 'Fault', fault: { code, message } });
