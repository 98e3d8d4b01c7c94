// The XMPP metrics' label values, apart from the client and its parser so the metrics
// catalog can name them without loading either.
/**
 * Why a connection attempt failed or a connection went down: no TCP connection, TLS
 * (STARTTLS refused, not offered when UseTLS asks for it, or the handshake failed), SASL
 * refused, binding refused, the login not done in time, closed by the server or the
 * network, a stream error from the server, a fleet event's link fault, out of file
 * descriptors, anything else.
 */
export const XMPP_FAIL_CAUSES = ['connect', 'tls', 'auth', 'bind', 'timeout', 'closed', 'stream-error', 'link', 'descriptors', 'error'] as const;
export type XmppFailCause = (typeof XMPP_FAIL_CAUSES)[number];

/** What became of an XMPP connection request, as cpe_sim_xmpp_connection_requests_total{result} counts it. */
export const XMPP_CR_RESULTS = ['accepted', 'not-authorized', 'service-unavailable'] as const;
export type XmppCrResult = (typeof XMPP_CR_RESULTS)[number];
