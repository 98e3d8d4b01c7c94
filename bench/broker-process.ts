// The bench's MQTT broker in a process of its own (aedes, MQTT 3.1.1): its sockets and
// heap stay out of the fleet's file-descriptor limit and bytes_per_cpe. Prints
// "PORT <n>" once listening; exits when its stdin closes or on SIGTERM.
import { startEmbeddedBroker } from '../src/broker/embedded.js';

const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
process.stdout.write(`PORT ${broker.port}\n`);
const stop = () => void broker.close().finally(() => process.exit(0));
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
