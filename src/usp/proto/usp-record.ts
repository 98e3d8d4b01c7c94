// GENERATED from ./usp-record-1-3.proto, which is the source of truth: edit the .proto, then copy it
// here verbatim between the backquotes (test/usp-codec.test.ts fails when the two differ).
// Embedded because tsc does not copy .proto files into dist/.

/** The usp_record (Record 1.3) schema text. */
export const RECORD_PROTO = `// USP Record 1.3 (TR-369), package usp_record, proto3.
//
// Written for cpe-sim from the field tables in PROTOCOLS.md section B.1; field
// numbers, names and types follow BroadbandForum/usp specification/usp-record-1-3.proto
// (checked against the BBF schema). This file is the readable source of truth:
// src/usp/proto/usp-record.ts embeds it verbatim (test/usp-codec.test.ts checks).
//
// The simulator sends no_session_context with payload_security PLAINTEXT; its payload
// is a serialized usp.Msg. All other record types are decoded so that a controller's
// Record of any kind is understood (and refused precisely where unsupported).

syntax = "proto3";

package usp_record;

message Record {
  string version = 1;              // e.g. "1.3"
  string to_id = 2;                // receiver Endpoint ID
  string from_id = 3;              // sender Endpoint ID
  PayloadSecurity payload_security = 4;
  bytes mac_signature = 5;         // MAC or signature (unused with PLAINTEXT)
  bytes sender_cert = 6;

  oneof record_type {
    NoSessionContextRecord no_session_context = 7;
    SessionContextRecord session_context = 8;
    WebSocketConnectRecord websocket_connect = 9;
    MQTTConnectRecord mqtt_connect = 10;
    STOMPConnectRecord stomp_connect = 11;
    DisconnectRecord disconnect = 12;
    UDSConnectRecord uds_connect = 13;   // new in 1.3
  }

  enum PayloadSecurity {
    PLAINTEXT = 0;
    TLS12 = 1;
  }
}

message NoSessionContextRecord {
  bytes payload = 2;               // field 2, not 1, as in the BBF schema
}

message SessionContextRecord {
  uint64 session_id = 1;
  uint64 sequence_id = 2;
  uint64 expected_id = 3;
  uint64 retransmit_id = 4;
  PayloadSARState payload_sar_state = 5;
  PayloadSARState payloadrec_sar_state = 6;
  repeated bytes payload = 7;

  enum PayloadSARState {
    NONE = 0;
    BEGIN = 1;
    INPROCESS = 2;
    COMPLETE = 3;
  }
}

message WebSocketConnectRecord {
  // no fields
}

message MQTTConnectRecord {
  MQTTVersion version = 1;
  string subscribed_topic = 2;

  enum MQTTVersion {
    V3_1_1 = 0;                    // MQTT 3.1.1 (protocol level 4)
    V5 = 1;
  }
}

message STOMPConnectRecord {
  STOMPVersion version = 1;
  string subscribed_destination = 2;

  enum STOMPVersion {
    V1_2 = 0;
  }
}

message UDSConnectRecord {
  // no fields
}

message DisconnectRecord {
  string reason = 1;
  fixed32 reason_code = 2;
}
`;
