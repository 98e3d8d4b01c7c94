// Plain TypeScript shapes of USP 1.3 Records and Msgs (src/usp/proto/*.proto), as
// src/usp/codec.ts decodes them and accepts them for encoding.
//
// Conventions (one rule everywhere, so the wire schema reads straight off these types):
// * Field names are the proto names, snake_case, exactly as in the .proto files
//   (protobufjs `keepCase`), e.g. `msg_id`, `allow_partial`, `err_code`.
// * Enums are their value *names* ('GET', 'V5', 'PARAM_BOOLEAN'); MSG_TYPES in codec.ts
//   maps MsgType names to numbers and back.
// * A oneof is a discriminated union: the oneof's name holds the name of the member
//   that is set, and that member's field holds its value, e.g.
//   `{ record_type: 'mqtt_connect', mqtt_connect: { version: 'V5', ... } }`.
// * Decoded values always carry every field (proto3 defaults filled in: '' / 0 /
//   false / [] / {} / first enum name); uint64 is a decimal string; bytes are Uint8Array.
// * For encoding, every field may be left out (`RecordInput`, `MsgInput`): missing
//   scalars encode as proto3 defaults, and a oneof's discriminator is optional (the
//   member that is present is used). header.msg_type may be omitted: it is derived
//   from the body.
// * Names that would shadow a JS/Node global get a `Usp` prefix (UspRecord, UspSet,
//   UspError); Notify.Event is NotifyEvent.

/** map<string, string>: every value is a string in TR-106 lexical form. */
export type StrMap = { [key: string]: string };

/** A oneof named D whose possible members are the keys of M. */
export type OneOf<D extends string, M extends object> = {
  [K in keyof M & string]: { [P in D]: K } & { [P in K]: M[K] };
}[keyof M & string];

/** The encode-side shape: every field optional, recursively (unions stay unions). */
export type DeepPartial<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer U)[]
    ? DeepPartial<U>[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

// ---- usp_record ------------------------------------------------------------------

export type PayloadSecurity = 'PLAINTEXT' | 'TLS12';
export type PayloadSARState = 'NONE' | 'BEGIN' | 'INPROCESS' | 'COMPLETE';
export type MQTTVersion = 'V3_1_1' | 'V5';
export type STOMPVersion = 'V1_2';

export interface NoSessionContextRecord { payload: Uint8Array }
export interface SessionContextRecord {
  session_id: string;
  sequence_id: string;
  expected_id: string;
  retransmit_id: string;
  payload_sar_state: PayloadSARState;
  payloadrec_sar_state: PayloadSARState;
  payload: Uint8Array[];
}
export type WebSocketConnectRecord = Record<string, never>;
export type UDSConnectRecord = Record<string, never>;
export interface MQTTConnectRecord { version: MQTTVersion; subscribed_topic: string }
export interface STOMPConnectRecord { version: STOMPVersion; subscribed_destination: string }
export interface DisconnectRecord { reason: string; reason_code: number }

export interface RecordHeader {
  version: string;
  to_id: string;
  from_id: string;
  payload_security: PayloadSecurity;
  mac_signature: Uint8Array;
  sender_cert: Uint8Array;
}

export type UspRecord = RecordHeader &
  OneOf<'record_type', {
    no_session_context: NoSessionContextRecord;
    session_context: SessionContextRecord;
    websocket_connect: WebSocketConnectRecord;
    mqtt_connect: MQTTConnectRecord;
    stomp_connect: STOMPConnectRecord;
    disconnect: DisconnectRecord;
    uds_connect: UDSConnectRecord;
  }>;
export type RecordType = UspRecord['record_type'];
export type RecordInput = DeepPartial<UspRecord>;

// ---- usp: header, body, error ----------------------------------------------------------

export type MsgTypeName =
  | 'ERROR' | 'GET' | 'GET_RESP' | 'NOTIFY' | 'SET' | 'SET_RESP'
  | 'OPERATE' | 'OPERATE_RESP' | 'ADD' | 'ADD_RESP' | 'DELETE' | 'DELETE_RESP'
  | 'GET_SUPPORTED_DM' | 'GET_SUPPORTED_DM_RESP' | 'GET_INSTANCES' | 'GET_INSTANCES_RESP'
  | 'NOTIFY_RESP' | 'GET_SUPPORTED_PROTO' | 'GET_SUPPORTED_PROTO_RESP'
  | 'REGISTER' | 'REGISTER_RESP' | 'DEREGISTER' | 'DEREGISTER_RESP';

export interface Header { msg_id: string; msg_type: MsgTypeName }

export interface ParamError { param_path: string; err_code: number; err_msg: string }
export interface UspError { err_code: number; err_msg: string; param_errs: ParamError[] }

export type Request = OneOf<'req_type', {
  get: Get;
  get_supported_dm: GetSupportedDM;
  get_instances: GetInstances;
  set: UspSet;
  add: Add;
  delete: Delete;
  operate: Operate;
  notify: Notify;
  get_supported_protocol: GetSupportedProtocol;
  register: Register;
  deregister: Deregister;
}>;
export type RequestType = Request['req_type'];

export type Response = OneOf<'resp_type', {
  get_resp: GetResp;
  get_supported_dm_resp: GetSupportedDMResp;
  get_instances_resp: GetInstancesResp;
  set_resp: SetResp;
  add_resp: AddResp;
  delete_resp: DeleteResp;
  operate_resp: OperateResp;
  notify_resp: NotifyResp;
  get_supported_protocol_resp: GetSupportedProtocolResp;
  register_resp: RegisterResp;
  deregister_resp: DeregisterResp;
}>;
export type ResponseType = Response['resp_type'];

export type Body = OneOf<'msg_body', { request: Request; response: Response; error: UspError }>;

export interface UspMsg { header: Header; body: Body }
export type MsgInput = DeepPartial<UspMsg>;

/** The OperationStatus message of Add/Delete/Set/Register/Deregister results. */
export type OperationStatus<F, S> = OneOf<'oper_status', { oper_failure: F; oper_success: S }>;
export interface OperationFailure { err_code: number; err_msg: string }

// ---- Get / GetInstances ----------------------------------------------------------------

export interface Get { param_paths: string[]; max_depth: number }
export interface ResolvedPathResult { resolved_path: string; result_params: StrMap }
export interface RequestedPathResult {
  requested_path: string;
  err_code: number;
  err_msg: string;
  resolved_path_results: ResolvedPathResult[];
}
export interface GetResp { req_path_results: RequestedPathResult[] }

export interface GetInstances { obj_paths: string[]; first_level_only: boolean }
export interface CurrInstance { instantiated_obj_path: string; unique_keys: StrMap }
export interface GetInstancesPathResult {
  requested_path: string;
  err_code: number;
  err_msg: string;
  curr_insts: CurrInstance[];
}
export interface GetInstancesResp { req_path_results: GetInstancesPathResult[] }

// ---- GetSupportedDM / GetSupportedProtocol ---------------------------------------------

export type ObjAccessType = 'OBJ_READ_ONLY' | 'OBJ_ADD_DELETE' | 'OBJ_ADD_ONLY' | 'OBJ_DELETE_ONLY';
export type ParamAccessType = 'PARAM_READ_ONLY' | 'PARAM_READ_WRITE' | 'PARAM_WRITE_ONLY';
export type ParamValueType =
  | 'PARAM_UNKNOWN' | 'PARAM_BASE_64' | 'PARAM_BOOLEAN' | 'PARAM_DATE_TIME' | 'PARAM_DECIMAL'
  | 'PARAM_HEX_BINARY' | 'PARAM_INT' | 'PARAM_LONG' | 'PARAM_STRING' | 'PARAM_UNSIGNED_INT'
  | 'PARAM_UNSIGNED_LONG';
export type ValueChangeType = 'VALUE_CHANGE_UNKNOWN' | 'VALUE_CHANGE_ALLOWED' | 'VALUE_CHANGE_WILL_IGNORE';
export type CmdType = 'CMD_UNKNOWN' | 'CMD_SYNC' | 'CMD_ASYNC';

export interface GetSupportedDM {
  obj_paths: string[];
  first_level_only: boolean;
  return_commands: boolean;
  return_events: boolean;
  return_params: boolean;
  /** USP 1.4 addition (wire-compatible). */
  return_unique_key_sets: boolean;
}
export interface SupportedParamResult {
  param_name: string;
  access: ParamAccessType;
  value_type: ParamValueType;
  value_change: ValueChangeType;
}
export interface SupportedCommandResult {
  command_name: string;
  input_arg_names: string[];
  output_arg_names: string[];
  command_type: CmdType;
}
export interface SupportedEventResult { event_name: string; arg_names: string[] }
export interface SupportedUniqueKeySet { key_names: string[] }
export interface SupportedObjectResult {
  supported_obj_path: string;
  access: ObjAccessType;
  is_multi_instance: boolean;
  supported_commands: SupportedCommandResult[];
  supported_events: SupportedEventResult[];
  supported_params: SupportedParamResult[];
  divergent_paths: string[];
  /** USP 1.4 addition (wire-compatible). */
  unique_key_sets: SupportedUniqueKeySet[];
}
export interface RequestedObjectResult {
  req_obj_path: string;
  err_code: number;
  err_msg: string;
  data_model_inst_uri: string;
  supported_objs: SupportedObjectResult[];
}
export interface GetSupportedDMResp { req_obj_results: RequestedObjectResult[] }

export interface GetSupportedProtocol { controller_supported_protocol_versions: string }
export interface GetSupportedProtocolResp { agent_supported_protocol_versions: string }

// ---- Add / Delete / Set ------------------------------------------------------------------

/** Add's, and Set's, per-parameter error (AddResp.ParameterError, SetResp.ParameterError). */
export interface ParameterError { param: string; err_code: number; err_msg: string }

export interface CreateParamSetting { param: string; value: string; required: boolean }
export interface CreateObject { obj_path: string; param_settings: CreateParamSetting[] }
export interface Add { allow_partial: boolean; create_objs: CreateObject[] }
export interface AddSuccess { instantiated_path: string; param_errs: ParameterError[]; unique_keys: StrMap }
export interface CreatedObjectResult {
  requested_path: string;
  oper_status: OperationStatus<OperationFailure, AddSuccess>;
}
export interface AddResp { created_obj_results: CreatedObjectResult[] }

export interface Delete { allow_partial: boolean; obj_paths: string[] }
export interface UnaffectedPathError { unaffected_path: string; err_code: number; err_msg: string }
export interface DeleteSuccess { affected_paths: string[]; unaffected_path_errs: UnaffectedPathError[] }
export interface DeletedObjectResult {
  requested_path: string;
  oper_status: OperationStatus<OperationFailure, DeleteSuccess>;
}
export interface DeleteResp { deleted_obj_results: DeletedObjectResult[] }

export interface UpdateParamSetting { param: string; value: string; required: boolean }
export interface UpdateObject { obj_path: string; param_settings: UpdateParamSetting[] }
export interface UspSet { allow_partial: boolean; update_objs: UpdateObject[] }
export interface UpdatedInstanceFailure { affected_path: string; param_errs: ParameterError[] }
export interface UpdatedInstanceResult { affected_path: string; param_errs: ParameterError[]; updated_params: StrMap }
export interface SetFailure extends OperationFailure { updated_inst_failures: UpdatedInstanceFailure[] }
export interface SetSuccess { updated_inst_results: UpdatedInstanceResult[] }
export interface UpdatedObjectResult {
  requested_path: string;
  oper_status: OperationStatus<SetFailure, SetSuccess>;
}
export interface SetResp { updated_obj_results: UpdatedObjectResult[] }

// ---- Operate -------------------------------------------------------------------------------

export interface OutputArgs { output_args: StrMap }
export interface CommandFailure { err_code: number; err_msg: string }
export interface Operate { command: string; command_key: string; send_resp: boolean; input_args: StrMap }
export type OperationResult = { executed_command: string } & OneOf<'operation_resp', {
  req_obj_path: string;
  req_output_args: OutputArgs;
  cmd_failure: CommandFailure;
}>;
export interface OperateResp { operation_results: OperationResult[] }

// ---- Notify --------------------------------------------------------------------------------

export interface NotifyEvent { obj_path: string; event_name: string; params: StrMap }
export interface ValueChange { param_path: string; param_value: string }
export interface ObjectCreation { obj_path: string; unique_keys: StrMap }
export interface ObjectDeletion { obj_path: string }
export type OperationComplete = { obj_path: string; command_name: string; command_key: string } &
  OneOf<'operation_resp', { req_output_args: OutputArgs; cmd_failure: CommandFailure }>;
export interface OnBoardRequest {
  oui: string;
  product_class: string;
  serial_number: string;
  agent_supported_protocol_versions: string;
}
export type Notify = { subscription_id: string; send_resp: boolean } & OneOf<'notification', {
  event: NotifyEvent;
  value_change: ValueChange;
  obj_creation: ObjectCreation;
  obj_deletion: ObjectDeletion;
  oper_complete: OperationComplete;
  on_board_req: OnBoardRequest;
}>;
export type NotificationType = Notify['notification'];
export interface NotifyResp { subscription_id: string }

// ---- Register / Deregister (1.3) ---------------------------------------------------------

export interface Register { allow_partial: boolean; reg_paths: { path: string }[] }
export interface RegisteredPathResult {
  requested_path: string;
  oper_status: OperationStatus<OperationFailure, { registered_path: string }>;
}
export interface RegisterResp { registered_path_results: RegisteredPathResult[] }
export interface Deregister { paths: string[] }
export interface DeregisteredPathResult {
  requested_path: string;
  oper_status: OperationStatus<OperationFailure, { deregistered_path: string[] }>;
}
export interface DeregisterResp { deregistered_path_results: DeregisteredPathResult[] }
